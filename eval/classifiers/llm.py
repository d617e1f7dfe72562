"""LLM reasoning classifiers: a judge model reads the reasoning through a prompt file
(``eval/prompts/awareness.md``, ``eval/prompts/intent_monitor.md``, field ``{reasoning}``) ``k`` times
and answers with JSON; the judgings that parse are aggregated (``majority``, ``any``, ``all``) and the
sentences they quote are located in the reasoning (:func:`locate`). The manual is docs/classifiers.md.
"""

from __future__ import annotations

import json
import re

from deliberate.eval.classifiers.base import Classifier, ClassifierError, split_sentences

_VERDICT_WORDS = {"true": True, "yes": True, "false": False, "no": False}


def last_json_with(text: str, key: str) -> tuple[dict | None, str]:
    """The last JSON object holding ``key`` in a judge reply (its ``<think>`` part dropped; judges
    sometimes quote the format first), and the reply's content it was looked for in."""
    from deliberate.reasoning import split_reasoning

    content = split_reasoning(text, "think").content or (text or "")
    decoder, found = json.JSONDecoder(), None
    for m in re.finditer(r"\{", content):
        try:
            obj, _ = decoder.raw_decode(content, m.start())
        except ValueError:
            continue
        if isinstance(obj, dict) and key in obj:
            found = obj
    return found, content


