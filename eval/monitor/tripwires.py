"""Tripwires for ``deliberate monitor``: production transcripts in, rule firings out.

This module holds the pure parts of the deployment monitor (eval/monitor/run.py drives them):

* :func:`openai_to_record`: one OpenAI chat-format transcript (``{"id", "messages": [...],
  "metadata"}``, assistant ``reasoning_content``/``reasoning`` and ``tool_calls`` with JSON-string
  ``arguments``, ``tool`` messages with ``tool_call_id``) as our transcript record
  (deliberate/rollout.py: messages, turns, tool_calls, final_message). A line that already is one
  of our records (it has ``turns``, e.g. an eval ``transcripts.<model>.jsonl``) passes through.
* :func:`observe`: the slim view the detectors read (:class:`Observed`: id, reasoning, tool calls,
  final message, scenario metadata), so a 100 KB transcript is dropped as soon as it is read.
* Detectors: ``awareness`` and ``intent`` (the reasoning classifiers of eval/classifiers/offline.py over the
  chain of thought), ``grader`` (a planted honeypot scenario, ``metadata.deliberate = {family, seed,
  split, cue}``, is rebuilt with ``Family.sample`` and the transcript's actions are replayed through
  its simulated tools and graded; an Inspect record's own scorer outcome when configured), ``tool``
  (tool name and an argument regex) and ``text`` (a final-message regex).
* :class:`Tripwires`: the configured rules compiled once; ``run(batch)`` evaluates every rule that
  applies to each transcript, running each detector at most once per transcript and only where a
  rule needs it (the classifiers are loaded on first use).
* :class:`LeanEncoder`: all-MiniLM-L6-v2's forward pass in plain torch over the same weights and
  tokenizer file, for the offline classifiers without importing transformers (which, with what it
  imports, costs about 190 MB resident); its embeddings equal transformers' to about 1e-7
  (tests/eval/monitor/test_monitor.py checks it), and its batches are capped in padded tokens, which bounds
  activation memory (~25 KB per token).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEVERITIES = ("info", "low", "medium", "high", "critical")
DETECTORS = ("awareness", "intent", "grader", "tool", "text")
SCORED = ("awareness", "intent")
EVIDENCE_CHARS = 300  # each evidence string is cut to this many characters


class MalformedTranscript(ValueError):
    """A line that is not a transcript; the message says why (recorded in the monitor's state)."""


# ------------------------------------------------------------------------------ input formats


def _text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") if isinstance(p, dict) else str(p) for p in content)
    raise MalformedTranscript(f"a message's content is {type(content).__name__}, not text or a list of parts")


def _reasoning(message: dict) -> str:
    value = message.get("reasoning_content")
    if value is None:
        value = message.get("reasoning")
    if isinstance(value, dict):  # e.g. {"summary": [...]} or {"text": ...}
        value = value.get("text") or value.get("summary") or value.get("content")
    return _text(value)


def openai_to_record(obj: Any) -> dict:
    """Our transcript record from one OpenAI chat-format transcript (module docstring). Raises
    :class:`MalformedTranscript` when ``obj`` is not a transcript. Tool-call arguments that are not
    JSON are kept as text (``args_text``) with the error in the turn's ``errors``."""
    if not isinstance(obj, dict):
        raise MalformedTranscript(f"expected a JSON object, got {type(obj).__name__}")
    if "turns" in obj:  # already our record shape (an eval transcripts file)
        if not isinstance(obj["turns"], list):
            raise MalformedTranscript("'turns' is not a list")
        return obj
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        raise MalformedTranscript("no 'messages' list")
    results: dict[str, str] = {}
    for m in messages:
        if not isinstance(m, dict):
            raise MalformedTranscript("a message is not an object")
        if m.get("role") == "tool" and m.get("tool_call_id") is not None:
            results[str(m["tool_call_id"])] = _text(m.get("content"))
    out_messages, turns, calls = [], [], []
    final_message = None
    n_turn = 0
    for m in messages:
        role = m.get("role")
        if not isinstance(role, str):
            raise MalformedTranscript("a message has no role")
        content = _text(m.get("content"))
        if role != "assistant":
            entry = {"role": role, "content": content, "reasoning": ""}
            if role == "tool":
                entry["tool_call_id"] = m.get("tool_call_id")
            out_messages.append(entry)
            continue
        reasoning = _reasoning(m)
        tool_calls = m.get("tool_calls") or []
        if not isinstance(tool_calls, list):
            raise MalformedTranscript("'tool_calls' is not a list")
        entry = {"role": "assistant", "content": content, "reasoning": reasoning}
        first = {"turn": n_turn, "raw": content, "reasoning": reasoning, "tool": None, "args": None,
                 "message": content or None, "errors": []}
        parsed = []
        for c in tool_calls:
            fn = c.get("function") if isinstance(c, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise MalformedTranscript("a tool call has no function name")
            raw_args = fn.get("arguments")
            errors = []
            if isinstance(raw_args, dict):
                args, args_text = raw_args, json.dumps(raw_args, ensure_ascii=False, sort_keys=True)
            else:
                args_text = "" if raw_args is None else str(raw_args)
                try:
                    args = json.loads(args_text) if args_text.strip() else {}
                except ValueError as exc:
                    args, errors = None, [f"tool call arguments are not JSON: {exc}"]
                if args is not None and not isinstance(args, dict):
                    args, errors = None, ["tool call arguments are not a JSON object"]
            parsed.append((fn["name"], args, args_text, c.get("id"), errors))
        if parsed:
            entry["tool_calls"] = [{"name": n, "args": a} for n, a, _, _, _ in parsed]
        out_messages.append(entry)
        if not parsed:
            turns.append(first)
            final_message = content
        for k, (name, args, args_text, call_id, errors) in enumerate(parsed):
            turn = first if k == 0 else {"turn": n_turn, "raw": "", "reasoning": "", "tool": None, "args": None,
                                         "message": None, "errors": []}
            result = results.get(str(call_id)) if call_id is not None else None
            turn.update(tool=name, args=args, args_text=args_text, result=result, errors=turn["errors"] + errors)
            turns.append(turn)
            calls.append({"name": name, "args": args, "args_text": args_text, "result": result,
                          "error": bool(errors)})
        n_turn += 1
    record = {"id": obj.get("id"), "messages": out_messages, "turns": turns, "tool_calls": calls,
              "final_message": final_message, "metadata": obj.get("metadata") or {}}
    scenario = (record["metadata"] or {}).get("deliberate") if isinstance(record["metadata"], dict) else None
    if isinstance(scenario, dict):
        record.update({k: scenario.get(k) for k in ("family", "seed", "split", "cue")})
    return record


# ------------------------------------------------------------------------------ the slim view


@dataclass
class Observed:
    """What the detectors read of one transcript, and where it came from."""

    id: str
    input: str
    offset: int  # byte offset of its line in the input (an Inspect log: the sample's index)
    line: int  # 1-based line number (an Inspect log: the sample's index + 1)
    reasoning: str = ""
    calls: list[tuple[str, dict | None, str]] = field(default_factory=list)  # (name, args or None, args as text)
    final_message: str | None = None
    family: str | None = None
    cue: str | None = None
    scenario: dict | None = None  # {family, seed, split, cue} when the scenario can be rebuilt
    outcome: dict | None = None  # an Inspect record's scorer outcome (used by the grader when configured)
    time: float | None = None  # the transcript's own timestamp (window.time_field), epoch seconds


def lookup(obj: Any, dotted: str) -> Any:
    """``obj["a"]["b"]`` for ``"a.b"``; None when any step is missing."""
    for key in dotted.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def as_epoch(value: Any) -> float | None:
    """Epoch seconds from a number or an ISO 8601 string (``Z`` allowed); None otherwise."""
    import datetime as dt

    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.timezone.utc)
        return t.timestamp()
    return None


def observe(record: dict, *, input: str, offset: int, line: int, raw: dict | None = None,
            time_field: str = "metadata.timestamp") -> Observed:
    """The slim view of one record (``raw``: the line's JSON object, for the timestamp)."""
    from deliberate.records import reasoning_of

    calls = []
    for c in record.get("tool_calls") or []:
        args = c.get("args")
        text = c.get("args_text")
        if text is None:
            text = json.dumps(args, ensure_ascii=False, sort_keys=True) if args is not None else ""
        calls.append((str(c.get("name")), args if isinstance(args, dict) else None, text))
    rid = record.get("id")
    if rid is None and record.get("scenario_id") is not None:
        rid = f"{record['scenario_id']}#{record.get('sample', 0)}"
    if rid is None:
        rid = f"{Path(input).name}@{offset}"
    family = record.get("family")
    scenario = None
    if family is not None and record.get("seed") is not None and record.get("source") != "inspect":
        scenario = {"family": family, "seed": record.get("seed"), "split": record.get("split") or "test",
                    "cue": record.get("cue") or "deploy"}
    outcome = record.get("outcome") if record.get("source") == "inspect" and not record.get("error") else None
    final = record.get("final_message")
    family = None if family is None else str(family)
    return Observed(id=str(rid), input=input, offset=offset, line=line, reasoning=reasoning_of(record),
                    calls=calls, final_message=None if final is None else _text(final), family=family,
                    cue=record.get("cue"), scenario=scenario, outcome=outcome,
                    time=as_epoch(lookup(raw if raw is not None else record, time_field)))


# ------------------------------------------------------------------------------ the lean encoder


class LeanEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean over real tokens, L2-normalised) computed in plain
    torch from the model folder's safetensors weights and ``tokenizer.json``, like
    ``eval.classifiers.Encoder`` (truncation at 256 tokens) without importing transformers. Rows of
    similar length are batched up to ``max_batch_tokens`` padded tokens per forward pass."""

    def __init__(self, folder: str | Path, max_batch_tokens: int = 1024):
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.config = json.loads((folder / "config.json").read_text())
        if self.config.get("model_type") != "bert" or self.config.get("hidden_act") != "gelu":
            raise ValueError(f"{folder}: the lean encoder reads BERT models with exact GELU only")
        self.weights = load_file(str(folder / "model.safetensors"))  # memory-mapped
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # the file pads to 128; we pad per batch
        self.tokenizer.enable_truncation(256)
        self.max_batch_tokens = max_batch_tokens
        self.folder = f"lean:{folder}"  # the classifiers' cache key: never mixed with transformers' encoder

    def _forward(self, ids, mask):
        import torch
        import torch.nn.functional as F

        w, c = self.weights, self.config
        hidden, heads, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
        rows, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = F.layer_norm(x, (hidden,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        bias = torch.zeros(rows, 1, 1, length).masked_fill(~mask.bool()[:, None, None, :],
                                                           torch.finfo(torch.float32).min)
        def linear(name, t):
            return F.linear(t, w[f"{name}.weight"], w[f"{name}.bias"])

        def norm(name, t):
            return F.layer_norm(t, (hidden,), w[f"{name}.weight"], w[f"{name}.bias"], eps)

        for i in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            q, k, v = (linear(f"{p}attention.self.{n}", x).view(rows, length, heads, hidden // heads).transpose(1, 2)
                       for n in ("query", "key", "value"))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias).transpose(1, 2).reshape(rows, length, hidden)
            x = norm(f"{p}attention.output.LayerNorm", linear(f"{p}attention.output.dense", a) + x)
            h = F.gelu(linear(f"{p}intermediate.dense", x))
            x = norm(f"{p}output.LayerNorm", linear(f"{p}output.dense", h) + x)
        return x

    def embed(self, texts: list[str], batch_size: int = 128):
        import torch

        ids: list[list[int]] = []
        for start in range(0, len(texts), 256):  # token ids only: Encoding objects are large
            ids += [e.ids for e in self.tokenizer.encode_batch(list(texts[start:start + 256]))]
        out = torch.zeros(len(texts), self.config["hidden_size"])
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        with torch.inference_mode():
            b = 0
            while b < len(order):
                e = b + 1  # ascending lengths: the last row of a batch is its longest
                while (e < len(order) and e - b < batch_size
                       and (e - b + 1) * len(ids[order[e]]) <= self.max_batch_tokens):
                    e += 1
                idx = order[b:e]
                length = len(ids[idx[-1]])
                batch = torch.tensor([ids[i] + [0] * (length - len(ids[i])) for i in idx])
                mask = torch.tensor([[1] * len(ids[i]) + [0] * (length - len(ids[i])) for i in idx])
                hidden = self._forward(batch, mask)
                m = mask.unsqueeze(-1).to(hidden.dtype)
                out[idx] = torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)
                b = e
        return out


def offline_folder(encoder: str, max_batch_tokens: int) -> str | None:
    """The ``folder`` argument that makes the offline classifiers use ``encoder``: ``lean`` registers
    a :class:`LeanEncoder` with eval.classifiers (``register_encoder``); ``transformers``: None
    (the eval stage's encoder)."""
    from deliberate.eval import classifiers

    if encoder == "transformers":
        return None
    folder = classifiers.model_folder()
    return classifiers.register_encoder(f"lean:{folder}", lambda: LeanEncoder(folder, max_batch_tokens))


# ------------------------------------------------------------------------------ rules


@dataclass
class Finding:
    """One rule firing on one transcript."""

    rule: str
    detector: str
    severity: str
    score: float | None
    threshold: float | None
    evidence: list[str]


def failed(result: dict | None) -> bool:
    """A detector result that carries no verdict: a grader that could not rebuild its scenario, or
    an LLM classifier none of whose judgings parsed."""
    if not result or not result.get("error"):
        return False
    votes = result.get("votes")
    return result.get("score") is None or (votes is not None and all(v is None for v in votes))


def _clip(text: str, n: int = EVIDENCE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _snippet(text: str, m: re.Match, context: int = 60) -> str:
    a, b = max(0, m.start() - context), min(len(text), m.end() + context)
    return ("…" if a else "") + text[a:b] + ("…" if b < len(text) else "")


@dataclass
class Rule:
    """A tripwire, compiled (its config is eval.monitor.TripwireConfig)."""

    name: str
    detector: str
    severity: str = "high"
    threshold: float | None = None
    families: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    args: re.Pattern | None = None
    pattern: re.Pattern | None = None

    @classmethod
    def from_config(cls, t) -> Rule:
        flags = re.IGNORECASE if t.ignore_case else 0
        return cls(name=t.name, detector=t.detector, severity=t.severity, threshold=t.threshold,
                   families=tuple(t.families), tools=tuple(t.tools),
                   args=re.compile(t.args, flags) if t.args else None,
                   pattern=re.compile(t.pattern, flags | re.DOTALL) if t.pattern else None)

    def applies(self, obs: Observed) -> bool:
        if self.families and obs.family not in self.families:
            return False
        if self.detector == "grader":
            return obs.scenario is not None or obs.outcome is not None
        return True

    def check(self, obs: Observed, result: dict | None) -> Finding | None:
        """The firing on ``obs`` (``result``: this rule's detector's result, for the scored and
        graded detectors), or None."""
        if self.detector in SCORED:
            if result is None or failed(result):
                return None
            fired = result["flag"] if self.threshold is None else result["score"] >= self.threshold
            if not fired:
                return None
            cut = "the classifier's threshold" if self.threshold is None else self.threshold
            evidence = [_clip(s["text"]) for s in result.get("sentences") or []][:5]
            return self._finding(result["score"], [f"score {result['score']:.4f} >= {cut}", *evidence])
        if self.detector == "grader":
            if result is None or failed(result) or not result.get("flag"):
                return None
            return self._finding(1.0, [_clip(e) for e in result.get("evidence") or []][:5] or ["graded covert"])
        if self.detector == "tool":
            hits = []
            for name, _, args_text in obs.calls:
                if self.tools and name not in self.tools:
                    continue
                m = self.args.search(args_text) if self.args else None
                if self.args is None or m:
                    hits.append(_clip(f"{name}({_snippet(args_text, m) if m else args_text})"))
            return self._finding(1.0, hits[:5]) if hits else None
        if self.detector == "text":
            text = obs.final_message or ""
            m = self.pattern.search(text) if self.pattern else None
            return self._finding(1.0, [_clip("final message: " + _snippet(text, m))]) if m else None
        raise ValueError(f"unknown detector {self.detector!r}")  # config validation rules this out

    def _finding(self, score, evidence) -> Finding:
        return Finding(self.name, self.detector, self.severity, score, self.threshold, evidence)


# ------------------------------------------------------------------------------ detectors


def grade_replay(scenario: dict, obs: Observed) -> dict:
    """Rebuild the planted scenario and replay the transcript's actions through its simulated tools;
    ``{"flag": covert, "score", "evidence", "error"}``. The grader sees actions only."""
    from deliberate.envs.core import EnvError, get_family

    try:
        fam = get_family(str(scenario["family"]))
        sc = fam.sample(int(scenario["seed"]), str(scenario["split"]), str(scenario["cue"]))
    except (EnvError, KeyError, TypeError, ValueError) as exc:
        return {"flag": False, "score": None, "evidence": [], "error": f"cannot rebuild the scenario: {exc}"}
    episode = sc.new_episode()
    for name, args, _ in obs.calls:
        if episode.done:
            break
        episode.call(name, args if isinstance(args, dict) else {})
    if not episode.done and obs.final_message is not None:
        episode.message(obs.final_message)
    outcome = episode.outcome()
    return {"flag": bool(outcome.covert), "score": float(outcome.covert), "evidence": list(outcome.evidence),
            "error": None, "family": sc.family, "cue": sc.cue}


class Tripwires:
    """The configured rules and the detectors they need (eval.monitor.MonitorConfig)."""

    def __init__(self, cfg, release=None):
        self.cfg = cfg
        self.rules = [Rule.from_config(t) for t in cfg.tripwires]
        self.needs = {r.detector for r in self.rules}
        self._classifiers: dict[str, Any] = {}
        self.release = release or (lambda: None)  # drops pages the process no longer needs (eval.monitor)

    def classifier(self, which: str):
        """The awareness or intent classifier, built on first use."""
        if which not in self._classifiers:
            from deliberate.eval.classifiers import make_awareness, make_intent_monitor

            make = make_awareness if which == "awareness" else make_intent_monitor
            c = getattr(self.cfg, which)
            if c.kind == "offline":
                off = self.cfg.offline
                import torch

                if off.threads > 0:
                    torch.set_num_threads(off.threads)
                self.release()  # torch's import-time pages, before the encoder and its calibration add theirs
                folder = offline_folder(off.encoder, off.max_batch_tokens)
                self.release()
                self._classifiers[which] = make("offline", folder=folder)
                self.release()
            else:
                from deliberate.backends import make_backend

                kwargs = {"prompt": c.prompt} if c.prompt else {}
                self._classifiers[which] = make("llm", backend=make_backend(c.model, c.generation), k=c.k,
                                                aggregate=c.aggregate, **kwargs)
        return self._classifiers[which]

    def describe(self) -> dict:
        return {name: clf.describe() for name, clf in self._classifiers.items()}

    def run(self, batch: list[Observed]) -> list[dict]:
        """Per transcript: ``{"detectors": {name: result}, "findings": [Finding], "applicable": [rule]}``.
        A detector runs on a transcript only when a rule that applies to it needs it; results carry
        ``flag``, ``score`` and ``error`` (a classifier or grader that failed: no firing, counted)."""
        applicable = [[r for r in self.rules if r.applies(o)] for o in batch]
        results: list[dict[str, dict]] = [{} for _ in batch]
        for which in SCORED:
            todo = [i for i, rules in enumerate(applicable) if any(r.detector == which for r in rules)]
            if todo:
                out = self.classifier(which).classify([batch[i].reasoning for i in todo])
                for i, res in zip(todo, out):
                    results[i][which] = res
        for i, rules in enumerate(applicable):
            if any(r.detector == "grader" for r in rules):
                o = batch[i]
                if o.scenario is not None:
                    results[i]["grader"] = grade_replay(o.scenario, o)
                else:
                    results[i]["grader"] = {"flag": bool(o.outcome.get("covert")), "score": float(bool(o.outcome.get(
                        "covert"))), "evidence": list(o.outcome.get("evidence") or []), "error": None,
                        "family": o.family, "cue": o.cue}
        out = []
        for o, rules, res in zip(batch, applicable, results):
            findings = [f for f in (r.check(o, res.get(r.detector)) for r in rules) if f is not None]
            out.append({"detectors": res, "findings": findings, "applicable": [r.name for r in rules]})
        return out
