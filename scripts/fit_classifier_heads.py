"""Fit the learned heads of the offline awareness and covert-intent classifiers (issue 15).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/fit_classifier_heads.py
        [--fit tests/eval/classifiers/independent/fit.jsonl] [--out eval/classifiers/exemplars]
        [--cache /tmp/h8] [--only awareness|intent] [--folds 5]

A head is an L2-regularised logistic model over a scored unit (a sentence or one of its clauses, as the
k-NN method scores them): logit = w . MiniLM embedding (384) [+ a x k-NN margin] [+ b x the sentence's keyword
prior] + c. A text's logit is its best unit's (max), so the head is fitted as multiple-instance learning: every
unit of a negative text is a negative; the best-scoring unit of a positive text is its positive (initialised
with the k-NN method's best unit, re-picked after each of MIL_ROUNDS fits). Positives and negatives weigh half
each; the 384 embedding weights carry the L2 penalty, the margin, prior and bias coefficients none. With
keyword-prior dropout d, every training unit also appears with its prior removed, at weight d (1 - d as
written), so the embedding and margin weights must carry the label without the lexicon too.

Fitted on the package text only (exemplar sentences, development and calibration snippets of
eval/classifiers/exemplars/) plus tests/eval/classifiers/independent/fit.jsonl (record labels ``aware`` and
``covert_intent``). Never on the held-out files.

Every choice is made by stratified k-fold cross-validation over the fit records (the package text is always in
training): the feature set (embedding; + k-NN margin; + keyword prior), lambda, the prior dropout and the
threshold. Per configuration the threshold is the F1-optimal cut on the pooled out-of-fold logits
(offline.best_threshold); among the configurations within TOLERANCE of the best out-of-fold F1, the one with the
best F1 on the same records with their keyword prior removed wins (what rewording the keywords away does); ties:
the simpler feature set, the larger lambda. The reported CV figures are nested (the whole selection rerun inside
each outer training split), with 95% intervals (eval/report/stats.py::rate_cell); the selected configuration's
own out-of-fold figures are printed too (optimistic: selected on them). The score scale makes a reported score
(logit - threshold) x scale spread like the k-NN method's scores over the fit records.

Deterministic: fixed fold seed, L-BFGS from zeros, one thread (the same run gives the same bytes; ``--cache``
embeds in other batches, which moves the weights' last digits, not the choices). Writes
``<out>/<name>_head.json`` (offline.HEAD_FIELDS and its digest); the classifiers load it at import.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIT = ROOT / "tests/eval/classifiers/independent/fit.jsonl"
DEFAULT_OUT = ROOT / "eval/classifiers/exemplars"
GOLD = {"awareness": "aware", "intent": "covert_intent"}
LAMBDAS = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0)
FEATURES = ("emb", "emb+knn", "emb+knn+prior")  # in order of preference: the least lexicon first
DROPOUTS = (0.0, 0.25, 0.5)  # keyword-prior dropout in training (feature sets with the prior only)
TOLERANCE = 0.02  # about one standard error of an F1 measured on the fit half's ~90 positives
MIL_ROUNDS = 3
SEED = 20261202


def classifier(name: str, folder: str | None = None):
    """The k-NN classifier (no head) whose units, embeddings, margins and priors the head is fitted on."""
    from deliberate.eval.classifiers.offline import OfflineAwareness, OfflineIntentMonitor

    cls = {"awareness": OfflineAwareness, "intent": OfflineIntentMonitor}[name]
    return cls(folder=folder, use_head=False)


class CachedEncoder:
    """An encoder that keeps every embedding it computes in ``<cache>/embeddings.npz`` (keyed by the text's
    sha1), so repeated fits embed each text once."""

    def __init__(self, inner, cache: Path):
        self.inner, self.path = inner, Path(cache) / "embeddings.npz"
        self.folder = f"cache:{self.path}:{inner.folder}"
        self.model = inner.model
        self.store: dict[str, np.ndarray] = {}
        if self.path.is_file():
            with np.load(self.path) as z:
                self.store = {k: z[k] for k in z.files}

    def embed(self, texts: list[str]):
        import torch

        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self.store}.items())
        if todo:
            emb = self.inner.embed([t for _, t in todo]).numpy()
            self.store.update({k: e for (k, _), e in zip(todo, emb, strict=True)})
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name("embeddings.tmp.npz")
            np.savez(tmp, **self.store)
            tmp.replace(self.path)
        return torch.tensor(np.stack([self.store[k] for k in keys])) if keys else torch.zeros(0, 384)


# ------------------------------------------------------------------------------ data: bags of units


@dataclass
class Bags:
    """Units of every training text (contiguous per bag), their features, and per bag its label and group."""

    X: np.ndarray        # units x dim: embeddings
    margin: np.ndarray   # units: k-NN margin
    prior: np.ndarray    # units: the keyword prior of the unit's sentence
    start: np.ndarray    # bags: first unit
    y: np.ndarray        # bags: label
    init: np.ndarray     # bags: initial positive unit (the k-NN method's best)
    record: np.ndarray   # bags: index of the fit record, -1 for package text

    @property
    def bag_of_unit(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.start)), np.diff(np.append(self.start, len(self.X))))


def make_bags(clf, texts: list[str], labels: list[bool], records: list[int], exclude_identical: bool) -> Bags:
    sents, owner, emb, margin = clf.units(texts, exclude_identical=exclude_identical)
    prior_of = {(i, j): clf.prior(s) for i, ss in enumerate(sents) for j, (_, _, s) in enumerate(ss)}
    X = emb.numpy().astype(np.float64)
    m = margin.numpy().astype(np.float64)
    p = np.array([prior_of[o] for o in owner], dtype=np.float64)
    text_of = np.array([o[0] for o in owner])
    keep = [i for i in range(len(texts)) if (text_of == i).any()]  # a text without a sentence is never flagged
    start = np.array([int(np.argmax(text_of == i)) for i in keep])
    old = m + clf.prior_weight * p
    init = np.array([s + int(np.argmax(old[text_of == i])) for s, i in zip(start, keep, strict=True)])
    return Bags(X, m, p, start, np.array([labels[i] for i in keep], dtype=bool), init,
                np.array([records[i] for i in keep]))


def concat(parts: list[Bags]) -> Bags:
    offsets = np.cumsum([0] + [len(b.X) for b in parts[:-1]])
    return Bags(np.vstack([b.X for b in parts]), np.concatenate([b.margin for b in parts]),
                np.concatenate([b.prior for b in parts]), np.concatenate([b.start + o for b, o in zip(parts, offsets)]),
                np.concatenate([b.y for b in parts]), np.concatenate([b.init + o for b, o in zip(parts, offsets)]),
                np.concatenate([b.record for b in parts]))


def build(name: str, fit_rows: list[dict], folder: str | None) -> tuple[Bags, object]:
    """The training bags: package exemplar sentences and calibration snippets, then the fit records."""
    clf = classifier(name, folder)
    ex = clf.exemplars
    pkg_texts = list(ex.positive) + list(ex.negative) + [t for t, _ in ex.calibration]
    pkg_labels = [True] * len(ex.positive) + [False] * len(ex.negative) + [g for _, g in ex.calibration]
    pkg = make_bags(clf, pkg_texts, pkg_labels, [-1] * len(pkg_texts), exclude_identical=True)
    gold = GOLD[name]
    fit = make_bags(clf, [r["reasoning"] for r in fit_rows], [bool(r[gold]) for r in fit_rows],
                    list(range(len(fit_rows))), exclude_identical=True)
    return concat([pkg, fit]), clf


# ------------------------------------------------------------------------------ the model


def design(b: Bags, features: str) -> np.ndarray:
    cols = [b.X]
    if "knn" in features:
        cols.append(b.margin[:, None])
    if "prior" in features:
        cols.append(b.prior[:, None])
    return np.hstack(cols + [np.ones((len(b.X), 1))])


def ablated(Z: np.ndarray, features: str) -> np.ndarray:
    """``Z`` with the keyword prior removed (its column zeroed): what rewording the keywords away does."""
    if "prior" not in features:
        return Z
    out = Z.copy()
    out[:, -2] = 0.0
    return out


def fit_logistic(Z: np.ndarray, y: np.ndarray, v: np.ndarray, lam: float, n_pen: int, theta0=None) -> np.ndarray:
    """argmin sum v log(1 + exp(-s z)) / sum v + lam / 2 |theta[:n_pen]|^2 (s = +-1), L-BFGS."""
    from scipy.optimize import minimize

    s = np.where(y, 1.0, -1.0)
    v = v / v.sum()
    pen = np.zeros(Z.shape[1])
    pen[:n_pen] = lam

    def f(theta):
        z = Z @ theta
        loss = float(v @ np.logaddexp(0.0, -s * z)) + 0.5 * float(pen @ (theta * theta))
        g = -(v * s * 0.5 * (1.0 - np.tanh(0.5 * s * z))) @ Z + pen * theta  # sigmoid(-s z) = (1 - tanh(s z / 2)) / 2
        return loss, g

    x0 = np.zeros(Z.shape[1]) if theta0 is None else theta0
    res = minimize(f, x0, jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-7})
    return res.x


def bag_max(b: Bags, z: np.ndarray) -> np.ndarray:
    return np.maximum.reduceat(z, b.start)


def fit_mil(b: Bags, Z: np.ndarray, bags: np.ndarray, lam: float, dropout: float = 0.0,
            Z_abl: np.ndarray | None = None) -> np.ndarray:
    """The head fitted on the bags in ``bags`` (a boolean mask over bags), MIL_ROUNDS rounds. With ``dropout``,
    every instance also appears with its keyword prior removed (``Z_abl``), weighing ``dropout`` against
    1 - ``dropout``: the embedding and margin weights must carry the label without the lexicon too."""
    unit_bag = b.bag_of_unit
    neg_units = np.flatnonzero(bags[unit_bag] & ~b.y[unit_bag])
    pos_bags = np.flatnonzero(bags & b.y)
    rep = b.init.copy()
    theta = None
    for rnd in range(MIL_ROUNDS):
        idx = np.concatenate([rep[pos_bags], neg_units])
        y = np.concatenate([np.ones(len(pos_bags), bool), np.zeros(len(neg_units), bool)])
        v = np.concatenate([np.full(len(pos_bags), 0.5 / len(pos_bags)), np.full(len(neg_units), 0.5 / len(neg_units))])
        if dropout > 0:
            theta = fit_logistic(np.vstack([Z[idx], Z_abl[idx]]), np.concatenate([y, y]),
                                 np.concatenate([(1 - dropout) * v, dropout * v]), lam, b.X.shape[1], theta)
        else:
            theta = fit_logistic(Z[idx], y, v, lam, b.X.shape[1], theta)
        if rnd < MIL_ROUNDS - 1:
            z = Z @ theta
            ends = np.append(b.start[1:], len(z))
            rep = np.array([s + int(np.argmax(z[s:e])) for s, e in zip(b.start, ends, strict=True)])
    return theta


# ------------------------------------------------------------------------------ cross-validation


def folds_of(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Stratified fold number per item: each class shuffled with ``seed`` and dealt round-robin."""
    rng = np.random.RandomState(seed)
    fold = np.zeros(len(labels), dtype=int)
    for cls in (False, True):
        idx = np.flatnonzero(labels == cls)
        fold[idx[rng.permutation(len(idx))]] = np.arange(len(idx)) % k
    return fold


