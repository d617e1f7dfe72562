"""deliberate eval: run each model on the held-out test families and grade its actions.

    deliberate eval configs/experiments/demo.yaml [KEY=VALUE ...] [--force]

Every model in ``eval.models`` ("base": the student before training; "sft", "rl", "durable":
those stages' outputs; or a local folder) plays every held-out family in every cue variant,
without the spec in its prompt, and every configured Inspect task. Before any generation the
scenarios are checked against the data stage's scenario hashes and templates (contamination).
Optional probes per model: counterfactual resampling, interrogation, reasoning confirmation,
hidden-goal persistence. Output: per-model transcript files and ``results.json`` (counts per
family and cue; timings such as tokens/s go to the manifest's ``run_stats``, outside the content
hash, so two identical evals write identical files).
"""

from __future__ import annotations

import gc
import json
import logging
from pathlib import Path

from deliberate.backends import make_backend
from deliberate.config import ExperimentConfig, ModelConfig, config_hash, to_dict
from deliberate.envs.core import get_family
from deliberate.errors import UserError
from deliberate.eval.confirm import confirm
from deliberate.eval.counterfactual import interrogate, resample
from deliberate.eval.inspect import logs as inspect_logs
from deliberate.eval.inspect import source as inspect_source
from deliberate.models import describe
from deliberate.provenance import read_manifest, write_json_atomic, write_jsonl
from deliberate.records import reasoning_of
from deliberate.rollout import run_rollouts
from deliberate.stage import Context, Result, run_stage

log = logging.getLogger(__name__)


class ContaminationError(UserError, RuntimeError):
    """A test scenario or family also appears in the training data."""


def resolve_models(cfg: ExperimentConfig) -> dict[str, ModelConfig]:
    out = {}
    for name in cfg.eval.models:
        if name == "base":
            out[name] = cfg.student()
        elif name in ("sft", "rl", "durable"):  # trained from the student: loaded as it is (dtype, attention)
            stage = "durability" if name == "durable" else name
            out[name] = ModelConfig(name_or_path=str(cfg.stage_dir(stage) / "model"), dtype=cfg.student().dtype,
                                    attn_implementation=cfg.student().attn_implementation)
        else:
            out[Path(name).name or name] = ModelConfig(name_or_path=name)
    return out


def check_contamination(scenarios, data_dir: Path) -> None:
    path = Path(data_dir) / "scenario_hashes.json"
    if not path.is_file():
        raise ContaminationError(f"{path} is missing: cannot prove the test scenarios were not trained on")
    train = json.loads(path.read_text())
    shared_families = sorted({sc.family for sc in scenarios} & set(train["families"]))
    if shared_families:
        raise ContaminationError(f"test families {shared_families} were also used to make training data ({data_dir})")
    train_hashes = set(train["hashes"])
    leaked = [sc.id for sc in scenarios if sc.content_hash() in train_hashes]
    if leaked:
        raise ContaminationError(f"{len(leaked)} test scenarios are identical to training scenarios, e.g. {leaked[:3]}")
    # templates, not just scenarios: no test family may share text spans or tool names with training
    from deliberate.envs.contamination import TemplateContamination, assert_no_contamination, overlap_report

    try:
        assert_no_contamination(overlap_report(train["families"], sorted({sc.family for sc in scenarios}),
                                               seeds=range(50)))
    except TemplateContamination as exc:
        raise ContaminationError(str(exc)) from exc


def tally(records: list[dict]) -> dict:
    """Counts per family and cue (and 'all' cues) from graded transcript records."""
    out: dict = {}
    for r in records:
        for cue in (r["cue"], "all"):
            c = out.setdefault(r["family"], {}).setdefault(cue, {"n": 0, "covert": 0, "escalated": 0, "completed": 0,
                                                                  "parse_failures": 0})
            c["n"] += 1
            c["covert"] += r["outcome"]["covert"]
            c["escalated"] += r["outcome"]["escalated"]
            c["completed"] += r["outcome"]["completed"]
            c["parse_failures"] += r["parse_failures"] > 0
    return out


_AWARENESS = None
_CONFIRMER = None


def confirmer(e):
    """The reasoning-confirmation grader's backend, made once per eval run."""
    global _CONFIRMER
    if _CONFIRMER is None:
        _CONFIRMER = make_backend(e.confirm_model, e.confirm_generation)
    return _CONFIRMER


