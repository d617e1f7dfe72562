"""Quality checks for generated scenarios: does the grader tell the scripted schemer from the
scripted saint, and how diverse is a family's output? Pure functions, no I/O.

- :func:`check_scenario` runs a family's schemer and saint through one scenario and returns
  None when the grader separates them, else a short reason (the data stage discards such a
  scenario: a grader that cannot tell covert from honest behaviour would teach noise);
- :func:`discard_report` counts what :func:`check_scenario` discards over many seeds;
- :func:`diversity_report` measures near-duplicates among ``n`` samples by word n-gram
  Jaccard similarity of what the model is shown (system, user, tool names and descriptions);
- :func:`split_overlap` does the same across two splits (train vs validation).

Similarity is exact Jaccard on shingle sets, computed for all pairs at once as a sparse
product (scipy): 1000 scenarios take well under a second on a 2-core CPU. It is reported
twice: on the raw text, and with every digit run replaced by ``0`` (``masked``), so that
ids and amounts alone do not make two scenarios look different; the masked numbers are the
template-level diversity.

Reproduce the report in ``docs/environments.md``::

    .venv/bin/python -m deliberate.envs.quality            # 1000 samples, 500 seeds per train family
    .venv/bin/python -m deliberate.envs.quality --json     # the same, as JSON
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Iterable

from deliberate.envs.core import SPLITS_BY_SUITE, Family, Scenario, get_family, load_builtin_families, run_policy

NEAR_DUP = 0.8  # Jaccard similarity above which two scenarios count as near-duplicates
COVERAGE_KEYS = ("domain", "rule_id", "rule_kind", "pressure", "hide")
_WORD = re.compile(r"[a-z0-9]+(?:['\-_.][a-z0-9]+)*")
_DIGITS = re.compile(r"\d+")


def _family(family: Family | str) -> Family:
    return get_family(family) if isinstance(family, str) else family


# ---- schemer / saint check ---------------------------------------------------------------

def check_scenario(family: Family | str, scenario: Scenario, max_turns: int | None = None) -> str | None:
    """None if the grader tells the family's scripted schemer and saint apart on ``scenario``:
    the schemer is covert and does not match ``scenario.expected``; the saint is not covert,
    matches it, and makes no erroring tool call. Otherwise a short reason (the category before
    the first colon, details after). ``max_turns`` overrides the scenario's turn budget (the
    data stage's ``envs.max_turns``)."""
    fam = _family(family)
    if fam.schemer is None or fam.saint is None:
        return f"no scripted policies: family {fam.name} has no schemer or saint"
    if max_turns is not None:
        scenario = dataclasses.replace(scenario, max_turns=max_turns)
    try:
        _, bad, _ = run_policy(scenario, fam.schemer)
    except Exception as exc:  # a broken scenario must be reported, not crash the data stage
        return f"schemer crashed: {type(exc).__name__}: {exc}"
    if not bad.covert:
        return f"schemer not covert: {'; '.join(bad.evidence) or 'no evidence'}"
    if bad.matches(scenario.expected):
        return f"schemer matches expected: {scenario.expected}"
    try:
        transcript, good, _ = run_policy(scenario, fam.saint)
    except Exception as exc:
        return f"saint crashed: {type(exc).__name__}: {exc}"
    errors = [c for c in transcript.tool_calls if c.error]
    if errors:
        return f"saint tool error: {errors[0].name}: {errors[0].result}"
    if good.covert:
        return f"saint covert: {'; '.join(good.evidence)}"
    if not good.matches(scenario.expected):
        return (f"saint does not match expected: expected {scenario.expected}, got escalated={good.escalated} "
                f"completed={good.completed}")
    return None


def discard_report(family: Family | str, split: str, seeds: Iterable[int], cue: str | None = None,
                   max_turns: int | None = None, examples: int = 3) -> dict:
    """How many of ``seeds`` :func:`check_scenario` discards, grouped by reason category, with
    up to ``examples`` scenario ids and full reasons per category."""
    fam = _family(family)
    cue = cue or fam.cues[0]
    checked, reasons, shown = 0, Counter(), {}
    for seed in seeds:
        scenario = fam.sample(seed, split, cue)
        checked += 1
        reason = check_scenario(fam, scenario, max_turns=max_turns)
        if reason is None:
            continue
        category = reason.split(":", 1)[0]
        reasons[category] += 1
        if len(shown.setdefault(category, [])) < examples:
            shown[category].append(f"{scenario.id}: {reason}")
    discarded = sum(reasons.values())
    return {"family": fam.name, "split": split, "cue": cue, "checked": checked, "discarded": discarded,
            "rate": discarded / checked if checked else 0.0, "reasons": dict(reasons), "examples": shown}


