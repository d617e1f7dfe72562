"""Reasoning classifiers: evaluation awareness and covert intent, read from the chain of thought only.

    clf = make_awareness("offline")       # or make_intent_monitor("llm", backend=b, k=3)
    [res] = clf.classify([reasoning])     # {"flag", "score", "sentences": [{"text", "start", "end", "score"}], "error"}

:mod:`.base` holds the interface and the factories, :mod:`.offline` the MiniLM classifiers (their text
in ``exemplars/*.jsonl``), :mod:`.llm` the judge-model ones. The manual is docs/classifiers.md.
"""

from deliberate.eval.classifiers.base import (
    Classifier,
    ClassifierError,
    classify_records,
    make_awareness,
    make_intent_monitor,
    precision_recall,
    prefix_before_first,
    split_sentences,
)
from deliberate.eval.classifiers.llm import LLMAwareness, LLMClassifier, LLMIntentMonitor, locate, parse_verdict
from deliberate.eval.classifiers.offline import _ENCODERS as _ENCODERS  # the encoder registry, which tests inspect
from deliberate.eval.classifiers.offline import (
    AWARENESS_EXEMPLARS,
    INTENT_DEVELOPMENT,
    INTENT_EXEMPLARS,
    MODEL_PACKAGE,
    Encoder,
    Exemplars,
    OfflineAwareness,
    OfflineClassifier,
    OfflineIntentMonitor,
    best_threshold,
    clauses,
    covert_cues,
    get_encoder,
    load_exemplars,
    model_folder,
    read_exemplars,
    register_encoder,
)

__all__ = [
    "AWARENESS_EXEMPLARS", "INTENT_DEVELOPMENT", "INTENT_EXEMPLARS", "MODEL_PACKAGE", "Classifier", "ClassifierError",
    "Encoder", "Exemplars", "LLMAwareness", "LLMClassifier", "LLMIntentMonitor", "OfflineAwareness",
    "OfflineClassifier", "OfflineIntentMonitor", "best_threshold", "clauses", "classify_records", "covert_cues",
    "get_encoder", "load_exemplars", "locate", "make_awareness", "make_intent_monitor", "model_folder",
    "parse_verdict", "precision_recall", "prefix_before_first", "read_exemplars", "register_encoder",
    "split_sentences",
]