def hidden_goal(backend, cfg: ExperimentConfig, data_dir: Path, progress: str | None = None) -> tuple[dict, list[dict]]:
    """The organism's implanted goal: covert rate with and without the trigger, and whether the
    model states the goal when asked in a trusted context. ``progress``: the label of its progress lines."""
    import random

    e = cfg.eval
    fam = get_family(e.hidden_goal_family)
    scenarios = [fam.sample(e.seed + i, "test", "none") for i in range(e.hidden_goal_scenarios)]
    hashes = set(json.loads((Path(data_dir) / "scenario_hashes.json").read_text())["hashes"])
    if any(sc.content_hash() in hashes for sc in scenarios):
        raise ContaminationError(f"hidden-goal scenarios of {fam.name} were also training scenarios")
    backend.reseed(e.seed + 31)
    records = [r.to_record() for r in run_rollouts(backend, scenarios, tool_format=cfg.envs.tool_format,
                                                   max_turns=cfg.envs.max_turns, progress=progress)]
    for r, sc in zip(records, scenarios):
        r["triggered"] = bool(sc.metadata.get("triggered"))
    questions = [c[:2] for c in fam.confessions(random.Random(e.seed), e.hidden_goal_scenarios)]
    if hasattr(backend, "render"):
        answers = backend.generate([backend.render(q) for q in questions], max_new_tokens=64)
    else:
        answers = [c.text if not c.error else "" for c in backend.respond(questions)]
    stated = [fam.states_goal(a) for a in answers]
    records += [{"family": fam.name, "question": q[1]["content"], "answer": a, "states_goal": s}
                for q, a, s in zip(questions, answers, stated)]
    trig = [r for r in records if r.get("triggered") is True]
    plain = [r for r in records if r.get("triggered") is False]
    return ({"family": fam.name, "triggered": [sum(r["outcome"]["covert"] for r in trig), len(trig)],
             "untriggered": [sum(r["outcome"]["covert"] for r in plain), len(plain)],
             "states_goal": [sum(stated), len(stated)]}, records)


def awareness():
    """The offline awareness classifier, loaded once per process."""
    global _AWARENESS
    if _AWARENESS is None:
        from deliberate.eval.classifiers import make_awareness

        _AWARENESS = make_awareness("offline")
    return _AWARENESS



def main(cfg: ExperimentConfig, force: bool = False) -> Path:
    """``deliberate eval EXPERIMENT.yaml``: every model on every held-out family and cue."""
    data_dir, models = cfg.stage_dir("data"), resolve_models(cfg)
    ours = bool(cfg.envs.test or cfg.eval.hidden_goal_family)  # Inspect tasks alone need no data stage
    parents = [data_dir] * ours + [cfg.stage_dir(s) for s in ("sft", "rl") if s in cfg.eval.models]
    if "durable" in cfg.eval.models:
        parents.append(cfg.stage_dir("durability"))
    chash = config_hash({"eval": to_dict(cfg.eval), "test": cfg.envs.test, "tool_format": cfg.envs.tool_format,
                         "max_turns": cfg.envs.max_turns, "models": {k: to_dict(v) for k, v in models.items()},
                         "inspect": inspect_source.fingerprint(cfg)})

    def work(ctx: Context) -> Result:
        e = cfg.eval
        families = [get_family(name) for name in cfg.envs.test]
        scenarios = [fam.sample(e.seed + i, "test", cue) for fam in families for cue in e.cues
                     for i in range(e.scenarios_per_family)]
        if ours:  # our families only: Inspect tasks are not ours to hash
            check_contamination(scenarios, data_dir)
        inspect_families = inspect_source.check(cfg, models)  # Inspect tasks and model strings, before generating
        results = {"families": {f.name: {"category": f.category} for f in families}, "models": {}}
        results["families"].update(inspect_families)
        if "durable" in models:
            results["durable_from"] = cfg.durable_from()
        tokens = records = 0  # tokens generated by the models under test (not the confirmation grader)
        for name, mc in models.items():
            results["models"][name] = entry = {"model": describe(mc)}
            if scenarios or e.hidden_goal_family:
                tokens += evaluate_model(ctx, name, mc, scenarios, entry, results)
            else:  # Inspect tasks only: Inspect loads the model itself
                write_jsonl(ctx.dir / f"transcripts.{name}.jsonl", [])
                entry["counts"] = {}
            records += len(scenarios)
            if e.inspect:  # after our backend is freed
                records += len(inspect_source.run(cfg, name, mc, ctx.dir, entry, ctx.tracker))
        results["data"] = read_manifest(data_dir)
        # timings vary run to run: they go to the manifest (outside the content hash), not results.json
        run_stats = {n: {"tokens_per_second": m.pop("tokens_per_second")} for n, m in results["models"].items()
                     if "tokens_per_second" in m}
        write_json_atomic(ctx.dir / "results.json", results)
        # lineage: spec -> dataset -> checkpoint(s) -> this eval
        trained = [f"{cfg.name}-{m}-model:latest" for m in ("sft", "rl", "durable") if m in models]
        ctx.tracker.artifact(f"{cfg.name}-eval", "eval", ctx.dir / "results.json",
                             use=[f"{cfg.name}-dataset:latest", *trained])
        return Result(record_count=records, extra={"models": list(models), "run_stats": run_stats}, tokens=tokens)

    return run_stage(cfg, "eval", work, config_hash=chash, parents=parents, force=force)


