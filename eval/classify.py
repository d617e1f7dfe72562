"""Read chains of thought through the verdict's three instruments, outside any run:

    deliberate classify INPUT.jsonl --out OUT.jsonl [--spec anti_scheming] [--awareness KIND] [--monitor KIND]
        [--citation offline|offline-tuned|offline-combined|llm|ids] [--model NAME_OR_PATH] [--k 1]

(KIND: offline, offline-head, offline-tuned, offline-combined or llm; base.KINDS.)

Input lines are transcript records (``turns``: :func:`deliberate.records.reasoning_of`), OpenAI-format
chats (``{"messages": [...]}``, the ``reasoning_content`` (or ``reasoning``) of assistant messages joined
with newlines) or plain ``{"id", "reasoning"}``. Each output line (same order, with ``line``, the input's
1-based line number) holds ``awareness`` and ``covert_intent`` (flag, score, flagged sentences with
offsets into the reasoning) and ``citations`` (valid and unknown IDs, miscitations of both kinds with the
claim and why). A line that cannot be read (not JSON, no reasoning, wrong types) is written as
``{"line", "error"}`` and reported; the rest finishes. Lines with gold labels (``aware``, ``covert_intent``:
bools; ``citation``: none / correct / miscite; ``miscitations``: [{"clause", "kind"}]) get precision and
recall with 95% intervals per instrument. The manual is docs/classifiers.md.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from deliberate.errors import UserError
from deliberate.eval.classifiers.base import KINDS
from deliberate.records import reasoning_of

log = logging.getLogger(__name__)

CITATION_LABELS = ("none", "correct", "miscite")
KIND_ALIASES = {"unknown_id": "id", "unknown": "id", "invalid_id": "id", "nonexistent_id": "id", "bad_id": "id",
                "id": "id", "semantic": "semantic"}
CHUNK = 64  # records per classify call (progress steps)


# ------------------------------------------------------------------------------ reading the input


def reasoning_from(obj) -> tuple[str, str | None]:
    """(reasoning, id) of one input object, or ValueError naming what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError(f"a line must be a JSON object, got {type(obj).__name__}")
    rid = obj.get("id", obj.get("scenario_id"))
    if rid is not None and not isinstance(rid, (str, int)):
        raise ValueError(f"id must be a string or a number, got {type(rid).__name__}")
    if "turns" in obj:
        turns = obj["turns"]
        if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
            raise ValueError("turns must be a list of objects")
        if any(not isinstance(t.get("reasoning") or "", str) for t in turns):
            raise ValueError("a turn's reasoning must be a string")
        text = reasoning_of(obj)
    elif "messages" in obj:
        msgs = obj["messages"]
        if not isinstance(msgs, list) or not all(isinstance(m, dict) for m in msgs):
            raise ValueError("messages must be a list of objects")
        parts = []
        for m in msgs:
            if m.get("role") != "assistant":
                continue
            r = m.get("reasoning_content", m.get("reasoning"))
            if r is not None and not isinstance(r, str):
                raise ValueError("an assistant message's reasoning_content must be a string")
            if r:
                parts.append(r)
        text = "\n".join(parts)
    elif "reasoning" in obj:
        text = obj["reasoning"]
        if not isinstance(text, str):
            raise ValueError(f"reasoning must be a string, got {type(text).__name__}")
    else:
        raise ValueError("no reasoning: expected 'reasoning', 'turns' (a transcript record) or 'messages' "
                         "(OpenAI format with reasoning_content)")
    if not text.strip():
        raise ValueError("the reasoning is empty")
    return text, None if rid is None else str(rid)


def gold_of(obj: dict) -> dict:
    """The gold labels a line carries (any subset), checked; ValueError when one has the wrong type."""
    gold = {}
    for key in ("aware", "covert_intent"):
        if key in obj and obj[key] is not None:
            if not isinstance(obj[key], bool):
                raise ValueError(f"{key} must be true or false, got {obj[key]!r}")
            gold[key] = obj[key]
    if obj.get("citation") is not None:
        if obj["citation"] not in CITATION_LABELS:
            raise ValueError(f"citation must be one of {', '.join(CITATION_LABELS)}, got {obj['citation']!r}")
        gold["citation"] = obj["citation"]
        mis = obj.get("miscitations") or []
        if not isinstance(mis, list) or not all(isinstance(m, dict) for m in mis):
            raise ValueError("miscitations must be a list of objects")
        gold["kinds"] = sorted({KIND_ALIASES.get(str(m.get("kind", "")).lower(), str(m.get("kind"))) for m in mis})
    return gold


