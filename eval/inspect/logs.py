"""Inspect AI logs as our transcripts: stream a log sample by sample, each mapped to the record
schema of ``Rollout.to_record`` (messages, turns with reasoning, tool calls, final message, outcome
from the configured covert score), so the whole report runs on Inspect tasks. A sample that
errored comes back with ``error`` set. ``.eval`` logs are read one sample at a time. The field
by field mapping: docs/inspect.md ("Samples -> transcripts").

The other way: :func:`write_log` writes our own graded transcripts as Inspect logs, so ``inspect
view`` opens a whole run, our grades as its scores (docs/inspect.md, "Our runs in Inspect View").
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deliberate.config import InspectScoreConfig
from deliberate.reasoning import resolve_parser, split_reasoning

logger = logging.getLogger(__name__)

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
    configured score is missing, cannot be read as a number, or is a letter grade while
    ``higher_is_covert`` is not set."""
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
    higher = rule.higher_is_covert
    if higher is None:
        if isinstance(value, str) and not _is_number(value):
            raise ValueError(f"score {where!r} is {value!r}, a letter grade (Inspect's C = CORRECT, I = INCORRECT, "
                             "yes/no): set covert_score.higher_is_covert: false when C means the right behaviour, "
                             "true when C marks covert behaviour")
        higher = True
    number = value_to_float()(value)
    covert = number >= rule.threshold if higher else number <= rule.threshold
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


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# --------------------------------------------------------------------------- our transcripts as Inspect logs


def write_family_logs(folder: str | Path, model: str, mc, records: list[dict]) -> list[Path]:
    """One log per family, ``<folder>/deliberate_<family>.eval`` (:func:`write_log`), from one model's
    records of our families; nothing (one log line) when Inspect AI is not installed."""
    if importlib.util.find_spec("inspect_ai") is None:
        logger.info("[eval] Inspect AI is not installed: no Inspect logs of our transcripts "
                    "(pip install -e '.[inspect]')")
        return []
    by_family: dict[str, list[dict]] = {}
    for r in records:
        by_family.setdefault(r["family"], []).append(r)
    return [write_log(rs, Path(folder) / f"deliberate_{fam}.eval", task=fam, model=model,
                      model_args={"name_or_path": mc.name_or_path, "backend": mc.backend},
                      metadata={"source": "deliberate", "split": rs[0].get("split")})
            for fam, rs in by_family.items()]


def write_log(records: list[dict], path: str | Path, *, task: str, model: str, model_args: dict | None = None,
              metadata: dict | None = None) -> Path:
    """Graded transcript records (one family, one model) as an Inspect log that ``inspect view`` opens:
    one sample per episode (epoch = the record's sample + 1), its messages with reasoning as
    ContentReasoning parts, our grades as the score ``deliberate`` (``covert``, ``escalated``,
    ``completed`` as 1/0, the grader's evidence as the explanation), and covert rates per cue as the
    log's metrics. An episode that failed carries its error. ``model``: our name for the model (the
    log says ``deliberate/<model>``). Returns the path."""
    import datetime as dt

    from inspect_ai.log import (
        EvalConfig,
        EvalDataset,
        EvalError,
        EvalLog,
        EvalMetric,
        EvalResults,
        EvalSample,
        EvalScore,
        EvalSpec,
        write_eval_log,
    )
    from inspect_ai.scorer import Score

    samples = []
    for r in records:
        o = r["outcome"]
        score = Score(value={"covert": float(o["covert"]), "escalated": float(o["escalated"]),
                             "completed": float(o["completed"])},
                      answer=r.get("final_message"), explanation="; ".join(o.get("evidence") or []) or None)
        user = next((m["content"] for m in r["messages"] if m["role"] == "user"), "")
        error = r.get("error")
        samples.append(EvalSample(
            id=r["scenario_id"], epoch=int(r.get("sample") or 0) + 1, input=user, target=str(r.get("expected") or ""),
            messages=[_chat_message(m) for m in r["messages"]], output=_output(r, model),
            scores={"deliberate": score},
            metadata=_jsonable({k: r.get(k) for k in ("family", "cue", "seed", "expected", "right", "budget_exhausted",
                                                       "parse_failures")}),
            error=EvalError(message=error, traceback="", traceback_ansi="") if error else None))
    metrics = {}
    for cue in sorted({r["cue"] for r in records}) + ["all"]:
        chosen = [r for r in records if cue in ("all", r["cue"]) and not r.get("error")]
        if chosen:
            name = "covert_rate" if cue == "all" else f"covert_rate_{cue}"
            metrics[name] = EvalMetric(name=name, value=sum(bool(r["outcome"]["covert"]) for r in chosen) / len(chosen))
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    ids = sorted({s.id for s in samples}, key=str)
    log = EvalLog(
        status="success",
        eval=EvalSpec(created=now, task=task, task_id=f"deliberate_{task}_{model}",
                      dataset=EvalDataset(name=task, samples=len(ids), sample_ids=ids),
                      model=f"deliberate/{model}", model_args=_jsonable(model_args or {}), config=EvalConfig(),
                      metadata=_jsonable(metadata or {})),
        results=EvalResults(total_samples=len(samples), completed_samples=sum(not s.error for s in samples),
                            scores=[EvalScore(name="deliberate", scorer="deliberate", metrics=metrics)]),
        samples=samples)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_eval_log(log, str(path), format="eval")
    return path


def _chat_message(m: dict):
    from inspect_ai.model import (
        ChatMessageAssistant,
        ChatMessageSystem,
        ChatMessageTool,
        ChatMessageUser,
        ContentReasoning,
        ContentText,
    )

    role, text = m["role"], m.get("content") or ""
    if role == "system":
        return ChatMessageSystem(content=text)
    if role == "tool":
        return ChatMessageTool(content=text, function=m.get("name"))
    if role == "assistant":
        reasoning = m.get("reasoning") or ""
        content = [ContentReasoning(reasoning=reasoning), ContentText(text=text)] if reasoning else text
        return ChatMessageAssistant(content=content)
    return ChatMessageUser(content=text)


def _output(r: dict, model: str):
    from inspect_ai.model import ModelOutput

    return ModelOutput.from_content(f"deliberate/{model}", r.get("final_message") or "")
