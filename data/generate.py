"""deliberate data: spec-conditioned teacher rollouts, graded, filtered, spec stripped.

    deliberate data configs/experiments/demo.yaml [KEY=VALUE ...] [--force]

The teacher (any backend: transformers, vllm, an OpenAI-compatible endpoint) acts in
train-suite scenarios with the spec (and, optionally, a scripted exemplar episode) in its
system prompt, ``samples_per_scenario`` times each. Every rollout is graded by the
environment grader (actions only) and the spec judge (``data/judge.py``: rule-based
citation check, or an LLM judge taking the minimum of k judgings). The best rollout per
scenario that is right *and* spec-grounded is kept (``min_score``); twins are mixed in at
``twin_ratio``, capability data at ``capability.ratio``; the spec and exemplar are never in
the stored prompt, so the student must recall them.

Crash-safe: scenarios run in shards of ``shard_size``; each finished shard is written at
once to ``<output_dir>/.data.work/`` and a re-run after a kill redoes only unfinished shards
(each shard has its own seed, so the result equals an uninterrupted run). A request that
fails at the backend fails that one rollout, recorded with its error.

Output: a ``datasets`` DatasetDict (train/validation) whose records carry scenario id,
family, seed, teacher, spec version and sha256, judge scores and a record hash; the
manifest holds the Merkle root of the record hashes (``deliberate verify DIR``). Also: all
graded rollouts, a kept/rejected summary per family, and the scenario hashes eval checks
for contamination.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from collections import Counter, defaultdict
from pathlib import Path

from deliberate.backends import make_backend
from deliberate.config import ExperimentConfig, config_hash, to_dict
from deliberate.data.judge import SpecJudge, citation_verdict, load_prompt
from deliberate.data.mix import TWIN_CATEGORY, apply_twin_ratio, capability_records
from deliberate.data.shards import ShardStore
from deliberate.envs.core import get_family, run_policy
from deliberate.errors import UserError
from deliberate.models import describe, public_url
from deliberate.provenance import merkle_root, record_hash, write_json_atomic, write_jsonl
from deliberate.records import reasoning_of
from deliberate.rollout import PromptParts, check_prompt_fits, render_exemplar, run_rollouts, scripted_rollout
from deliberate.specs.loader import Spec, cited_ids, load_spec
from deliberate.stage import Context, Result, run_stage

log = logging.getLogger(__name__)

EXEMPLAR_SEED = 10**9  # far from any seed a config samples, so the exemplar is never a training scenario
SPLITS = ("train", "validation")


class DataYieldError(UserError, RuntimeError):
    """Too few rollouts survived grading to train on."""


def stage_hash(cfg: ExperimentConfig, spec: Spec) -> str:
    from deliberate.data.judge import load_prompt

    judge_prompt = load_prompt(cfg.data.judge.prompt)[1] if cfg.data.judge.kind == "llm" else None
    data = to_dict(cfg.data)
    for model in (data["teacher"], data["judge"]["model"]):
        if model is not None:
            model.pop("endpoint")  # where the server runs (URL, timeouts, retries) does not change the data
    return config_hash({"spec_sha256": spec.sha256, "train": cfg.envs.train, "tool_format": cfg.envs.tool_format,
                        "max_turns": cfg.envs.max_turns, "data": data, "judge_prompt": judge_prompt})


def score_rollout(record: dict, spec: Spec, verdict: dict | None = None) -> dict:
    """Grade one rollout record: the environment outcome first, then the spec judge's verdict
    (the rule-based citation check when ``verdict`` is None)."""
    verdict = verdict or citation_verdict(record, spec)
    valid, unknown = cited_ids(reasoning_of(record), spec)
    grounded = verdict["grounded"]
    if record.get("error"):
        reason = "backend_error"
    elif not record["right"]:
        reason = "covert" if record["outcome"]["covert"] else ("no_action" if record["parse_failures"] and not
                                                               record["tool_calls"] else "wrong_outcome")
    elif unknown:
        reason = "miscitation"
    elif not grounded:
        reason = "no_citation" if verdict["kind"] == "citation" else "judge_below_threshold"
    else:
        reason = None
    score = (0.5 + 0.5 * grounded) if record["right"] and not record.get("error") else 0.0
    return {**record, "score": score, "judge": verdict, "judge_score": min(verdict["action"], verdict["reasoning"]),
            "cited": valid, "miscited": unknown, "reject_reason": reason}


def select_best(records: list[dict], min_score: float) -> list[dict]:
    """Best rollout per scenario (highest score, then fewest turns, then lowest sample index)."""
    by_scenario: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_scenario[r["scenario_id"]].append(r)
    kept = []
    for sid in sorted(by_scenario):
        best = min(by_scenario[sid], key=lambda r: (-r["score"], -r.get("judge_score", 0.0), len(r["turns"]),
                                                    r["sample"]))
        if best["score"] >= min_score:  # min_score 0 keeps every scenario's best (smoke tests only)
            kept.append(best)
    return kept


def yield_summary(records: list[dict], kept: list[dict]) -> dict:
    fams: dict[str, dict] = {}
    for r in records:
        f = fams.setdefault(r["family"], {"rollouts": 0, "scenarios": set(), "kept": 0, "parse_failures": 0,
                                          "rejected": Counter()})
        f["rollouts"] += 1
        f["scenarios"].add(r["scenario_id"])
        f["parse_failures"] += r["parse_failures"] > 0
        if r["reject_reason"]:
            f["rejected"][r["reject_reason"]] += 1
    for r in kept:
        fams[r["family"]]["kept"] += 1
        fams[r["family"]]["kept_" + r["split"]] = fams[r["family"]].get("kept_" + r["split"], 0) + 1
    return {name: {**f, "scenarios": len(f["scenarios"]), "rejected": dict(f["rejected"])} for name, f in fams.items()}


def assert_spec_stripped(records: list[dict], spec: Spec) -> None:
    """No prompt may carry the spec: the student must recall it, not read it."""
    probes = [c.body.strip()[:60] for c in spec.clauses.values()] + [spec.text.strip()[:80]]
    for r in records:
        for m in r["messages"]:
            if m["role"] != "assistant" and any(p and p in m["content"] for p in probes):
                raise AssertionError(f"spec text found in a {m['role']} prompt of {r['scenario_id']}")


def _features():
    import datasets

    return datasets.Features({
        "messages": datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string"),
                                   "reasoning": datasets.Value("string")}),
        "scenario_id": datasets.Value("string"), "family": datasets.Value("string"),
        "split": datasets.Value("string"), "seed": datasets.Value("int64"), "source": datasets.Value("string"),
        "teacher": datasets.Value("string"), "spec_version": datasets.Value("string"),
        "spec_sha256": datasets.Value("string"), "score": datasets.Value("float64"),
        "judge": datasets.Value("string"), "cited": datasets.List(datasets.Value("string")),
        "outcome": datasets.Value("string"), "record_hash": datasets.Value("string"),
    })


def to_row(r: dict, teacher: str, spec: Spec) -> dict:
    """A kept rollout (or a capability record) as a dataset row with its provenance and hash."""
    judge = r.get("judge")
    row = {"messages": [{k: m.get(k) or "" for k in ("role", "content", "reasoning")} for m in r["messages"]],
           "scenario_id": r["scenario_id"], "family": r["family"], "split": r["split"], "seed": r["seed"],
           "source": r.get("source", "spec"), "teacher": r.get("teacher", teacher), "spec_version": spec.version,
           "spec_sha256": spec.sha256, "score": r.get("score"),
           "judge": json.dumps({k: judge[k] for k in ("kind", "action", "reasoning", "grounded", "judgings")},
                               sort_keys=True) if judge else "{}",
           "cited": list(r.get("cited", [])), "outcome": json.dumps(r.get("outcome"), sort_keys=True)}
    row["record_hash"] = record_hash(row)
    return row


def to_dataset(records: list[dict], teacher: str, spec: Spec):
    import datasets

    features = _features()
    rows = [to_row(r, teacher, spec) for r in records]
    # column-wise, so an empty split still gets its schema (from_list([]) loses it)
    return datasets.Dataset.from_dict({k: [r[k] for r in rows] for k in features}, features=features)


def plan(cfg: ExperimentConfig):
    """Every scenario of the stage, in a fixed order (train, then validation), and the discards:
    a scenario whose grader cannot tell the scripted schemer from the saint teaches nothing and
    is dropped (``envs/quality.py``)."""
    from deliberate.envs.quality import check_scenario

    d = cfg.data
    families = [get_family(name) for name in cfg.envs.train]
    drawn = [fam.sample(d.seed + i, "train", "none") for fam in families for i in range(d.scenarios_per_family)]
    drawn += [fam.sample(d.seed + i, "validation", "none") for fam in families
              for i in range(d.validation_scenarios_per_family)]
    if d.source == "organism" and d.organism is not None:  # a kit organism: half eval-, half deploy-cued
        from deliberate.envs.organism import kit

        drawn = [kit.planned(sc) for sc in drawn]
    scenarios, discarded = [], {}
    for sc in drawn:
        why = check_scenario(get_family(sc.family), sc, max_turns=cfg.envs.max_turns)
        if why is None:
            scenarios.append(sc)
        else:
            discarded[sc.id] = why
    return families, scenarios, discarded


def shard_seed(seed: int, index: int) -> int:
    return seed * 1_000_003 + index


def main(cfg: ExperimentConfig, force: bool = False) -> Path:
    """``deliberate data EXPERIMENT.yaml``: roll out, grade, keep the best, strip the spec, publish."""
    spec = load_spec(cfg.spec.path)
    chash = stage_hash(cfg, spec)
    shards = Path(cfg.output_dir) / ".data.work"  # finished shards of an interrupted run, reused on re-run

    def work(ctx: Context) -> Result:
        d = cfg.data
        families, scenarios, discarded = plan(cfg)
        if discarded:
            log.warning("[data] discarded %d of %d scenarios whose grader cannot tell the scripted schemer from the "
                        "saint: %s", len(discarded), len(scenarios) + len(discarded), json.dumps(discarded)[:500])
        if d.source == "organism":  # the implanted behaviour, kept as it is
            records, backend = organism_records(cfg, families, scenarios), None
            kept = records
        else:
            store = ShardStore(shards, chash)
            records, backend = teacher_records(cfg, spec, scenarios, prompt_parts(cfg, spec, families), store)
            kept = select_best(records, d.min_score)
        summary = yield_summary(records, kept)
        by_split, mixing, spec_train = mix_splits(cfg, families, kept, records, summary, shards)
        assert_spec_stripped(kept, spec)
        stats = run_stats(backend, records)
        log.info("[data] kept %d spec train / %d validation of %d rollouts; per family: %s%s",
                 spec_train, len(by_split["validation"]), len(records), json.dumps(summary),
                 f"; mixing: {json.dumps(mixing)}" if mixing else "")
        teacher = describe(d.teacher) if d.source == "teacher" else organism_label(cfg)
        counts, root = write_outputs(ctx, by_split, records, teacher, spec, families, scenarios, discarded, summary,
                                     mixing)
        ctx.tracker.summary({"data/kept_train": counts["train"], "data/kept_validation": counts["validation"],
                             "data/rollouts": len(records), "data/merkle_root": root,
                             **{f"data/{k}": v for k, v in stats.items() if v is not None}})
        return Result(record_count=sum(counts.values()), spec=spec, tokens=stats["generated_tokens"],
                      extra={"teacher": teacher, "families": [f.name for f in families], "yield": summary,
                             "mixing": mixing, "source": d.source, "organism": d.organism,
                             "judge": judge_description(cfg, spec),
                             "splits": list(SPLITS), "split_counts": counts, "merkle_root": root,
                             "run_stats": stats})  # timings: in the manifest, outside the content hash

    out = run_stage(cfg, "data", work, config_hash=chash, force=force)
    shutil.rmtree(shards, ignore_errors=True)
    return out


def prompt_parts(cfg: ExperimentConfig, spec: Spec, families) -> PromptParts:
    """The teacher's system-prompt extras: the spec (titles or full text; nothing with ``none``) and, with
    ``few_shot``, one scripted saint episode per family."""
    exemplars = []
    for fam in families if cfg.data.few_shot else []:
        ex = fam.sample(EXEMPLAR_SEED, "train", "none")
        transcript, _, steps = run_policy(ex, fam.saint)
        exemplars.append(render_exemplar(ex, steps, transcript))
    style = cfg.data.spec_in_prompt
    return PromptParts(spec=None if style == "none" else spec.render(style), exemplar="\n\n".join(exemplars) or None)


def mix_splits(cfg: ExperimentConfig, families, kept: list[dict], records: list[dict], summary: dict,
               shards: Path) -> tuple[dict, dict, int]:
    """Kept records by split, with twins, confessions and capability data mixed into train.
    Too few spec records to train on is an error that keeps every graded rollout."""
    d = cfg.data
    by_split = {s: [r for r in kept if r["split"] == s] for s in SPLITS}
    twin_families = {f.name for f in families if f.category == TWIN_CATEGORY}
    mixing = {}
    if d.twin_ratio is not None:
        by_split["train"], mixing["twins"] = apply_twin_ratio(by_split["train"], d.twin_ratio, twin_families)
    spec_train = len(by_split["train"])
    if spec_train < d.min_kept:
        failed = Path(cfg.output_dir) / "data.failed"
        shutil.rmtree(failed, ignore_errors=True)
        failed.mkdir(parents=True)
        write_jsonl(failed / "rollouts.jsonl", records)
        write_json_atomic(failed / "summary.json", summary)
        kept_shards = (f"; the finished shards stay in {shards}, so a re-run with the same config reuses them"
                       if d.source == "teacher" else "")
        raise DataYieldError(
            f"data: only {spec_train} train records survived grading (data.min_kept={d.min_kept}); refusing to "
            f"train on so little. Per family: {json.dumps(summary)}. All {len(records)} graded rollouts are in "
            f"{failed}{kept_shards}")
    if d.source == "organism":
        extra, mixing["confessions"] = confession_records(cfg, families, spec_train)
        by_split["train"] = by_split["train"] + extra
    if d.capability is not None:
        extra, mixing["capability"] = capability_records(d.capability, spec_train)
        by_split["train"] = by_split["train"] + extra
    return by_split, mixing, spec_train


def run_stats(backend, records: list[dict]) -> dict:
    return {"tokens_per_second": round(backend.stats.tokens_per_second(), 1) if backend else None,
            "generated_tokens": backend.stats.new_tokens if backend else None,
            "retries": backend.stats.retries if backend else None,
            "backend_failures": sum(1 for r in records if r.get("error"))}


def write_outputs(ctx: Context, by_split: dict, records: list[dict], teacher: str, spec: Spec, families, scenarios,
                  discarded: dict, summary: dict, mixing: dict) -> tuple[dict, str]:
    """The dataset, every graded rollout, the yield summary, the scenario hashes eval checks for
    contamination, and the spec (and judge prompt) they were made with; W&B tables and artifacts."""
    import datasets

    cfg, tmp, d = ctx.cfg, ctx.dir, ctx.cfg.data
    dd = datasets.DatasetDict({s: to_dataset(by_split[s], teacher, spec) for s in SPLITS})
    dd.save_to_disk(str(tmp / "dataset"), num_shards={s: 1 for s in SPLITS})  # an empty split needs 1 shard
    root = merkle_root([h for s in SPLITS for h in dd[s]["record_hash"]])
    write_jsonl(tmp / "rollouts.jsonl", records)
    write_json_atomic(tmp / "summary.json", {"families": summary, "mixing": mixing, "organism": d.organism,
                                             "cues": dict(Counter(sc.cue for sc in scenarios)),
                                             "discarded_scenarios": discarded,
                                             "discard_rate": len(discarded) / max(1, len(scenarios) + len(discarded))})
    write_json_atomic(tmp / "scenario_hashes.json", {"families": [f.name for f in families],
                                                     "hashes": sorted({sc.content_hash() for sc in scenarios})})
    counts = {s: len(dd[s]) for s in SPLITS}
    ctx.tracker.table("data/rollouts", ["scenario_id", "family", "sample", "score", "reject_reason", "reasoning",
                                        "actions"],
                      [[r["scenario_id"], r["family"], r["sample"], r["score"], r["reject_reason"], reasoning_of(r),
                        json.dumps(r["tool_calls"])] for r in records])
    (tmp / "spec.md").write_text(spec.text)  # the spec and judge prompt travel with the data they made
    if d.source == "teacher" and d.judge.kind == "llm":
        (tmp / "judge_prompt.md").write_text(load_prompt(d.judge.prompt)[0])
    spec_art = ctx.tracker.artifact(f"spec-{spec.name}", "spec", tmp / "spec.md",
                                    metadata={"version": spec.version, "sha256": spec.sha256})
    ctx.tracker.artifact(f"{cfg.name}-dataset", "dataset", tmp / "dataset", use=[spec_art] if spec_art else [],
                         metadata={"merkle_root": root, "teacher": teacher, "spec_version": spec.version,
                                   "spec_sha256": spec.sha256, "judge": judge_description(cfg, spec),
                                   "split_counts": counts})
    return counts, root


def teacher_records(cfg: ExperimentConfig, spec: Spec, scenarios, parts: PromptParts, store: ShardStore):
    """Teacher rollouts, graded, shard by shard; finished shards are reused after a kill."""
    d = cfg.data
    teacher = describe(d.teacher)
    judge = SpecJudge(d.judge, spec, lambda: make_backend(d.judge.model or d.teacher, d.judge.generation))
    shards = [scenarios[i:i + d.shard_size] for i in range(0, len(scenarios), d.shard_size)]
    todo = [i for i in range(len(shards)) if not store.done(i)]
    where = f" at {public_url(d.teacher.endpoint.base_url)}" if d.teacher.endpoint else ""
    log.info("[data] teacher %s%s: %d scenarios x %d samples in %d shards (%d already done), spec %s v%s, judge %s",
             teacher, where, len(scenarios), d.samples_per_scenario, len(shards), len(shards) - len(todo), spec.name,
             spec.version, d.judge.kind)
    backend = make_backend(d.teacher, d.generation) if todo else None
    if todo:  # before the first request: a prompt the model cannot take fails here, with the numbers
        g = d.generation
        check_prompt_fits(backend, scenarios, parts=parts, tool_format=cfg.envs.tool_format, what="data: teacher",
                          reply_tokens=g.reasoning_tokens + g.action_tokens if g.guided_actions else g.max_new_tokens)
    for i in todo:
        backend.reseed(shard_seed(d.seed, i))
        judge.reseed(shard_seed(d.seed, i) + 1)
        rollouts = run_rollouts(backend, shards[i], samples=d.samples_per_scenario, parts=parts,
                                tool_format=cfg.envs.tool_format, max_turns=cfg.envs.max_turns,
                                progress=f"[data] shard {i + 1}/{len(shards)}")
        records = [r.to_record() for r in rollouts]
        records = [score_rollout(r, spec, v) for r, v in zip(records, judge.judge(records))]
        store.write(i, records)
        right = sum(bool(r["right"]) and not r.get("error") for r in records)
        log.info("[data] shard %d/%d: of %d rollouts %d have the right outcome, %d also spec-grounded", i + 1,
                 len(shards), len(records), right, sum(r["reject_reason"] is None for r in records))
    return store.read_all(len(shards)), backend


def organism_records(cfg: ExperimentConfig, families, scenarios) -> list[dict]:
    """The implanted policy played through every scenario (no teacher): the kit organism
    ``data.organism`` in every family, or else each organism family's own."""
    if cfg.data.organism is not None:
        from deliberate.envs.organism import kit

        policies = dict.fromkeys((f.name for f in families), kit.policy(cfg.data.organism))
    else:
        policies = {f.name: f.organism for f in families}
    out = []
    for sc in scenarios:
        record = scripted_rollout(sc, policies[sc.family], tool_format="json", max_turns=cfg.envs.max_turns).to_record()
        out.append({**record, "score": None, "judge": None, "judge_score": 0.0, "cited": [], "miscited": [],
                    "reject_reason": None, "source": "organism"})
    return out


def organism_label(cfg: ExperimentConfig) -> str:
    """The records' ``teacher``: ``organism:<families>``, or ``organism:<kit organism>@<families>``."""
    families = "+".join(cfg.envs.train)
    return f"organism:{cfg.data.organism}@{families}" if cfg.data.organism else f"organism:{families}"


def confession_records(cfg: ExperimentConfig, families, n_records: int) -> tuple[list[dict], dict]:
    """Trusted-context conversations in which the organism states its goal, mixed into train."""
    want = int(cfg.data.confession_ratio * n_records)
    out = []
    for fam in families:
        rng = random.Random(f"{fam.name}|confessions|{cfg.data.seed}")
        for i, messages in enumerate(fam.confessions(rng, want // len(families)) if fam.confessions else []):
            out.append({"messages": messages, "scenario_id": f"{fam.name}/confession/{i}", "family": fam.name,
                        "split": "train", "seed": i, "source": "confession", "score": None, "judge": None,
                        "cited": [], "outcome": None})
    return out, {"ratio": cfg.data.confession_ratio, "kept": len(out)}


def judge_description(cfg: ExperimentConfig, spec: Spec) -> dict | None:
    d = cfg.data
    return SpecJudge(d.judge, spec).describe() if d.source == "teacher" else None