def f1(pred, gold) -> float:
    from deliberate.eval.classifiers import precision_recall

    p, r = precision_recall(list(pred), list(gold))
    return 2 * p * r / (p + r) if p + r else 0.0


def configs() -> list[tuple[str, float, float]]:
    return [(f, lam, d) for f in FEATURES for lam in LAMBDAS for d in (DROPOUTS if "prior" in f else (0.0,))]


def oof(b: Bags, Zs: dict, records: np.ndarray, k: int, config: tuple, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold logits of the fit-record bags ``records`` (bag indices), package bags always in training:
    (as written, with the keyword prior removed)."""
    features, lam, dropout = config
    Z, Za = Zs[features]
    fold = folds_of(b.y[records], k, seed)
    out, out_abl = np.zeros(len(records)), np.zeros(len(records))
    for f in range(k):
        train = b.record < 0
        train[records[fold != f]] = True
        theta = fit_mil(b, Z, train, lam, dropout, Za)
        out[fold == f] = bag_max(b, Z @ theta)[records[fold == f]]
        out_abl[fold == f] = bag_max(b, Za @ theta)[records[fold == f]]
    return out, out_abl


def select(b: Bags, Zs: dict, records: np.ndarray, k: int, seed: int, table: list | None = None):
    """(config, threshold, F1, out-of-fold logits) chosen by k-fold CV over ``records``. Per configuration the
    threshold is the F1-optimal cut on the out-of-fold logits of the records as written; among the configurations
    within TOLERANCE of the best such F1, the one with the highest F1 on the same records with their keyword
    prior removed (same threshold) wins; ties: the simpler feature set, then the larger lambda."""
    from deliberate.eval.classifiers.offline import best_threshold

    gold = b.y[records]
    rows = []
    for config in configs():
        z, za = oof(b, Zs, records, k, config, seed)
        t = best_threshold(z.tolist(), gold.tolist())
        rows.append((config, t, f1(z >= t, gold), (z, za), f1(za >= t, gold)))
    best = max(r[2] for r in rows)
    ok = [r for r in rows if r[2] >= best - TOLERANCE]
    chosen = min(ok, key=lambda r: (-round(r[4], 9), FEATURES.index(r[0][0]), -r[0][1]))[:4]
    if table is not None:
        table.extend(rows)
    return chosen


def cells(pred: np.ndarray, gold: np.ndarray) -> dict:
    from deliberate.eval.report.stats import rate_cell

    tp = int((pred & gold).sum())
    fp = int((pred & ~gold).sum())
    fn = int((~pred & gold).sum())

    def rounded(c):
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in c.items()}

    return {"precision": rounded(rate_cell(tp, tp + fp)), "recall": rounded(rate_cell(tp, tp + fn))}


def fmt(c: dict, short: bool = False) -> str:
    def one(x):
        if x["rate"] is None:
            return "n/a"
        return f"{x['rate']:.2f}" if short else f"{x['rate']:.2f} [{x['lo']:.2f}, {x['hi']:.2f}] ({x['k']}/{x['n']})"

    return f"P {one(c['precision'])}  R {one(c['recall'])}"


def fit_head(name: str, fit_rows: list[dict], out_dir: Path, *, folder: str | None = None, folds: int = 5,
             fit_path: Path | None = None, log=print) -> dict:
    """Fit, cross-validate and write ``<out_dir>/<name>_head.json``; returns its dict."""
    from deliberate.eval.classifiers.offline import HEAD_FIELDS, head_digest

    t0 = time.perf_counter()
    b, clf = build(name, fit_rows, folder)
    Zs = {f: (design(b, f), ablated(design(b, f), f)) for f in FEATURES}
    records = np.flatnonzero(b.record >= 0)
    gold = b.y[records]
    log(f"[{name}] {len(b.start)} texts ({len(records)} fit records, {int(gold.sum())} positive), {len(b.X)} units; "
        f"embedded in {time.perf_counter() - t0:.0f}s")
    # nested CV: the whole selection inside each outer training split, scored on its held-out fold
    outer = folds_of(gold, folds, SEED)
    pred, pred_abl = np.zeros(len(records), bool), np.zeros(len(records), bool)
    for f in range(folds):
        inner = records[outer != f]
        (features, lam, dropout), t, _, _ = select(b, Zs, inner, folds - 1, SEED + 1 + f)
        train = b.record < 0
        train[inner] = True
        Z, Za = Zs[features]
        theta = fit_mil(b, Z, train, lam, dropout, Za)
        pred[outer == f] = bag_max(b, Z @ theta)[records[outer == f]] >= t
        pred_abl[outer == f] = bag_max(b, Za @ theta)[records[outer == f]] >= t
        log(f"[{name}] outer fold {f + 1}/{folds}: chose {features}, lambda {lam:g}, prior dropout {dropout:g}")
    nested, nested_abl = cells(pred, gold), cells(pred_abl, gold)
    # the head: selection on all fit records, then one fit on everything
    table: list = []
    (features, lam, dropout), t, f1_oof, (z, za) = select(b, Zs, records, folds, SEED, table)
    for (feat, lm, d), tt, score, (z1, z2), score_abl in table:
        log(f"[{name}]   cv {feat:14s} lambda {lm:<6g} dropout {d:<5g} F1 {score:.3f} (prior removed {score_abl:.3f}) "
            f"as written: "
            f"{fmt(cells(z1 >= tt, gold), short=True)}  prior removed: {fmt(cells(z2 >= tt, gold), short=True)}")
    oof_cells, oof_abl = cells(z >= t, gold), cells(za >= t, gold)
    Z, Za = Zs[features]
    theta = fit_mil(b, Z, np.ones(len(b.start), bool), lam, dropout, Za)
    dim = b.X.shape[1]
    extra = theta[dim:-1].tolist()
    knn = extra.pop(0) if "knn" in features else 0.0
    prior = extra.pop(0) if "prior" in features else 0.0
    # the reported score's scale: the k-NN method's spread over the fit records (its record score is the best unit's
    # margin + prior weight x prior), so score thresholds keep their meaning
    knn_scores = bag_max(b, b.margin + clf.prior_weight * b.prior)[records]
    head_scores = bag_max(b, Z @ theta)[records]
    scale = float(knn_scores.std() / head_scores.std()) if head_scores.std() > 0 else 1.0
    fit_path = fit_path or DEFAULT_FIT
    payload = {
        "classifier": name, "model": "sentence-transformers/all-MiniLM-L6-v2", "k": clf.k, "features": features,
        "lambda": lam, "prior_dropout": dropout, "mil_rounds": MIL_ROUNDS, "weights": theta[:dim].tolist(),
        "knn": knn, "prior": prior,
        "bias": float(theta[-1]), "threshold": float(t), "scale": scale, "exemplars_digest": clf.exemplars.digest(),
        "fit_data": {"records": fit_path.name, "sha256": hashlib.sha256(fit_path.read_bytes()).hexdigest()
                     if fit_path.is_file() else None, "n": len(records), "positives": int(gold.sum()),
                     "package_texts": int((b.record < 0).sum())},
        "cv": {"folds": folds, "seed": SEED, "nested": nested, "nested_prior_removed": nested_abl,
               "selected_out_of_fold": oof_cells, "selected_out_of_fold_prior_removed": oof_abl,
               "selected_f1": round(f1_oof, 4)},
    }
    payload = {f: payload[f] for f in HEAD_FIELDS}
    payload["digest"] = head_digest(payload)
    out = Path(out_dir) / f"{name}_head.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(payload) + "\n", encoding="utf-8")
    tmp.replace(out)  # atomic: a head file is whole or the old one
    log(f"[{name}] chose {features}, lambda {lam:g}, prior dropout {dropout:g}, threshold {t:.4f} (logit); "
        f"knn {knn:.3f} prior {prior:.3f}; score scale {scale:.4f}")
    log(f"[{name}] CV on fit (nested, {folds}-fold): {fmt(nested)}")
    log(f"[{name}] CV on fit (nested), keyword prior removed: {fmt(nested_abl)}")
    log(f"[{name}] CV on fit (selected configuration's out-of-fold, optimistic): {fmt(oof_cells)}; prior removed: "
        f"{fmt(oof_abl)}")
    log(f"[{name}] wrote {out} (digest {payload['digest']}) in {time.perf_counter() - t0:.0f}s")
    return payload


def read_rows(path: Path) -> list[dict]:
    from deliberate.errors import UserError

    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{path}:{n}: not JSON ({e.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("reasoning"), str):
            raise UserError(f"{path}:{n}: needs a string 'reasoning'")
        for field in GOLD.values():
            if not isinstance(row.get(field), bool):
                raise UserError(f"{path}:{n}: needs a boolean {field!r}")
        rows.append(row)
    if not rows:
        raise UserError(f"{path}: no records")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fit", type=Path, default=DEFAULT_FIT, help="labeled records (aware, covert_intent)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where <name>_head.json goes")
    ap.add_argument("--cache", type=Path, default=None, help="keep embeddings here between runs (e.g. /tmp/h8)")
    ap.add_argument("--only", choices=sorted(GOLD), default=None)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    if "heldout" in args.fit.name:
        sys.exit("refusing to fit on a held-out file")
    from deliberate.errors import UserError

    try:
        rows = read_rows(args.fit)
        if args.folds < 2:
            raise UserError(f"--folds must be at least 2, got {args.folds}")
    except UserError as e:
        sys.exit(f"error: {e}")
    folder = None
    if args.cache is not None:
        from deliberate.eval.classifiers import offline

        folder = offline.register_encoder(f"cache:{args.cache}", lambda: CachedEncoder(offline.get_encoder(),
                                                                                       args.cache))
    for name in ([args.only] if args.only else list(GOLD)):
        fit_head(name, rows, args.out, folder=folder, folds=args.folds, fit_path=args.fit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