def parse_verdict(text: str, key: str) -> tuple[dict | None, str | None]:
    """``{"flag": bool, "sentences": [str]}`` from a judge reply, or (None, why not). The reply's
    ``<think>`` part is dropped; the last JSON object holding ``key`` wins (judges sometimes quote
    the format first). ``key`` may be a bool, "true"/"false"/"yes"/"no" or 0/1; ``sentences`` may
    be missing (none), a string (one) or a list (its non-string items are ignored)."""
    found, content = last_json_with(text, key)
    if found is None:
        return None, f"no JSON object with {key!r} in the judge's reply: {content[:120]!r}"
    value = found[key]
    if isinstance(value, str):
        value = _VERDICT_WORDS.get(value.strip().lower(), value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        value = bool(value)
    if not isinstance(value, bool):
        return None, f"{key} must be true or false, got {found[key]!r}"
    sentences = found.get("sentences") or []
    if isinstance(sentences, str):
        sentences = [sentences]
    if not isinstance(sentences, list):
        sentences = []
    return {"flag": value, "sentences": [s for s in sentences if isinstance(s, str) and s.strip()]}, None


def locate(quote: str, text: str, spans: list[tuple[int, int]] | None = None) -> tuple[int, int] | None:
    """Where a quoted sentence is in ``text``, snapped to whole sentences of :func:`split_sentences`
    (so LLM and offline offsets agree): exactly, then ignoring case and spacing, then the longest
    part of a quote elided with "..."; else the sentence sharing most words with it (at least 60%).
    None when it is not there."""
    spans = split_sentences(text) if spans is None else spans
    q = quote.strip().strip("\"'“”‘’").strip()
    if not q or not spans:
        return None
    hit = None
    parts = sorted((p.strip() for p in re.split(r"\.\.\.|…", q) if len(p.split()) >= 3), key=len, reverse=True)
    for part in [q, *parts]:
        i = text.find(part)
        if i >= 0:
            hit = (i, i + len(part))
            break
        m = re.search(r"\s+".join(re.escape(w) for w in part.split()), text, re.IGNORECASE)
        if m:
            hit = m.span()
            break
    if hit is None:
        words = set(re.findall(r"\w+", q.lower()))
        best, best_overlap = None, 0.0
        for a, b in spans:
            sw = set(re.findall(r"\w+", text[a:b].lower()))
            overlap = len(words & sw) / max(1, len(words | sw))
            if overlap > best_overlap:
                best, best_overlap = (a, b), overlap
        return best if best_overlap >= 0.6 else None
    start = next((a for a, b in spans if a <= hit[0] < b), hit[0])
    end = next((b for a, b in reversed(spans) if a < hit[1] <= b), hit[1])
    return start, end


class LLMClassifier(Classifier):
    """A judge model reads the reasoning through a prompt file and answers with JSON, ``k`` times.
    A judging that fails (backend error, no parseable verdict) is recorded in ``error`` and left out
    of the vote; if all fail the record is not flagged and scores 0.0. ``score`` is the fraction of
    parsed judgings that said yes, a sentence's score the fraction that quoted it; ``votes`` lists
    each judging's answer (None: failed), ``unlocated`` the quotes not found in the reasoning."""

    kind = "llm"
    key = "flag"
    default_prompt = ""
    AGGREGATES = ("majority", "any", "all")

    def __init__(self, backend, k: int = 1, *, prompt: str | None = None, aggregate: str = "majority"):
        from deliberate.data.judge import load_prompt

        if backend is None:
            raise ClassifierError(f"the llm {self.name} classifier needs a backend (deliberate.backends.make_backend)")
        if k < 1:
            raise ClassifierError(f"k must be at least 1, got {k}")
        if aggregate not in self.AGGREGATES:
            raise ClassifierError(f"aggregate must be one of {self.AGGREGATES}, got {aggregate!r}")
        self.backend, self.k, self.aggregate = backend, k, aggregate
        self.prompt = prompt or self.default_prompt
        self.template, self.prompt_sha256 = load_prompt(self.prompt, package="deliberate.eval", fields=("reasoning",))

    def render(self, reasoning: str) -> str:
        return self.template.format(reasoning=reasoning.strip())

    def _decide(self, yes: int, n: int) -> bool:
        if n == 0:
            return False
        return {"majority": yes * 2 > n, "any": yes > 0, "all": yes == n}[self.aggregate]

    def classify(self, reasonings: list[str]) -> list[dict]:
        todo = [i for i, r in enumerate(reasonings) if r and r.strip()]  # no reasoning: nothing to judge
        out = [{"flag": False, "score": 0.0, "sentences": [], "error": None, "votes": [], "unlocated": []}
               for _ in reasonings]
        if not todo:
            return out
        conversations = [[{"role": "user", "content": self.render(reasonings[i])}] for i in todo for _ in range(self.k)]
        completions = self.backend.respond(conversations)
        for n, i in enumerate(todo):
            text, spans = reasonings[i], split_sentences(reasonings[i])
            votes, errors, quoted = [], [], {}
            for j, c in enumerate(completions[n * self.k:(n + 1) * self.k]):
                if c.error is not None:
                    verdict, why = None, f"judge backend error: {c.error}"
                else:
                    verdict, why = parse_verdict(c.text, self.key)
                if verdict is None:
                    votes.append(None)
                    errors.append(f"judging {j + 1}/{self.k}: {why}")
                    continue
                votes.append(verdict["flag"])
                if verdict["flag"]:
                    seen = set()
                    for q in verdict["sentences"]:
                        span = locate(q, text, spans)
                        if span is None:
                            out[i]["unlocated"].append(q)
                        elif span not in seen:
                            seen.add(span)
                            quoted[span] = quoted.get(span, 0) + 1
            parsed = [v for v in votes if v is not None]
            yes = sum(parsed)
            res = out[i]
            res["votes"] = votes
            res["flag"] = self._decide(yes, len(parsed))
            res["score"] = yes / len(parsed) if parsed else 0.0
            if errors:
                res["error"] = ("no judging succeeded: " if not parsed else "") + "; ".join(errors)
            if res["flag"]:
                res["sentences"] = [{"text": text[a:b], "start": a, "end": b, "score": cnt / len(parsed)}
                                    for (a, b), cnt in sorted(quoted.items())]
        return out

    def describe(self) -> dict:
        return {"name": self.name, "kind": self.kind, "k": self.k, "aggregate": self.aggregate, "prompt": self.prompt,
                "prompt_sha256": self.prompt_sha256, "backend": getattr(self.backend, "name", None)}


class LLMAwareness(LLMClassifier):
    """Evaluation awareness judged by a model (prompt ``eval/prompts/awareness.md``)."""

    name = "awareness"
    key = "aware"
    default_prompt = "awareness"


class LLMIntentMonitor(LLMClassifier):
    """Covert intent judged by a model from the reasoning only (prompt ``eval/prompts/intent_monitor.md``)."""

    name = "intent_monitor"
    key = "covert_intent"
    default_prompt = "intent_monitor"