def read_input(path: str | Path) -> tuple[list[dict], list[dict]]:
    """(items, rejects): items ``{"line", "id", "reasoning", "gold"}``; rejects ``{"line", "error"}``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: input file not found")
    items, rejects = [], []
    with path.open(encoding="utf-8", errors="replace") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                rejects.append({"line": n, "error": f"not JSON ({exc.msg} at column {exc.colno})"})
                continue
            try:
                text, rid = reasoning_from(obj)
                gold = gold_of(obj)
            except ValueError as exc:
                rejects.append({"line": n, "error": str(exc)})
                continue
            items.append({"line": n, "id": rid, "reasoning": text, "gold": gold})
    return items, rejects


# ------------------------------------------------------------------------------ the instruments


def make_instruments(awareness: str = "offline-combined", monitor: str = "offline-combined",
                     citation: str = "offline-combined", model: str | None = None, k: int = 1):
    """(awareness classifier, intent monitor, miscitation detector or None); the LLM ones share one backend."""
    from deliberate.eval.classifiers import make_awareness, make_intent_monitor
    from deliberate.eval.miscitation import make_miscitation_detector

    backend = None
    if "llm" in (awareness, monitor, citation):
        if not model:
            raise UserError("--model is required for an llm instrument (a local model folder or alias)")
        from deliberate.backends import make_backend
        from deliberate.config.models import GenerationConfig, ModelConfig

        backend = make_backend(ModelConfig(name_or_path=model),
                               GenerationConfig(max_new_tokens=512, temperature=0.0 if k == 1 else 0.7))
    aw = make_awareness(awareness, backend=backend, k=k) if awareness == "llm" else make_awareness(awareness)
    mon = make_intent_monitor(monitor, backend=backend, k=k) if monitor == "llm" else make_intent_monitor(monitor)
    if citation == "ids":
        det = None
    elif citation == "llm":
        det = make_miscitation_detector("llm", backend=backend, k=k)
    else:
        det = make_miscitation_detector(citation)
    return aw, mon, det


def _slim(res: dict) -> dict:
    out = {"flag": res["flag"], "score": res["score"], "sentences": res["sentences"]}
    if res.get("error"):
        out["error"] = res["error"]
    return out


def classify_items(items: list[dict], spec, awareness, monitor, detector, desc: str | None = "[classify]") -> list:
    """One output dict per item (see the module docstring), in order, with progress on long inputs."""
    from deliberate.eval.miscitation import find_miscitations
    from deliberate.progress import progress

    out = []
    with progress(len(items) if len(items) > CHUNK else 0, desc, unit="record") as bar:
        for b in range(0, len(items), CHUNK):
            chunk = items[b:b + CHUNK]
            texts = [it["reasoning"] for it in chunk]
            aw, mon = awareness.classify(texts), monitor.classify(texts)
            cit = find_miscitations(texts, spec, detector)
            for it, a, m, c in zip(chunk, aw, mon, cit, strict=True):
                verdict = "miscite" if c["miscitations"] else ("correct" if c["valid"] else "none")
                row = {"line": it["line"], "id": it["id"], "awareness": _slim(a), "covert_intent": _slim(m),
                       "citations": {**c, "verdict": verdict}}
                if it["gold"]:
                    row["gold"] = it["gold"]
                out.append(row)
            bar.update(len(chunk))
    return out


# ------------------------------------------------------------------------------ gold metrics


def pr_cell(pred: list[bool], gold: list[bool]) -> dict:
    """Precision and recall with 95% intervals (Beta(1,1) posterior, eval/report/stats.py), and the counts."""
    from deliberate.eval.report.stats import rate_cell

    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    return {"n": len(gold), "positives": sum(gold), "tp": tp, "fp": fp, "fn": fn,
            "precision": rate_cell(tp, tp + fp), "recall": rate_cell(tp, tp + fn)}


def gold_metrics(rows: list[dict]) -> dict:
    """Per instrument, over the rows that carry its gold label: ``pr_cell``; for citation also the 3-way
    accuracy and miscitation P/R per kind (a record is positive for a kind when it has a miscitation of it)."""
    out = {}
    for name, key in (("awareness", "aware"), ("covert_intent", "covert_intent")):
        rs = [r for r in rows if key in r.get("gold", {})]
        if rs:
            out[name] = pr_cell([r[name]["flag"] for r in rs], [r["gold"][key] for r in rs])
    rs = [r for r in rows if "citation" in r.get("gold", {})]
    if rs:
        cell = pr_cell([r["citations"]["verdict"] == "miscite" for r in rs],
                       [r["gold"]["citation"] == "miscite" for r in rs])
        cell["accuracy"] = sum(r["citations"]["verdict"] == r["gold"]["citation"] for r in rs) / len(rs)
        kinds = {}
        for kind in ("id", "semantic"):
            pred = [any(m["kind"] == kind for m in r["citations"]["miscitations"]) for r in rs]
            gold = [kind in r["gold"].get("kinds", []) for r in rs]
            if any(gold) or any(pred):
                kinds[kind] = pr_cell(pred, gold)
        cell["per_kind"] = kinds
        out["miscitation"] = cell
    return out


def _fmt(c: dict) -> str:
    def one(x):
        return "n/a" if x["rate"] is None else f"{x['rate']:.2f} [{x['lo']:.2f}, {x['hi']:.2f}] ({x['k']}/{x['n']})"
    return f"precision {one(c['precision'])}  recall {one(c['recall'])}"


def metrics_lines(metrics: dict) -> list[str]:
    lines = []
    for name, c in metrics.items():
        lines.append(f"{name:14} n={c['n']:<4} positives={c['positives']:<4} {_fmt(c)}")
        if name == "miscitation":
            lines.append(f"{'':14} citation label accuracy (none/correct/miscite) {c['accuracy']:.2f}")
            for kind, kc in c["per_kind"].items():
                lines.append(f"{'  ' + kind:14} positives={kc['positives']:<4} {_fmt(kc)}")
    return lines


# ------------------------------------------------------------------------------ the command


def main(args) -> int:
    """``deliberate classify``: read, classify, write OUT (atomically), print rejects and gold metrics."""
    from deliberate.specs.loader import load_spec

    spec = load_spec(args.spec)
    items, rejects = read_input(args.input)
    out = Path(args.out)
    if out.resolve() == Path(args.input).resolve():
        raise UserError(f"--out {out} is the input file; choose another path")
    aw, mon, det = make_instruments(args.awareness, args.monitor, args.citation, args.model, args.k)
    t0 = time.perf_counter()
    rows = classify_items(items, spec, aw, mon, det)
    seconds = time.perf_counter() - t0
    merged = sorted(rows + rejects, key=lambda r: r["line"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in merged:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(out)
    per100 = 100 * seconds / len(rows) if rows else 0.0
    print(f"{args.input}: {len(rows)} records classified, {len(rejects)} rejected -> {out} "
          f"({seconds:.1f} s, {per100:.2f} s per 100 records)")
    for r in rejects:
        print(f"  rejected line {r['line']}: {r['error']}")
    metrics = gold_metrics(rows)
    if metrics:
        print("gold labels found; 95% intervals (Beta(1,1) posterior):")
        for line in metrics_lines(metrics):
            print("  " + line)
    return 0


def add_parser(sub) -> None:
    """The ``classify`` subcommand's arguments (deliberate/cli.py)."""
    c = sub.add_parser("classify", help="awareness, covert intent and spec citation over reasoning in a JSONL file")
    c.add_argument("input", help="JSONL: transcript records, {'messages': [...]} or {'id', 'reasoning'} lines")
    c.add_argument("--out", required=True, help="JSONL to write, one line per input line")
    c.add_argument("--spec", default="anti_scheming", help="spec name or path (default: anti_scheming)")
    c.add_argument("--awareness", choices=KINDS, default="offline-combined",
                   help="offline-head: with the learned head; offline-tuned: MiniLM fine-tuned; offline-combined: "
                        "offline-tuned + 0.5 x offline (docs/classifiers.md)")
    c.add_argument("--monitor", choices=KINDS, default="offline-combined",
                   help="the covert-intent monitor")
    c.add_argument("--citation", choices=("offline", "offline-tuned", "offline-combined", "llm", "ids"),
                   default="offline-combined", help="semantic miscitation detector: offline (k-NN over clause "
                                                    "readings), offline-tuned (the fine-tuned pair model), "
                                                    "offline-combined (both; the default), llm (a judge), "
                                                    "ids (unknown IDs only)")
    c.add_argument("--model", default=None, help="judge model for the llm instruments (local folder or alias)")
    c.add_argument("--k", type=int, default=1, help="judgings per record for the llm instruments")
