"""Fit the offline semantic-miscitation detector's three numbers (eval/miscitation.py::OfflineMiscitation):
the licence-polarity weight, the threshold and the wrong-ID (cross-clause) threshold.

    OMP_NUM_THREADS=2 .venv/bin/python scripts/fit_miscitation.py [--fit FILE.jsonl ...] [--min-precision 0.92]

Every clause mention of every fit record is scored once (its k-NN margin between the clause's misread and
faithful readings, its licence polarity, and how much closer it is to another clause's faithful readings than
to its own, as the detector does); then a grid over weight (0 ... 0.5), threshold and cross threshold (off, or
the 80th-100th percentiles of the gaps) picks the triple with the highest record-level miscitation recall
(unknown IDs and semantic together, gold ``citation == "miscite"``) at precision >= ``--min-precision``; ties:
the higher threshold, the higher cross threshold, then the smaller weight. The grid is run inside 5 stratified
folds too (fit on 4, count on the fifth) and the pooled out-of-fold precision and recall are printed with 95%
intervals: the honest estimate of the choice. Prints the chosen triple; the detector's class attributes are
edited by hand to it (they are three numbers, and docs/classifiers.md records where they came from).

Default fit data (the shipped numbers' data): both halves of the first independent set, the second and the
third (tests/eval/classifiers/independent/, independent2/, independent3/): three writers, so a cut that holds
across ways of paraphrasing a clause. Never the calibration sets or the newest set
(fit_tuned_classifier.refuse_held_out).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_tuned_classifier import refuse_held_out  # noqa: E402  (a sibling script)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIT = [ROOT / "tests/eval/classifiers/independent/fit.jsonl",
               ROOT / "tests/eval/classifiers/independent/heldout.jsonl",
               ROOT / "tests/eval/classifiers/independent2/heldout.jsonl",
               ROOT / "tests/eval/classifiers/independent3/heldout.jsonl"]
WEIGHTS = tuple(round(w, 2) for w in np.arange(0.0, 0.51, 0.05))
SEED = 20261202


def claim_table(rows: list[dict]):
    """Per record: has an unknown ID; per clause mention: (record, margin, polarity, cross-clause gap)."""
    from deliberate.eval.miscitation import (
        OfflineMiscitation,
        attributions,
        cited_ids,
        licence_polarity,
        malformed_ids,
        readings_for,
    )
    from deliberate.specs.loader import load_spec

    spec = load_spec("anti_scheming")
    det = OfflineMiscitation(threshold=0.0, polarity_weight=0.0)  # score = the margin alone
    unknown = np.array([bool(cited_ids(r["reasoning"], spec)[1] or malformed_ids(r["reasoning"], spec))
                        for r in rows])
    flat = [(i, a) for i, r in enumerate(rows) for a in attributions(r["reasoning"], spec)]
    scores = det.score([(a.clause, a.claim) for _, a in flat], spec) if flat else []
    rec = np.array([i for i, _ in flat], dtype=int)
    margin = np.array([s for s, _ in scores])
    pol = np.array([licence_polarity(a.claim) for _, a in flat], dtype=float)
    readings = readings_for(spec)
    emb = det.encoder.embed([a.claim for _, a in flat]) if flat else []
    gap = np.array([det.cross_gap(emb[n], a.clause, readings)[0] for n, (_, a) in enumerate(flat)])
    return unknown, rec, margin, pol, gap


def predict(unknown, rec, margin, pol, gap, w, t, ct, n) -> np.ndarray:
    pred = unknown.copy()
    hit = (margin + w * pol - t >= 0) | (gap - ct >= 0)
    pred[rec[hit]] = True
    return pred[:n]


def choose(unknown, rec, margin, pol, gap, gold, idx, min_p):
    """The (weight, threshold, cross threshold) with the best recall at precision >= min_p over records ``idx``;
    ties: the higher threshold, the higher cross threshold (inf = the wrong-ID check off), the smaller weight."""
    keep = np.isin(rec, idx)
    best = None
    g = gold[idx]
    cross = [float("inf")] + sorted(set(np.round(np.quantile(gap[keep], np.linspace(0.8, 1.0, 21)), 4)))
    for w in WEIGHTS:
        s = margin[keep] + w * pol[keep]
        for t in sorted(set(np.round(s, 4))) + [float(s.max()) + 0.01 if len(s) else 0.0]:
            for ct in cross:
                pred = predict(unknown, rec[keep], margin[keep], pol[keep], gap[keep], w, t, ct, len(gold))[idx]
                tp = int((pred & g).sum())
                p = tp / pred.sum() if pred.sum() else 0.0
                r = tp / g.sum() if g.sum() else 0.0
                key = (p >= min_p, r, t, ct, -w)
                if best is None or key > best[0]:
                    best = (key, w, float(t), ct)
    return best[1], best[2], best[3]


def main(argv: list[str] | None = None) -> int:
    from deliberate.eval.report.stats import rate_cell

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fit", nargs="+", type=Path, default=DEFAULT_FIT)
    ap.add_argument("--min-precision", type=float, default=0.92)
    args = ap.parse_args(argv)
    for path in args.fit:
        refuse_held_out(path)
    rows = [json.loads(line) for p in args.fit for line in Path(p).read_text().splitlines() if line.strip()]
    gold = np.array([r["citation"] == "miscite" for r in rows])
    unknown, rec, margin, pol, gap = claim_table(rows)
    print(f"{len(rows)} records, {int(gold.sum())} miscite, {len(rec)} clause mentions scored")
    rng = np.random.RandomState(SEED)
    fold = np.zeros(len(rows), dtype=int)
    for label in (False, True):
        idx = np.flatnonzero(gold == label)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % 5
    oof = np.zeros(len(rows), dtype=bool)
    for f in range(5):
        train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        w, t, ct = choose(unknown, rec, margin, pol, gap, gold, train, args.min_precision)
        oof[test] = predict(unknown, rec, margin, pol, gap, w, t, ct, len(rows))[test]
        print(f"  fold {f + 1}: weight {w}, threshold {t:.4f}, cross threshold {ct:.4f}", flush=True)
    tp = int((oof & gold).sum())
    p, r = rate_cell(tp, int(oof.sum())), rate_cell(tp, int(gold.sum()))
    print(f"out of fold: P {p['rate']:.2f} [{p['lo']:.2f}, {p['hi']:.2f}] ({tp}/{int(oof.sum())}) "
          f"R {r['rate']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}] ({tp}/{int(gold.sum())})")
    w, t, ct = choose(unknown, rec, margin, pol, gap, gold, np.arange(len(rows)), args.min_precision)
    pred = predict(unknown, rec, margin, pol, gap, w, t, ct, len(rows))
    tp = int((pred & gold).sum())
    print(f"chosen on all fit records: polarity_weight = {w}, threshold = {t:.4f}, cross_threshold = {ct:.4f} "
          f"(in sample P {tp / max(int(pred.sum()), 1):.2f} R {tp / max(int(gold.sum()), 1):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