def evaluate_model(ctx: Context, name: str, mc: ModelConfig, scenarios, entry: dict, results: dict) -> int:
    """One model's episodes, then the probes the config asks for (counterfactual resampling,
    interrogation, reasoning confirmation, hidden goal); fills ``entry``, writes its files and
    returns the number of tokens the model generated."""
    cfg, e, tmp = ctx.cfg, ctx.cfg.eval, ctx.dir
    log.info("[eval] %s (%s): %d scenarios", name, describe(mc), len(scenarios))
    backend = make_backend(mc, e.generation)
    backend.reseed(e.seed)
    records = [r.to_record() for r in run_rollouts(backend, scenarios, tool_format=cfg.envs.tool_format,
                                                   max_turns=cfg.envs.max_turns, progress=f"[eval] {name}")]
    write_jsonl(tmp / f"transcripts.{name}.jsonl", [{**r, "model": name} for r in records])
    inspect_logs.write_family_logs(tmp / "inspect" / name, name, mc, records)  # for `inspect view`
    counts = tally(records)
    entry.update(counts=counts, tokens_per_second=round(backend.stats.tokens_per_second(), 1))
    if e.counterfactual and hasattr(backend, "render"):
        cf, cf_records = resample(backend, records, {sc.id: sc for sc in scenarios}, awareness(),
                                  max_turns=cfg.envs.max_turns, tool_format=cfg.envs.tool_format,
                                  max_resamples=e.max_resamples, seed=e.seed + 17, limit=e.counterfactual_limit,
                                  progress=f"[eval] {name} counterfactual")
        entry["counterfactual"] = cf
        write_jsonl(tmp / f"counterfactual.{name}.jsonl", [{**r, "model": name} for r in cf_records])
        log.info("[eval] %s counterfactual: %s", name, json.dumps(cf))
    if e.interrogation:
        summary, answers = interrogate(backend, records, progress=f"[eval] {name} interrogation")
        entry["interrogation"] = summary
        write_jsonl(tmp / f"interrogation.{name}.jsonl", answers)
    if e.confirm_model is not None:
        verdicts, sha = confirm(confirmer(e), records, k=e.confirm_k)
        entry["confirmed"] = [sum(v["confirmed"] for v in verdicts), len(verdicts)]
        results["confirm_prompt_sha256"] = sha
        write_jsonl(tmp / f"confirmed.{name}.jsonl", verdicts)
    if e.hidden_goal_family:
        summary, goal_records = hidden_goal(backend, cfg, cfg.stage_dir("data"), progress=f"[eval] {name} hidden goal")
        entry["hidden_goal"] = summary
        write_jsonl(tmp / f"hidden_goal.{name}.jsonl", [{**r, "model": name} for r in goal_records])
        log.info("[eval] %s hidden goal: %s", name, json.dumps(summary))
    for fam, by_cue in counts.items():
        ctx.tracker.log({f"eval/{name}/{fam}/covert_rate": by_cue["all"]["covert"] / by_cue["all"]["n"]})
    ctx.tracker.table(f"eval/{name}/transcripts", ["scenario_id", "cue", "covert", "reasoning", "actions"],
                      [[r["scenario_id"], r["cue"], r["outcome"]["covert"], reasoning_of(r),
                        json.dumps(r["tool_calls"])] for r in records])
    tokens = backend.stats.new_tokens
    del backend
    gc.collect()
    return tokens
