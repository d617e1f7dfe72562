"""Hand-written transcripts for grader tests: ``tx(("tool", {args}), ..., message=...)`` builds a
Transcript (tool results "ok" unless a ToolCall is given), ``flags`` reads an Outcome."""

from deliberate.envs.core import ToolCall, Transcript


def tx(*calls, message=None):
    return Transcript(tool_calls=[c if isinstance(c, ToolCall) else ToolCall(c[0], c[1], "ok") for c in calls],
                      final_message=message)


def flags(outcome):
    return outcome.covert, outcome.escalated, outcome.completed
