"""The interface every reasoning classifier shares: :class:`Classifier`, its result format, the
sentence splitting that offsets index into, the factories and the precision/recall measure.
The implementations are in :mod:`.offline` (MiniLM exemplars) and :mod:`.llm` (a judge model);
the manual is docs/classifiers.md.
"""

from __future__ import annotations

import abc
import re

from deliberate.errors import UserError
from deliberate.records import reasoning_of


class ClassifierError(UserError, RuntimeError):
    """The embedding model is missing, or a classifier is misconfigured."""


class Classifier(abc.ABC):
    """``classify(reasonings) -> [{"flag", "score", "sentences", "error"}]``, one per reasoning.
    ``sentences`` are the flagged sentences in text order, ``{"text", "start", "end", "score"}``
    with character offsets into the reasoning."""

    name = "classifier"
    kind = "?"

    @abc.abstractmethod
    def classify(self, reasonings: list[str]) -> list[dict]:
        """One result dict per reasoning text, in order."""

    def describe(self) -> dict:
        return {"name": self.name, "kind": self.kind}


# ------------------------------------------------------------------------------ sentences


_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "approx", "cf", "fig", "no", "al", "incl"}
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` into ``text``, in order, whitespace trimmed. A sentence
    ends at ``.``, ``!`` or ``?`` followed by whitespace (not after e.g., i.e., etc., vs. ...)
    and at every line break; so each bullet or line of a list is its own sentence. Decimals
    and file names ("3.5", "config.yaml") do not split."""
    spans: list[tuple[int, int]] = []

    def add(a: int, b: int) -> None:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))

    for line in re.finditer(r"[^\n]+", text or ""):
        base, body = line.start(), line.group()
        start = 0
        for m in _SENTENCE_END.finditer(body):
            before = re.search(r"(\S+)$", body[:m.start()])
            if m.group() == "." and before and before.group(1).lower().lstrip("(\"'") in _ABBREVIATIONS:
                continue
            add(base + start, base + m.end())
            start = m.end()
        add(base + start, base + len(body))
    return spans


def prefix_before_first(reasoning: str, result: dict) -> str | None:
    """The reasoning cut just before the first flagged sentence of ``result`` (for
    counterfactual resampling), or None when nothing was flagged or located."""
    located = [s for s in result.get("sentences", []) if isinstance(s.get("start"), int) and s["start"] >= 0]
    if not result.get("flag") or not located:
        return None
    return reasoning[:min(s["start"] for s in located)]


def precision_recall(pred: list[bool], gold: list[bool]) -> tuple[float, float]:
    """Precision and recall of ``pred`` against ``gold`` (positive = True). An undefined
    ratio (nothing predicted positive, or no gold positive) is 0.0, as sklearn's
    ``zero_division=0``."""
    if len(pred) != len(gold):
        raise ValueError(f"pred has {len(pred)} items, gold {len(gold)}")
    tp = sum(1 for p, g in zip(pred, gold, strict=True) if p and g)
    fp = sum(1 for p, g in zip(pred, gold, strict=True) if p and not g)
    fn = sum(1 for p, g in zip(pred, gold, strict=True) if not p and g)
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


# ------------------------------------------------------------------------------ factories


KINDS = ("offline", "offline-head", "offline-tuned", "offline-combined", "llm")


def _make(kind: str, offline, tuned, llm, backend, k: int, **kwargs) -> Classifier:
    if kind.startswith("offline") and kind in KINDS:  # docs/classifiers.md
        if backend is not None:
            raise ClassifierError("an offline classifier takes no backend")
        if kind == "offline-tuned":  # the fine-tuned encoder (tuned.py)
            return tuned(**kwargs)
        if kind == "offline-combined":  # the k-NN + prior score plus the fine-tuned one (tuned.py)
            from deliberate.eval.classifiers.tuned import CombinedClassifier

            return CombinedClassifier(offline(**kwargs), tuned())
        return offline(**({"use_head": True} if kind == "offline-head" else {}), **kwargs)
    if kind == "llm":
        return llm(backend, k, **kwargs)
    raise ClassifierError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")


# The implementations import this module, so the factories import them when called.


def make_awareness(kind: str = "offline", backend=None, k: int = 1, **kwargs) -> Classifier:
    """The evaluation-awareness classifier: ``offline`` (MiniLM exemplars), ``offline-head`` (the
    same with the learned logistic head), ``offline-tuned`` (MiniLM fine-tuned with LoRA),
    ``offline-combined`` (the sum of the ``offline`` and ``offline-tuned`` scores) or ``llm`` (a judge model
    behind ``backend``, asked ``k`` times). Extra keyword arguments go to the class (the k-NN one for
    ``offline-combined``)."""
    from deliberate.eval.classifiers.llm import LLMAwareness
    from deliberate.eval.classifiers.offline import OfflineAwareness
    from deliberate.eval.classifiers.tuned import TunedAwareness

    return _make(kind, OfflineAwareness, TunedAwareness, LLMAwareness, backend, k, **kwargs)


def make_intent_monitor(kind: str = "offline", backend=None, k: int = 1, **kwargs) -> Classifier:
    """The covert-intent reasoning monitor: the kinds of :func:`make_awareness`."""
    from deliberate.eval.classifiers.llm import LLMIntentMonitor
    from deliberate.eval.classifiers.offline import OfflineIntentMonitor
    from deliberate.eval.classifiers.tuned import TunedIntentMonitor

    return _make(kind, OfflineIntentMonitor, TunedIntentMonitor, LLMIntentMonitor, backend, k, **kwargs)


def classify_records(classifier: Classifier, records: list[dict]) -> list[dict]:
    """``classify`` over transcript records (eval/evaluate.py), reading only their reasoning
    (``reasoning_of(record)``: the turns' reasoning joined with newlines, which offsets index into)."""
    return classifier.classify([reasoning_of(r) for r in records])