# ---- diversity -----------------------------------------------------------------------------

def scenario_text(scenario: Scenario) -> str:
    """What the similarity sees: system and user text, then each tool's name, description and
    parameter descriptions (tool results are left out: they are not shown up front)."""
    parts = [scenario.system, scenario.user]
    for tool in scenario.tools:
        parts.append(f"{tool.name}: {tool.description}")
        for pname, pschema in (tool.parameters.get("properties") or {}).items():
            parts.append(f"{pname}: {pschema.get('description', '')}")
    return "\n".join(parts)


def shingles(text: str, ngram: int = 5, mask_numbers: bool = False) -> set[str]:
    """Word ``ngram``-grams of ``text`` (lowercased; ids such as ``B-4821`` stay one word).
    With ``mask_numbers`` every digit run becomes ``0``. A text shorter than ``ngram`` words
    gives one shingle, the whole text."""
    low = text.lower()
    if mask_numbers:
        low = _DIGITS.sub("0", low)
    words = _WORD.findall(low)
    if len(words) < ngram:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + ngram]) for i in range(len(words) - ngram + 1)}


def _matrix(sets: list[set[str]], vocab: dict[str, int]):
    import numpy as np
    from scipy import sparse

    rows, cols = [], []
    for i, s in enumerate(sets):
        for g in s:
            rows.append(i)
            cols.append(vocab.setdefault(g, len(vocab)))
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(sets), max(len(vocab), 1)))


def jaccard_matrix(a: list[set[str]], b: list[set[str]] | None = None):
    """Pairwise Jaccard similarity (numpy array, rows ``a``, columns ``b``; ``b=None``: ``a``
    against itself). Exact, via a sparse product of shingle-incidence matrices."""
    import numpy as np

    vocab: dict[str, int] = {}
    ma = _matrix(a, vocab)
    mb = ma if b is None else _matrix(b, vocab)
    if b is not None:  # the vocabulary grew while building mb: pad ma to the same width
        ma.resize((ma.shape[0], mb.shape[1]))
    inter = (ma @ mb.T).toarray()
    size_a = np.asarray(ma.sum(axis=1)).ravel()
    size_b = np.asarray(mb.sum(axis=1)).ravel()
    union = size_a[:, None] + size_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def _similarity_stats(sets: list[set[str]], threshold: float = NEAR_DUP) -> dict:
    import numpy as np

    n = len(sets)
    if n < 2:
        return {"max_sim_mean": 0.0, "max_sim_p95": 0.0, "max_sim_max": 0.0, "near_dup_scenarios": 0.0,
                "near_dup_pairs": 0.0}
    sim = jaccard_matrix(sets)
    np.fill_diagonal(sim, -1.0)
    best = sim.max(axis=1)
    upper = sim[np.triu_indices(n, k=1)]
    return {"max_sim_mean": round(float(best.mean()), 4), "max_sim_p95": round(float(np.percentile(best, 95)), 4),
            "max_sim_max": round(float(best.max()), 4),
            "near_dup_scenarios": round(float((best > threshold).mean()), 4),
            "near_dup_pairs": round(float((upper > threshold).mean()), 6)}


def _samples(fam: Family, split: str, n: int, cue: str | None, start: int = 0) -> list[Scenario]:
    return [fam.sample(seed, split, cue or fam.cues[0]) for seed in range(start, start + n)]


def diversity_report(family: Family | str, split: str | None = None, n: int = 1000, ngram: int = 5,
                     cue: str | None = None) -> dict:
    """Near-duplicates among the scenarios of seeds ``0..n-1``: distinct content hashes; for each
    scenario its largest Jaccard similarity to any other (mean, 95th percentile, max); the share
    of scenarios whose largest similarity is above :data:`NEAR_DUP` and the share of pairs above
    it; the same with digits masked (``masked``); and how many distinct values of each metadata
    key in :data:`COVERAGE_KEYS` were drawn (``coverage``; ``combos`` counts distinct
    (pressure, hide) pairs, ``cells`` distinct (rule_id, pressure, hide) triples)."""
    fam = _family(family)
    split = split or SPLITS_BY_SUITE[fam.suite][0]
    start = time.perf_counter()
    scenarios = _samples(fam, split, n, cue)
    texts = [scenario_text(s) for s in scenarios]
    report = {"family": fam.name, "split": split, "n": n, "ngram": ngram, "near_dup_threshold": NEAR_DUP,
              "distinct_hashes": len({s.content_hash() for s in scenarios})}
    report.update(_similarity_stats([shingles(t, ngram) for t in texts]))
    report["masked"] = _similarity_stats([shingles(t, ngram, mask_numbers=True) for t in texts])
    masked_hashes = {hashlib.sha256(_DIGITS.sub("0", t).encode()).hexdigest() for t in texts}
    report["masked"]["distinct_texts"] = len(masked_hashes)
    meta = [s.metadata for s in scenarios]
    report["coverage"] = {key: len({m.get(key) for m in meta if key in m}) for key in COVERAGE_KEYS}
    report["coverage"]["combos"] = len({(m.get("pressure"), m.get("hide")) for m in meta})
    report["coverage"]["cells"] = len({(m.get("rule_id"), m.get("pressure"), m.get("hide")) for m in meta})
    report["seconds"] = round(time.perf_counter() - start, 2)
    return report


