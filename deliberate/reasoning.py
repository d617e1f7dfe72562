"""Reasoning parsers per model family: split raw model output into (reasoning, visible content).

``think`` (Qwen3, DeepSeek-R1), ``harmony`` (gpt-oss), ``reasoning_content`` (OpenAI-compatible
servers), ``plain``, and ``auto`` (``resolve_parser`` picks one from the model name and template).
Model output never makes a parser raise: oddities go to ``errors``, unreadable output comes back
with ``failed=True``. Each format's rules, with examples: docs/reasoning-formats.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

PARSERS = ("think", "harmony", "reasoning_content", "plain")

UNTERMINATED_THINK = "unterminated <think> (output truncated?)"
NO_HARMONY = "no harmony channels found"

_THINK_TAG = re.compile(r"<(/?)think>")
_HARMONY_TOKEN = re.compile(r"<\|(start|end|message|channel|constrain|return|call|endoftext|startoftext)\|>")
_HARMONY_HINT = re.compile(r"gpt[-_ .]?oss|harmony", re.IGNORECASE)
_THINK_HINT = re.compile(r"qwen[-_ .]?3|deepseek[-_ .]?r1|r1[-_ .]?distill|qwq", re.IGNORECASE)
_CHANNELS = ("analysis", "commentary", "final")
_CLOSERS = ("end", "return", "call", "endoftext")


@dataclass(frozen=True)
class ReasoningSplit:
    raw: str  # the text as received
    reasoning: str  # the chain of thought ("" if none)
    content: str  # the visible answer text, reasoning and format tokens removed
    tool_calls: tuple[dict, ...] = ()  # calls in the format's own syntax: {"name": str, "arguments": dict | str}
    errors: tuple[str, ...] = ()  # human-readable problems (truncation, malformed channels, ...)
    failed: bool = False  # True when nothing could be parsed (then content == raw.strip(), reasoning "")


def resolve_parser(name: str, model_hint: str = "", chat_template: str = "") -> str:
    """Turn a configured parser name into a concrete one.

    ``auto`` becomes ``harmony`` when the template or hint shows harmony tokens (``<|channel|>``)
    or the hint names gpt-oss; ``think`` when the template mentions ``<think>`` or the hint names
    qwen3 / deepseek-r1 / r1-distill / qwq; otherwise ``think``, the lenient default (without tags
    it degrades to plain content). A concrete name is returned as is (case and surrounding blanks
    normalised); an unknown name raises ValueError naming the known parsers.
    """
    key = name.strip().lower() if isinstance(name, str) else None
    if key in PARSERS:
        return key
    if key != "auto":
        raise ValueError(f"unknown reasoning parser {name!r}; known: 'auto', " + ", ".join(map(repr, PARSERS)))
    hint = model_hint if isinstance(model_hint, str) else ""
    template = chat_template if isinstance(chat_template, str) else ""
    if "<|channel|>" in template or "<|channel|>" in hint or _HARMONY_HINT.search(hint):
        return "harmony"
    if "<think>" in template or _THINK_HINT.search(hint):
        return "think"
    return "think"


def split_reasoning(text: str | None, parser: str, *, reasoning_field: str | None = None) -> ReasoningSplit:
    """Split ``text`` with ``parser`` (one of PARSERS, or ``auto``: harmony if the text has
    ``<|channel|>``, else think). Raises ValueError only for an unknown parser name, never for
    model output."""
    if isinstance(parser, str) and parser.strip().lower() == "auto":
        parser = resolve_parser("auto", chat_template=text if isinstance(text, str) else "")
    else:
        parser = resolve_parser(parser)
    if parser == "reasoning_content":
        return _split_reasoning_content(text, reasoning_field)
    if not isinstance(text, str):
        return _not_text(text)
    if parser == "think":
        return _split_think(text)
    if parser == "harmony":
        return _split_harmony(text)
    return ReasoningSplit(raw=text, reasoning="", content=text.strip())


# --- helpers ---------------------------------------------------------------------------------------------------


def _dedupe(errors: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(errors))


def _join(parts: list[str]) -> str:
    return "\n".join(p for p in (s.strip() for s in parts) if p)


def _short(s: str, n: int = 40) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _not_text(text: object) -> ReasoningSplit:
    try:
        raw = "" if text is None else str(text)
    except Exception:  # a hostile __str__ must not make parsing raise
        raw = ""
    error = "no output (None)" if text is None else f"output is {type(text).__name__}, not str"
    return ReasoningSplit(raw=raw, reasoning="", content=raw.strip(), errors=(error,), failed=True)


# --- think -----------------------------------------------------------------------------------------------------


def _split_think(raw: str) -> ReasoningSplit:
    tags = list(_THINK_TAG.finditer(raw))
    # R1-style: the prompt opened <think>, so the output starts inside the reasoning.
    inside = bool(tags) and tags[0].group(1) == "/"
    blocks: list[str] = []
    content: list[str] = []
    current: list[str] = []
    errors: list[str] = []
    pos = 0
    for m in tags:
        segment, pos, closing = raw[pos:m.start()], m.end(), m.group(1) == "/"
        if inside:
            current.append(segment)
            if closing:
                blocks.append("".join(current))
                current, inside = [], False
            else:
                errors.append("nested <think> ignored")
        else:
            content.append(segment)
            if closing:
                errors.append("stray </think> ignored")
            else:
                inside = True
    tail = raw[pos:]
    if inside:  # ran out inside the reasoning
        current.append(tail)
        blocks.append("".join(current))
        errors.append(UNTERMINATED_THINK)
    else:
        content.append(tail)
    return ReasoningSplit(raw=raw, reasoning=_join(blocks), content=_join(content), errors=_dedupe(errors))


# --- harmony ---------------------------------------------------------------------------------------------------

_OUT, _ROLE, _CHAN, _BODY = range(4)


@dataclass
class _Message:
    role_header: str = ""
    channel_header: str | None = None  # None: no <|channel|> seen
    body: list[str] = field(default_factory=list)
    end: str | None = None  # the closing token; "" when closed implicitly by the next message; None: truncated


def _scan_harmony(raw: str) -> tuple[list[_Message], list[str], bool]:
    """Cut the output into messages. Returns (messages, errors, any_token_seen)."""
    messages: list[_Message] = []
    errors: list[str] = []
    state, cur, pending = _OUT, _Message(), ""
    pos, seen = 0, False

    def flush_stray() -> None:
        nonlocal pending
        if pending.strip():
            errors.append(f"text outside harmony messages ignored: {_short(pending)!r}")
        pending = ""

    def close(end: str | None) -> None:
        cur.end = end
        messages.append(cur)

    for m in _HARMONY_TOKEN.finditer(raw):
        seen = True
        segment, pos, tok = raw[pos:m.start()], m.end(), m.group(1)
        if state == _OUT:
            pending += segment
        elif state == _ROLE:
            cur.role_header += segment
        elif state == _CHAN:
            cur.channel_header = (cur.channel_header or "") + segment
        else:
            cur.body.append(segment)

        if tok == "start":
            if state == _BODY:
                errors.append("message not closed before <|start|>")
                close("")
            elif state in (_ROLE, _CHAN):
                errors.append("message header without <|message|> dropped")
            flush_stray()
            cur, state = _Message(), _ROLE
        elif tok == "channel":
            if state == _ROLE:
                cur.channel_header, state = "", _CHAN
            elif state == _CHAN:
                errors.append("repeated <|channel|> in a header ignored")
            elif state == _BODY:
                errors.append("message not closed before <|channel|>")
                close("")
                cur, state = _Message(channel_header=""), _CHAN
            else:  # output starting at <|channel|>, possibly after "assistant" / " to=functions.x"
                role = ""
                if _is_role_prefix(pending):
                    role, pending = pending, ""
                flush_stray()
                cur, state = _Message(role_header=role, channel_header=""), _CHAN
        elif tok == "constrain":
            if state == _CHAN:
                cur.channel_header = (cur.channel_header or "") + " "
            elif state == _ROLE:
                cur.role_header += " "
            else:
                errors.append("stray <|constrain|> ignored")
        elif tok == "message":
            if state in (_ROLE, _CHAN):
                state = _BODY
            elif state == _BODY:
                errors.append("stray <|message|> inside a message body ignored")
            else:  # output starting after "<|channel|>": the pending text is the channel header
                cur = _Message(channel_header=pending if pending.strip() else None)
                pending, state = "", _BODY
        elif tok in _CLOSERS:
            if state == _BODY:
                close(tok)
            elif state in (_ROLE, _CHAN):
                errors.append("message header without <|message|> dropped")
            else:
                flush_stray()
                if tok != "endoftext":
                    errors.append(f"stray <|{tok}|> ignored")
            state = _OUT
        # <|startoftext|> carries nothing: ignored wherever it is

    tail = raw[pos:]
    if state == _BODY:
        cur.body.append(tail)
        close(None)
    elif state in (_ROLE, _CHAN):
        errors.append("output ends inside a message header (truncated?)")
    else:
        pending += tail
        flush_stray()
    return messages, errors, seen


def _is_role_prefix(text: str) -> bool:
    """Whether ``text`` can precede <|channel|> when the output starts right after ``<|start|>``:
    blank, ``assistant``, recipients (``to=functions.x``), or ``assistant`` then recipients."""
    words = text.split()
    if words and words[0] == "assistant":
        words = words[1:]
    return all(w.startswith("to=") for w in words)


def _parse_header(header: str | None) -> tuple[str | None, str | None]:
    """(first plain word, recipient) of a role or channel header; the words after the first
    (content types such as ``json``) are ignored."""
    if header is None:
        return None, None
    word = recipient = None
    for token in header.split():
        if token.startswith("to="):
            recipient = recipient or token[3:]
        elif word is None:
            word = token
    return word, recipient


def _tool_call(recipient: str, body: str, errors: list[str]) -> dict | None:
    name = recipient[len("functions."):] if recipient.startswith("functions.") else recipient
    if not name:
        errors.append(f"tool call to {recipient!r} has no tool name; skipped")
        return None
    if not recipient.startswith("functions."):
        errors.append(f"recipient {recipient!r} is not a functions.* tool")
    try:
        args = json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; absurd nesting recurses
        errors.append(f"arguments of {name!r} are not valid JSON; kept as a string")
        return {"name": name, "arguments": body}
    if not isinstance(args, dict):
        errors.append(f"arguments of {name!r} are {type(args).__name__}, not an object; kept as a string")
        return {"name": name, "arguments": body}
    return {"name": name, "arguments": args}


def _split_harmony(raw: str) -> ReasoningSplit:
    messages, errors, seen = _scan_harmony(raw)
    if not messages:
        if not seen:
            return ReasoningSplit(raw=raw, reasoning="", content=raw.strip(), errors=(NO_HARMONY,))
        errors.append("no harmony message could be parsed")
        return ReasoningSplit(raw=raw, reasoning="", content=raw.strip(), errors=_dedupe(errors), failed=True)

    analysis: list[str] = []
    finals: list[str] = []
    preambles: list[str] = []
    calls: list[dict] = []
    for msg in messages:
        role, role_recipient = _parse_header(msg.role_header)
        channel, channel_recipient = _parse_header(msg.channel_header)
        recipient = channel_recipient or role_recipient
        body = "".join(msg.body).strip()
        label = channel or "unnamed"
        if role not in (None, "assistant"):
            errors.append(f"message from role {role!r} skipped")
            continue
        if msg.end is None:
            errors.append(f"{label} message unterminated (output truncated?)")
        if recipient is not None:
            call = _tool_call(recipient, body, errors)
            if call is not None:
                calls.append(call)
        elif channel == "analysis":
            analysis.append(body)
        elif channel == "final":
            finals.append(body)
        elif channel == "commentary":
            preambles.append(body)
        elif channel is None:
            errors.append("message without a channel treated as final")
            finals.append(body)
        else:
            errors.append(f"unknown channel {_short(channel)!r}; message skipped")
    content = _join(finals) if finals else _join(preambles)
    return ReasoningSplit(raw=raw, reasoning=_join(analysis), content=content, tool_calls=tuple(calls),
                          errors=_dedupe(errors))


# --- reasoning_content -----------------------------------------------------------------------------------------


def _split_reasoning_content(text: str | None, reasoning_field: str | None) -> ReasoningSplit:
    errors: list[str] = []
    if reasoning_field is not None and not isinstance(reasoning_field, str):
        errors.append(f"reasoning field is {type(reasoning_field).__name__}, not str; ignored")
        reasoning_field = None
    if text is None and reasoning_field is not None:
        text = ""  # a tool-call-only reply: the server sent reasoning and no content
    if not isinstance(text, str):
        result = _not_text(text)
        return ReasoningSplit(raw=result.raw, reasoning="", content=result.content,
                              errors=_dedupe(errors + list(result.errors)), failed=True)
    if (reasoning_field is None or not reasoning_field.strip()) and _THINK_TAG.search(text):
        think = _split_think(text)
        errors.append("no reasoning field; fell back to the think parser on <think> tags in the text")
        return ReasoningSplit(raw=text, reasoning=think.reasoning, content=think.content,
                              errors=_dedupe(errors + list(think.errors)))
    return ReasoningSplit(raw=text, reasoning=(reasoning_field or "").strip(), content=text.strip(),
                          errors=_dedupe(errors))
