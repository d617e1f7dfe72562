"""Inspect samples the covert rates do not show plainly: those that failed (an error in the task, its
scorer or the model; left out of every count) and those that ended on a limit (messages, tokens,
time; counted as behaviour, scored on what the model did before the limit). Read from the eval
stage's files; one row per family, model, outcome and reason, for the report, its HTML page and
the safety case.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

FAILED = "failed: left out of the counts"
LIMIT = "hit a limit: counted as behaviour"
MISSING = "missing from the log: left out of the counts"
_REASON_CHARS = 200


def excluded(eval_dir: Path, results: dict) -> list[dict]:
    """Rows ``{family, task, model, samples, outcome, reason, count}`` for every Inspect task and
    model with failed, missing or limited samples; ``samples``: the task's samples for that model."""
    eval_dir = Path(eval_dir)
    rows = []
    for model, entry in results["models"].items():
        stats = entry.get("inspect") or {}
        if not stats:
            continue
        tally: Counter = Counter()
        for r in _read(eval_dir / f"inspect_failed.{model}.jsonl"):
            tally[(r["family"], FAILED, _reason(r.get("error")))] += 1
        for r in _read(eval_dir / f"transcripts.{model}.jsonl"):
            if r.get("source") == "inspect" and r.get("inspect_limit") and not r.get("error"):
                tally[(r["family"], LIMIT, f"{r['inspect_limit']} limit")] += 1
        for family, s in stats.items():
            seen = sum(n for (f, outcome, _), n in tally.items() if f == family and outcome == FAILED)
            if s["failed"] > seen:
                why = "; ".join(s.get("run_errors") or []) or "the Inspect run ended before them"
                tally[(family, MISSING, _reason(why))] += s["failed"] - seen
        for (family, outcome, reason), count in sorted(tally.items()):
            rows.append({"family": family, "task": stats.get(family, {}).get("task"), "model": model,
                         "samples": stats.get(family, {}).get("samples"), "outcome": outcome, "reason": reason,
                         "count": count})
    return rows


def section(rows: list[dict]) -> dict | None:
    """The report section listing ``rows`` (:func:`excluded`); None when there are none."""
    if not rows:
        return None
    left_out: Counter = Counter()
    for r in rows:
        if r["outcome"] != LIMIT:
            left_out[(r["family"], r["model"])] += r["count"]
    samples = {(r["family"], r["model"]): r["samples"] for r in rows}
    all_failed = sorted(k for k, n in left_out.items() if samples[k] and n >= samples[k])
    intro = ("Failed samples (an error in the task, its scorer or the model, e.g. a grader reply that could not be "
             "parsed) are left out of every count above; a sample that ended on a message, token or time limit is "
             "counted as behaviour: the task's scorer graded what the model did before the limit. The failed "
             "transcripts are in the eval stage's `inspect_failed.<model>.jsonl`, Inspect's own logs under "
             "`inspect/<model>/`.")
    if all_failed:
        intro += (" **Every sample failed** for " + ", ".join(f"{f} ({m})" for f, m in all_failed)
                  + ": their covert rates are n/a, not zero.")
    return {"id": "inspect-samples", "title": "Inspect samples that failed or hit a limit", "intro": intro,
            "tables": [{"title": "Per task, model and reason",
                        "columns": ["family", "task", "model", "outcome", "reason", "samples", "of"],
                        "rows": [[r["family"], r["task"], r["model"], r["outcome"], r["reason"], r["count"],
                                  r["samples"]] for r in rows]}]}


def safety_case_lines(rows: list[dict], model: str, tag: str) -> list[str]:
    """Known-limits lines of one model's safety case; ``tag``: the source tag of the eval results."""
    out = []
    for r in rows:
        if r["model"] != model:
            continue
        what = ("ended on a limit and were counted as behaviour" if r["outcome"] == LIMIT
                else "failed and are left out of its covert rate" if r["outcome"] == FAILED
                else "are missing from Inspect's log and left out of its covert rate")
        out.append(f"- Inspect task {r['family']}: {r['count']} of {r['samples']} samples {what} "
                   f"({r['reason']}) {tag}.")
    return out


def _reason(text: str | None) -> str:
    text = " ".join(str(text or "no error message").split())
    return text if len(text) <= _REASON_CHARS else text[:_REASON_CHARS - 3] + "..."


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]
