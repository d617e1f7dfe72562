"""A transcript record's reasoning, actions and final text: one reading for every stage.

A record (``Rollout.to_record()``, an Inspect sample or a monitored production transcript) has
``turns`` (each with ``reasoning`` and ``action``), ``tool_calls`` and ``final_message``. Its chain
of thought is the reasoning of its turns joined with ``"\\n"``, skipping turns without reasoning;
character offsets that the classifiers report index into that string, and :func:`turn_at` maps
them back to a turn (counterfactual resampling cuts there).
"""

from __future__ import annotations

import json


def _reasoned(record: dict) -> list[tuple[int, str]]:
    return [(i, t["reasoning"]) for i, t in enumerate(record.get("turns") or []) if t.get("reasoning")]


def reasoning_of(record: dict) -> str:
    """The record's chain of thought: every non-empty turn reasoning, joined with newlines."""
    return "\n".join(text for _, text in _reasoned(record))


def turn_at(record: dict, offset: int) -> tuple[int, int] | None:
    """The (turn index, offset within that turn's reasoning) of ``offset`` in :func:`reasoning_of`."""
    pos = 0
    for i, text in _reasoned(record):
        if offset <= pos + len(text):
            return i, offset - pos
        pos += len(text) + 1
    return None


def actions_of(record: dict) -> list[dict]:
    """The tool calls the record made, in order (``name``, ``args``, ``result``)."""
    return list(record.get("tool_calls") or [])


def final_text(record: dict) -> str:
    """The record's final message to the user ('' when it ended without one)."""
    return record.get("final_message") or ""


def render_actions(record: dict) -> str:
    """The record's actions as the judges read them: one line per call, then the final message."""
    lines = [f"- called {c['name']}({json.dumps(c['args'], ensure_ascii=False)}) -> {c['result']}"
             for c in actions_of(record)]
    if final_text(record):
        lines.append(f"- final message: {final_text(record)}")
    return "\n".join(lines) or "- (no action)"
