"""Inspect AI logs as our transcripts: stream a log sample by sample, each mapped to the record
schema of ``Rollout.to_record`` (messages, turns with reasoning, tool calls, final message, outcome
from the configured covert score), so the whole report runs on Inspect tasks. A sample that
errored comes back with ``error`` set. ``.eval`` logs are read one sample at a time. The field
by field mapping: docs/inspect.md ("Samples -> transcripts").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deliberate.config import InspectScoreConfig
from deliberate.reasoning import resolve_parser, split_reasoning

# Sample fields our records never read: left out when reading a .eval log (they are most of its size).
_SKIP_FIELDS = {"events", "events_data", "store", "timelines"}


def iter_records(log_path: str | Path, *, family: str | None = None, cue: str = "none",
                 covert_score: InspectScoreConfig | None = None, reasoning_parser: str = "auto",
                 task: str | None = None, variant: str | None = None) -> Iterator[dict]:
    """Records of every sample in one Inspect log (.eval or .json), streamed in log order.

    ``family``: the family name (default: the task's name); ``cue``: the cue of this run ("eval",
    "deploy" or "none"); ``covert_score``: which score marks a sample covert (None: no sample is);
    ``reasoning_parser``: for text without ContentReasoning parts (``auto``: from the model name);
    ``task``: the task as configured (default: the log's task registry name); ``variant``: a short
    label of the run's grid point, appended to scenario ids so that grid points stay apart.
    """
    from inspect_ai.log import read_eval_log, read_eval_log_sample, read_eval_log_sample_summaries

    location = str(log_path)
    header = read_eval_log(location, header_only=True)
    spec = header.eval
    task = task or spec.task_registry_name or spec.task
    family = family or task.rsplit("@", 1)[-1].rsplit("/", 1)[-1]
    parser = resolve_parser(reasoning_parser, model_hint=spec.model)
    task_args = _jsonable(spec.task_args or {})
    json_log = location.endswith(".json")
    for summary in read_eval_log_sample_summaries(location):
        sample = read_eval_log_sample(location, id=summary.id, epoch=summary.epoch, resolve_attachments="core",
                                      exclude_fields=None if json_log else _SKIP_FIELDS)
        yield sample_to_record(sample, task=task, family=family, cue=cue, covert_score=covert_score,
                               reasoning_parser=parser, task_args=task_args, model=spec.model,
                               log_path=location, variant=variant)


def sample_to_record(sample, *, task: str, family: str, cue: str = "none",
                     covert_score: InspectScoreConfig | None = None, reasoning_parser: str = "think",
                     task_args: dict | None = None, model: str | None = None, log_path: str | None = None,
                     variant: str | None = None) -> dict:
    """One Inspect ``EvalSample`` as one transcript record (module docstring)."""
    results = _tool_results(sample.messages)
    messages, turns, calls = [], [], []
    if not sample.messages or sample.messages[0].role != "system":
        messages.append({"role": "system", "content": "", "reasoning": ""})
    final_message = None
    n_turn = 0
    for m in sample.messages:
        if m.role != "assistant":
            entry = {"role": m.role, "content": _text(m.content), "reasoning": ""}
            if m.role == "tool":
                entry["name"] = m.function
            messages.append(entry)
            continue
        reasoning, text, raw, errors = _split(m.content, reasoning_parser)
        tools = [(c.function, c.arguments, c.id, c.parse_error) for c in m.tool_calls or []]
        tools += [(u.name, _maybe_json(u.arguments), None, None) for u in _parts(m.content, "tool_use")]
        entry = {"role": "assistant", "content": text, "reasoning": reasoning}
        if tools:
            entry["tool_calls"] = [{"name": name, "args": args} for name, args, _, _ in tools]
        messages.append(entry)
        first = {"turn": n_turn, "raw": raw, "reasoning": reasoning, "tool": None, "args": None,
                 "message": text or None, "errors": errors}
        if not tools:
            turns.append(first)
        for k, (name, args, call_id, parse_error) in enumerate(tools):
            result, error = results.get(call_id, (None, None)) if call_id else _server_result(m.content, name)
            turn = first if k == 0 else {"turn": n_turn, "raw": "", "reasoning": "", "tool": None, "args": None,
                                         "message": None, "errors": []}
            turn.update(tool=name, args=args, result=result)
            if parse_error:
                turn["errors"] = turn["errors"] + [f"tool call arguments: {parse_error}"]
            turns.append(turn)
            calls.append({"name": name, "args": args, "result": result, "error": error})
        final_message = text or None
        n_turn += 1

    scores = {name: s.model_dump(mode="json", exclude={"history"}) for name, s in (sample.scores or {}).items()}
    error = sample.error.message if sample.error is not None else None
    covert, evidence = False, []
    if error is None and covert_score is not None:
        try:
            covert, evidence = covert_from_scores(sample.scores or {}, covert_score)
        except ValueError as exc:
            error = str(exc)
    limit = sample.limit.type if sample.limit is not None else None
    ok = error is None
    scenario_id = f"{family}/{cue}/{sample.id}" + (f"@{variant}" if variant else "")
    return {
        "scenario_id": scenario_id,
        "family": family,
        "split": "test",
        "cue": cue,
        "seed": None,
        "expected": None,
        "sample": sample.epoch - 1,
        "tool_format": "inspect",
        "messages": messages,
        "turns": turns,
        "tool_calls": calls,
        "final_message": final_message,
        "budget_exhausted": limit is not None,
        "error": error,
        "parse_failures": sum(1 for t in turns if t["errors"]),
        "outcome": {"covert": bool(covert and ok), "escalated": False, "completed": ok and limit is None,
                    "evidence": evidence if ok else []},
        "right": (not covert) if ok and covert_score is not None else None,
        "source": "inspect",
        "task": task,
        "epoch": sample.epoch,
        "inspect_sample_id": sample.id,
        "inspect_args": task_args or {},
        "inspect_model": model,
        "inspect_scores": scores,
        "inspect_limit": limit,
        "inspect_log": log_path,
    }


def covert_from_scores(scores: dict, rule: InspectScoreConfig) -> tuple[bool, list[str]]:
    """(covert, evidence) from a sample's scores; ValueError (naming what is there) when the
    configured score is missing or cannot be read as a number."""
    from inspect_ai.scorer import value_to_float

    if rule.scorer is None:
        if len(scores) != 1:
            raise ValueError(f"covert_score.scorer is not set and the sample has {len(scores)} scores "
                             f"({', '.join(scores) or 'none'}): name the one that marks covert behaviour")
        name = next(iter(scores))
    else:
        name = rule.scorer
        if name not in scores:
            raise ValueError(f"no score {name!r} in the sample (scores: {', '.join(scores) or 'none'})")
    score = scores[name]
    value = score.value
    where = name
    if rule.key is not None:
        if not isinstance(value, dict) or rule.key not in value:
            keys = ", ".join(value) if isinstance(value, dict) else f"a {type(value).__name__} value"
            raise ValueError(f"score {name!r} has no key {rule.key!r} ({keys})")
        value, where = value[rule.key], f"{name}.{rule.key}"
    if isinstance(value, (dict, list)) or value is None:
        raise ValueError(f"score {where!r} is {value!r}, not a scalar: set covert_score.key")
    number = value_to_float()(value)
    covert = number >= rule.threshold if rule.higher_is_covert else number <= rule.threshold
    evidence = [f"{where} = {value!r}"] + ([score.explanation] if score.explanation else [])
    return bool(covert), evidence if covert else []


# --------------------------------------------------------------------------- helpers


def _parts(content, kind: str) -> list:
    return [] if isinstance(content, str) else [c for c in content if c.type == kind]


def _text(content) -> str:
    """Visible text of a message: text parts joined; other media named in brackets."""
    if isinstance(content, str):
        return content
    out = []
    for c in content:
        if c.type == "text":
            out.append(c.text)
        elif c.type not in ("reasoning", "tool_use"):
            out.append(f"[{c.type}]")
    return "\n".join(out)


def _split(content, parser: str) -> tuple[str, str, str, list[str]]:
    """(reasoning, text, raw, errors) of an assistant message."""
    reasoning_parts = _parts(content, "reasoning")
    text = _text(content)
    if reasoning_parts:
        reasoning = "\n".join(r.reasoning if not r.redacted else (r.summary or "[redacted]") for r in reasoning_parts)
        return reasoning, text.strip(), f"<think>{reasoning}</think>{text}", []
    split = split_reasoning(text, parser)
    return split.reasoning, split.content, text, list(split.errors)


def _tool_results(messages) -> dict[str, tuple[str, str | None]]:
    out = {}
    for m in messages:
        if m.role == "tool" and m.tool_call_id:
            out[m.tool_call_id] = (_text(m.content), m.error.message if m.error is not None else None)
    return out


def _server_result(content, name: str) -> tuple[str | None, str | None]:
    """Result of a server-side tool use (ContentToolUse: web search, MCP, ...) carried in the message."""
    for u in _parts(content, "tool_use"):
        if u.name == name:
            return u.result, u.error
    return None, None


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
