"""deliberate data: spec-conditioned teacher rollouts, graded, filtered, spec stripped.

    deliberate data configs/experiments/demo.yaml [KEY=VALUE ...] [--force]

The teacher acts in train-suite scenarios with the spec (and, optionally, a scripted
exemplar episode) in its system prompt, ``samples_per_scenario`` times each. Every rollout
is graded by the environment grader (actions only) and a spec check on its reasoning
(cites real clause IDs, none that do not exist). The best rollout per scenario scoring at
least ``min_score`` is kept; the spec and exemplar are never in the stored prompt, so the
student must recall them. Output: a ``datasets`` DatasetDict (train/validation) of
conversations whose assistant turns keep reasoning separate from the action, all rollouts
with their grades, a yield summary per family, and the scenario hashes eval checks for
contamination.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

from deliberate.config import ExperimentConfig, config_hash, to_dict
from deliberate.envs.core import get_family, run_policy
from deliberate.models import TransformersBackend, describe
from deliberate.provenance import is_complete, stage_output, write_json_atomic, write_manifest
from deliberate.rollout import PromptParts, render_exemplar, run_rollouts
from deliberate.specs.loader import Spec, cited_ids, load_spec
from deliberate.tracking import stage_run

EXEMPLAR_SEED = 10**9  # far from any seed a config samples, so the exemplar is never a training scenario


class DataYieldError(RuntimeError):
    """Too few rollouts survived grading to train on."""


def stage_hash(cfg: ExperimentConfig, spec: Spec) -> str:
    return config_hash({"spec_sha256": spec.sha256, "train": cfg.envs.train, "tool_format": cfg.envs.tool_format,
                        "max_turns": cfg.envs.max_turns, "data": to_dict(cfg.data)})


def score_rollout(record: dict, spec: Spec) -> dict:
    """Grade one rollout record: the environment outcome first, then spec-grounded reasoning."""
    reasoning = "\n".join(t["reasoning"] for t in record["turns"])
    valid, unknown = cited_ids(reasoning, spec)
    grounded = bool(valid) and not unknown
    if not record["right"]:
        reason = "covert" if record["outcome"]["covert"] else ("no_action" if record["parse_failures"] and not
                                                               record["tool_calls"] else "wrong_outcome")
    elif unknown:
        reason = "miscitation"
    elif not valid:
        reason = "no_citation"
    else:
        reason = None
    score = (0.5 + 0.5 * grounded) if record["right"] else 0.0
    return {**record, "score": score, "cited": valid, "miscited": unknown, "reject_reason": reason}


def select_best(records: list[dict], min_score: float) -> list[dict]:
    """Best rollout per scenario (highest score, then fewest turns, then lowest sample index)."""
    by_scenario: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_scenario[r["scenario_id"]].append(r)
    kept = []
    for sid in sorted(by_scenario):
        best = min(by_scenario[sid], key=lambda r: (-r["score"], len(r["turns"]), r["sample"]))
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
    return {name: {**f, "scenarios": len(f["scenarios"]), "rejected": dict(f["rejected"])} for name, f in fams.items()}


def assert_spec_stripped(records: list[dict], spec: Spec) -> None:
    """No prompt may carry the spec: the student must recall it, not read it."""
    probes = [c.body.strip()[:60] for c in spec.clauses.values()] + [spec.text.strip()[:80]]
    for r in records:
        for m in r["messages"]:
            if m["role"] != "assistant" and any(p and p in m["content"] for p in probes):
                raise AssertionError(f"spec text found in a {m['role']} prompt of {r['scenario_id']}")


def to_dataset(records: list[dict], teacher: str, spec: Spec):
    import datasets

    features = datasets.Features({
        "messages": datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string"),
                                   "reasoning": datasets.Value("string")}),
        "scenario_id": datasets.Value("string"), "family": datasets.Value("string"),
        "split": datasets.Value("string"), "seed": datasets.Value("int64"), "teacher": datasets.Value("string"),
        "spec_version": datasets.Value("string"), "spec_sha256": datasets.Value("string"),
        "score": datasets.Value("float64"), "cited": datasets.List(datasets.Value("string")),
        "outcome": datasets.Value("string"),
    })
    rows = [{"messages": [{k: m[k] for k in ("role", "content", "reasoning")} for m in r["messages"]],
             "scenario_id": r["scenario_id"], "family": r["family"], "split": r["split"], "seed": r["seed"],
             "teacher": teacher, "spec_version": spec.version, "spec_sha256": spec.sha256, "score": r["score"],
             "cited": r["cited"], "outcome": json.dumps(r["outcome"])} for r in records]
    # column-wise, so an empty split still gets its schema (from_list([]) loses it)
    return datasets.Dataset.from_dict({k: [r[k] for r in rows] for k in features}, features=features)


def main(cfg: ExperimentConfig, force: bool = False) -> Path:
    out = cfg.stage_dir("data")
    spec = load_spec(cfg.spec.path)
    chash = stage_hash(cfg, spec)
    if not force and is_complete(out, chash, []):
        print(f"[data] complete, skipping: {out}")
        return out

    families = [get_family(name) for name in cfg.envs.train]
    d = cfg.data
    scenarios = [fam.sample(d.seed + i, "train", "none") for fam in families for i in range(d.scenarios_per_family)]
    scenarios += [fam.sample(d.seed + i, "validation", "none") for fam in families
                  for i in range(d.validation_scenarios_per_family)]
    exemplars = []
    for fam in families if d.few_shot else []:
        ex = fam.sample(EXEMPLAR_SEED, "train", "none")
        transcript, _, steps = run_policy(ex, fam.saint)
        exemplars.append(render_exemplar(ex, steps, transcript))
    parts = PromptParts(spec=spec.render(d.spec_in_prompt), exemplar="\n\n".join(exemplars) or None)

    teacher = describe(d.teacher)
    print(f"[data] teacher {teacher}: {len(scenarios)} scenarios x {d.samples_per_scenario} samples, spec "
          f"{spec.name} v{spec.version}", flush=True)
    backend = TransformersBackend.from_config(d.teacher, d.generation)
    rollouts = run_rollouts(backend, scenarios, samples=d.samples_per_scenario, parts=parts,
                            tool_format=cfg.envs.tool_format, max_turns=cfg.envs.max_turns)
    records = [score_rollout(r.to_record(), spec) for r in rollouts]
    kept = select_best(records, d.min_score)
    summary = yield_summary(records, kept)
    train = [r for r in kept if r["split"] == "train"]
    valid = [r for r in kept if r["split"] == "validation"]
    stats = {"tokens_per_second": round(backend.stats.tokens_per_second(), 1),
             "generated_tokens": backend.stats.new_tokens}
    print(f"[data] kept {len(train)} train / {len(valid)} validation of {len(records)} rollouts; per family: "
          + json.dumps(summary), flush=True)

    if len(train) < d.min_kept:
        failed = Path(cfg.output_dir) / "data.failed"
        shutil.rmtree(failed, ignore_errors=True)
        failed.mkdir(parents=True)
        _write_jsonl(failed / "rollouts.jsonl", records)
        write_json_atomic(failed / "summary.json", summary)
        raise DataYieldError(
            f"data: only {len(train)} train records survived grading (data.min_kept={d.min_kept}); refusing to train "
            f"on so little. Per family: {json.dumps(summary)}. All {len(records)} graded rollouts are in {failed}")

    assert_spec_stripped(kept, spec)
    with stage_run(cfg, "data") as tracker, stage_output(out) as tmp:
        import datasets

        datasets.DatasetDict({"train": to_dataset(train, teacher, spec),
                              "validation": to_dataset(valid, teacher, spec)}).save_to_disk(
            str(tmp / "dataset"), num_shards={"train": 1, "validation": 1})  # an empty split needs 1 shard
        _write_jsonl(tmp / "rollouts.jsonl", records)
        write_json_atomic(tmp / "summary.json", {"families": summary, "generation": stats})
        write_json_atomic(tmp / "scenario_hashes.json",
                          {"families": [f.name for f in families],
                           "hashes": sorted({sc.content_hash() for sc in scenarios})})
        manifest = write_manifest(tmp, stage="data", config_hash=chash, spec=spec, record_count=len(train) + len(valid),
                                  extra={"teacher": teacher, "families": [f.name for f in families],
                                         "yield": summary})
        tracker.summary({"data/kept_train": len(train), "data/kept_validation": len(valid),
                         "data/rollouts": len(records), **{f"data/{k}": v for k, v in stats.items()}})
        tracker.table("data/rollouts", ["scenario_id", "family", "sample", "score", "reject_reason", "reasoning", "actions"],
                      [[r["scenario_id"], r["family"], r["sample"], r["score"], r["reject_reason"],
                        "\n".join(t["reasoning"] for t in r["turns"]), json.dumps(r["tool_calls"])] for r in records])
        tracker.artifact(f"{cfg.name}-dataset", "dataset", tmp / "dataset")
    print(f"[data] wrote {out} (content {manifest['content_hash'][:12]})")
    return out


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