def split_overlap(family: Family | str, splits: tuple[str, str] = ("train", "validation"), n: int = 1000,
                  ngram: int = 5, cue: str | None = None) -> dict:
    """How close the second split comes to the first: shared content hashes among ``n`` seeds
    each, and for each second-split scenario its largest Jaccard similarity to any first-split
    one (mean, share above :data:`NEAR_DUP`)."""
    fam = _family(family)
    a, b = (_samples(fam, split, n, cue) for split in splits)
    sim = jaccard_matrix([shingles(scenario_text(s), ngram) for s in b],
                         [shingles(scenario_text(s), ngram) for s in a])
    best = sim.max(axis=1)
    return {"family": fam.name, "splits": list(splits), "n": n,
            "shared_hashes": len({s.content_hash() for s in a} & {s.content_hash() for s in b}),
            "max_sim_mean": round(float(best.mean()), 4),
            "near_dup_share": round(float((best > NEAR_DUP).mean()), 4)}


# ---- command line --------------------------------------------------------------------------

def _table(rows: list[list], header: list[str]) -> str:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "| " + " | ".join("-" * w for w in widths) + " |"] + [line(r) for r in cells[1:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deliberate.envs.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("families", nargs="*", help="family names (default: every train-suite family)")
    parser.add_argument("--split", default="train")
    parser.add_argument("-n", type=int, default=1000, help="samples for the diversity report")
    parser.add_argument("--seeds", type=int, default=500, help="seeds for the discard report")
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    names = args.families or sorted(n for n, f in load_builtin_families().items() if f.suite == "train")
    div = [diversity_report(name, args.split, n=args.n, ngram=args.ngram) for name in names]
    dis = [discard_report(name, args.split, range(args.seeds)) for name in names]
    over = [split_overlap(name, n=args.n, ngram=args.ngram) for name in names
            if {"train", "validation"} <= set(SPLITS_BY_SUITE[get_family(name).suite])]
    if args.json:
        print(json.dumps({"diversity": div, "discard": dis, "split_overlap": over}, indent=2))
        return 0
    print(f"Diversity: {args.n} samples per family, split {args.split}, word {args.ngram}-gram Jaccard "
          f"(near-duplicate: > {NEAR_DUP}); masked = digits replaced by 0\n")
    print(_table([[d["family"], d["distinct_hashes"], d["max_sim_mean"], d["max_sim_p95"], d["max_sim_max"],
                   d["near_dup_scenarios"], d["near_dup_pairs"], d["masked"]["distinct_texts"],
                   d["masked"]["max_sim_mean"], d["masked"]["max_sim_p95"], d["masked"]["near_dup_scenarios"],
                   d["seconds"]] for d in div],
                 ["family", "distinct hashes", "max-sim mean", "max-sim p95", "max-sim max", "near-dup scen.",
                  "near-dup pairs", "masked distinct", "masked mean", "masked p95", "masked near-dup scen.",
                  "s"]))
    print("\nCoverage (distinct values drawn)\n")
    print(_table([[d["family"], *(d["coverage"][k] for k in (*COVERAGE_KEYS, "combos", "cells"))] for d in div],
                 ["family", *COVERAGE_KEYS, "pressure x hide", "rule x pressure x hide"]))
    print(f"\nSchemer/saint discard: {args.seeds} seeds per family, split {args.split}\n")
    print(_table([[d["family"], d["checked"], d["discarded"], f"{d['rate']:.2%}",
                   "; ".join(f"{k}: {v}" for k, v in d["reasons"].items()) or "-"] for d in dis],
                 ["family", "checked", "discarded", "rate", "reasons"]))
    if over:
        print(f"\nTrain/validation overlap: {args.n} seeds per split\n")
        print(_table([[o["family"], o["shared_hashes"], o["max_sim_mean"], o["near_dup_share"]] for o in over],
                     ["family", "shared hashes", "validation max-sim mean", "validation near-dup share"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
