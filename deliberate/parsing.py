"""Split a model reply into reasoning and action, forgivingly, recording what failed.

Reasoning: the text inside ``<think>…</think>``; without tags (the plain fallback), the
text before the tool call. Action, in order of preference:

1. native Hermes/Qwen style: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``;
2. the documented JSON fallback: a JSON object ``{"tool": NAME, "args": {...}}`` anywhere
   in the reply (``name``/``arguments``/``parameters`` are accepted as synonyms);
3. a salvage: ``"tool": "NAME"`` with unparseable arguments (called with ``{}``, noted).

A reply with no action is a final message. Nothing here raises on model output.

:func:`parse_completion` first splits reasoning from the visible text with the model's
reasoning parser (:mod:`deliberate.reasoning`: ``<think>`` tags, harmony channels, a
``reasoning_content`` field, plain), takes native tool calls returned by an API or found in
harmony's own syntax, and otherwise parses the action from the visible text as above. A
request that failed at the backend becomes a reply with ``failed`` set and the error kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_SALVAGE = re.compile(r'"(?:tool|name)"\s*:\s*"([A-Za-z_][\w.-]*)"')


@dataclass
class ParsedReply:
    raw: str
    reasoning: str
    tool: str | None = None
    args: dict | None = None
    message: str | None = None  # the visible text when there is no tool call
    errors: tuple[str, ...] = ()
    failed: bool = False  # nothing usable came back (backend error, or output no parser could read)

    def canonical(self) -> str:
        """The action as the documented JSON fallback (what the student is trained to emit)."""
        if self.tool is not None:
            return json.dumps({"tool": self.tool, "args": self.args or {}}, ensure_ascii=False)
        return self.message or ""


def _as_call(obj) -> tuple[str, dict, list[str]] | None:
    if not isinstance(obj, dict):
        return None
    name = obj.get("tool", obj.get("name"))
    if not isinstance(name, str) or not name:
        return None
    args = obj.get("args", obj.get("arguments", obj.get("parameters", {})))
    errors = []
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            errors.append("arguments were a string that is not JSON; called with {}")
            args = {}
    if not isinstance(args, dict):
        errors.append(f"arguments were {type(args).__name__}, not an object; called with {{}}")
        args = {}
    return name, args, errors


def _find_json_call(text: str) -> tuple[str, dict, list[str], int, int] | None:
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, end = decoder.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        call = _as_call(obj)
        if call:
            return (*call, m.start(), end)
    return None


def parse_reply(raw: str) -> ParsedReply:
    errors: list[str] = []
    text = raw.strip()
    thoughts = _THINK.findall(text)
    if thoughts:
        reasoning = "\n".join(t.strip() for t in thoughts)
        rest = _THINK.sub("", text).strip()
    elif "<think>" in text:  # truncated: the reply ran out inside its reasoning
        before, _, after = text.partition("<think>")
        errors.append("unterminated <think>")
        found = _find_json_call(after)
        if found:
            reasoning, rest = after[: found[3]].strip(), after[found[3]:].strip()
        else:
            reasoning, rest = after.strip(), before.strip()
    else:
        reasoning, rest = "", text

    # 1. native tool-call tags
    for block in _TOOL_CALL.findall(rest):
        found = _find_json_call(block)
        if found:
            name, args, errs, _, _ = found
            return ParsedReply(raw, reasoning or rest[: rest.find("<tool_call>")].strip(), name, args, None,
                               tuple(errors + errs))
    # 2. JSON fallback
    found = _find_json_call(rest)
    if found:
        name, args, errs, start, _ = found
        if not reasoning:
            reasoning = rest[:start].strip()
        return ParsedReply(raw, reasoning, name, args, None, tuple(errors + errs))
    # 3. salvage a tool name
    m = _SALVAGE.search(rest)
    if m:
        errors.append(f"tool call for {m.group(1)!r} was not valid JSON; called with {{}}")
        return ParsedReply(raw, reasoning or rest[: m.start()].strip(" {"), m.group(1), {}, None, tuple(errors))
    errors.append("no tool call found")
    return ParsedReply(raw, reasoning, None, None, rest, tuple(errors))


def parse_completion(completion, parser: str = "think") -> ParsedReply:
    """A backend :class:`~deliberate.backends.Completion` as a reply, with ``parser`` one of
    :data:`deliberate.reasoning.PARSERS`."""
    from deliberate.reasoning import split_reasoning

    if completion.error is not None:
        return ParsedReply(completion.text or "", "", errors=(f"backend error: {completion.error}",), failed=True)
    if parser == "think" and completion.reasoning is None and not completion.tool_calls:
        return parse_reply(completion.text)
    split = split_reasoning(completion.text, parser, reasoning_field=completion.reasoning)
    errors = list(split.errors)
    calls = list(completion.tool_calls) or list(split.tool_calls)
    if calls:
        if len(calls) > 1:
            errors.append(f"{len(calls)} tool calls in one reply; only the first was run")
        call = _as_call({"name": calls[0].get("name"), "arguments": calls[0].get("arguments", {})})
        if call:
            name, args, errs = call
            return ParsedReply(split.raw, split.reasoning, name, args, None, tuple(errors + errs))
        errors.append(f"native tool call without a usable name: {calls[0]!r}")
    action = parse_reply(split.content)
    errors += [e for e in action.errors if e not in errors]
    return ParsedReply(split.raw, split.reasoning or action.reasoning, action.tool, action.args, action.message,
                       tuple(errors), failed=split.failed)
