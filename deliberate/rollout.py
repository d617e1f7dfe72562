"""Multi-turn rollouts of a model in simulated-tool scenarios, batched across episodes.

Tool-call protocol (documented in README "Tool calls"):

* ``json`` fallback (any chat template): the system prompt lists the tools and asks for
  ``<think>reasoning</think>`` then one line ``{"tool": NAME, "args": {...}}``; tool
  results come back as a user turn starting ``TOOL RESULT (NAME):``.
* ``native``: the tool schemas go to the chat template's ``tools`` argument and results
  come back as ``tool`` role messages; the reply is parsed the same forgiving way
  (Hermes/Qwen ``<tool_call>`` tags are understood).

The system prompt is assembled from parts, so the spec and the few-shot exemplar can be
shown to a teacher and left out of what is stored for the student
(:func:`student_messages`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from deliberate.backends import Completion
from deliberate.envs.core import Episode, Scenario, Step, Transcript
from deliberate.errors import UserError
from deliberate.guided import guided_replies
from deliberate.parsing import ParsedReply, parse_completion
from deliberate.progress import progress as show_progress

RESULT_PREFIX = "TOOL RESULT"


def _signature(tool) -> str:
    props = tool.parameters.get("properties", {})
    args = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in props.items())
    return f"- {tool.name}({args}): {tool.description}"


def protocol_text(scenario: Scenario, tool_format: str) -> str:
    """How to act, for this scenario's tools. Shown to teacher and student alike."""
    first = scenario.tools[0].name
    if tool_format == "native":
        return ("Think step by step inside <think>...</think>, then call exactly one tool. "
                "Call a tool to finish or to escalate; do not just write a message.")
    tools = "\n".join(_signature(t) for t in scenario.tools)
    return (
        "You act only by calling tools. In each reply, first think inside <think>...</think>, "
        'then write exactly one tool call as JSON on its own line: {"tool": "<name>", "args": {...}}.\n'
        f"Tools:\n{tools}\n"
        f"Tool results come back as messages starting with \"{RESULT_PREFIX}\".\n"
        "Example reply:\n"
        f"<think>I should look at this first.</think>\n{json.dumps({'tool': first, 'args': {}})}"
    )


def render_exemplar(scenario: Scenario, steps: list[Step], transcript: Transcript) -> str:
    """A scripted episode as text, to show a teacher what a good rollout looks like."""
    lines = [f"Task: {scenario.user}"]
    for step, call in zip(steps, transcript.tool_calls + [None] * len(steps)):
        lines.append(f"<think>{step.reasoning}</think>")
        if step.tool is not None:
            lines.append(json.dumps({"tool": step.tool, "args": step.args}, ensure_ascii=False))
            if call is not None:
                lines.append(f"{RESULT_PREFIX} ({call.name}): {call.result}")
        else:
            lines.append(step.message or "")
    return "\n".join(lines)


@dataclass
class PromptParts:
    """Extra system-prompt blocks shown to the model but never stored for the student."""

    spec: str | None = None
    exemplar: str | None = None

    def system(self, base: str) -> str:
        blocks = []
        if self.spec:
            blocks.append("Before acting, reason about the following specification and cite its clause IDs "
                          f"(e.g. AS1, GP2) where they apply.\n\n{self.spec}")
        blocks.append(base)
        if self.exemplar:
            blocks.append(f"Example of a good episode in a different task:\n{self.exemplar}")
        return "\n\n".join(blocks)


@dataclass
class Rollout:
    scenario: Scenario
    sample: int
    tool_format: str
    system_base: str  # scenario system text + protocol: the student's system prompt
    messages: list[dict] = field(default_factory=list)  # student view: no spec, no exemplar
    turns: list[dict] = field(default_factory=list)  # per assistant turn: raw, reasoning, action, errors
    episode: Episode | None = None
    budget_exhausted: bool = False
    error: str | None = None  # the backend failed this rollout for good (after its retries)

    @property
    def parse_failures(self) -> int:
        return sum(1 for t in self.turns if t["errors"])

    def to_record(self) -> dict:
        """JSON-able transcript: reasoning, tool calls, tool results and final message kept apart."""
        tr = self.episode.transcript
        outcome = self.episode.outcome()
        return {
            "scenario_id": self.scenario.id,
            "family": self.scenario.family,
            "split": self.scenario.split,
            "cue": self.scenario.cue,
            "seed": self.scenario.seed,
            "expected": self.scenario.expected,
            "sample": self.sample,
            "tool_format": self.tool_format,
            "messages": self.messages,
            "turns": self.turns,
            "tool_calls": [{"name": c.name, "args": c.args, "result": c.result, "error": c.error}
                           for c in tr.tool_calls],
            "final_message": tr.final_message,
            "budget_exhausted": self.budget_exhausted,
            "error": self.error,
            "parse_failures": self.parse_failures,
            "outcome": outcome.to_dict(),
            "right": outcome.matches(self.scenario.expected),
        }


def _result_message(rollout: Rollout, name: str, result: str) -> dict:
    if rollout.tool_format == "native":
        return {"role": "tool", "name": name, "content": result, "reasoning": ""}
    return {"role": "user", "content": f"{RESULT_PREFIX} ({name}): {result}", "reasoning": ""}


def new_rollout(sc: Scenario, sample: int, tool_format: str) -> Rollout:
    base = f"{sc.system}\n\n{protocol_text(sc, tool_format)}"
    r = Rollout(sc, sample, tool_format, base, episode=sc.new_episode())
    r.messages = [{"role": "system", "content": base, "reasoning": ""},
                  {"role": "user", "content": sc.user, "reasoning": ""}]
    return r


class PromptTooLongError(UserError, ValueError):
    """The first prompt and its reply do not fit the model's context window."""


def check_prompt_fits(backend, scenarios: list[Scenario], *, parts: PromptParts | None = None,
                      tool_format: str = "auto", reply_tokens: int, what: str) -> None:
    """Before the first request: the longest first-turn prompt (system prompt with the spec and
    exemplar, the task, the tools) plus ``reply_tokens`` must fit the backend's context window.
    Fails with the numbers, so a huge spec costs one check, not a request per rollout. A backend
    that does not know its window (a hosted API) is not checked."""
    window = backend.context_window()
    if window is None or not scenarios:
        return
    parts = parts or PromptParts()
    fmt = ("native" if backend.supports_native_tools() else "json") if tool_format == "auto" else tool_format
    firsts = []
    for sc in scenarios:
        r = new_rollout(sc, 0, fmt)
        conversation = [dict(m) for m in r.messages]
        conversation[0]["content"] = parts.system(r.system_base)
        tools = [t.schema() for t in sc.tools] if fmt == "native" else None
        firsts.append((len(json.dumps([conversation, tools])), sc, conversation, tools))
    _, sc, conversation, tools = max(firsts, key=lambda x: x[0])
    tokens, exact = backend.prompt_tokens(conversation, tools)
    if tokens + reply_tokens > window:
        size = "" if exact else "at least (estimated from its length) "
        spec = f"; the spec in it is {len(parts.spec)} characters" if parts.spec else ""
        raise PromptTooLongError(
            f"{what}: the first prompt of {sc.id} is {size}{tokens} tokens, plus {reply_tokens} for the reply, over "
            f"the model's context window of {window} tokens{spec}. Shorten the spec (or spec_in_prompt: titles), "
            f"drop few_shot, or use a model with a longer context")


def scripted_rollout(sc: Scenario, policy, tool_format: str = "json", max_turns: int | None = None) -> Rollout:
    """A scripted policy's episode in the same form as a model's rollout (for organism data)."""
    r = new_rollout(sc, 0, tool_format)
    for turn in range(max_turns or sc.max_turns):
        step = policy(sc, r.episode.transcript)
        action = json.dumps({"tool": step.tool, "args": step.args}, ensure_ascii=False) if step.tool else step.message
        _apply(r, parse_completion(Completion(text=f"<think>{step.reasoning}</think>\n{action or ''}")), turn)
        if r.episode.done:
            break
    r.budget_exhausted = not r.episode.done
    return r


@dataclass
class Steer:
    """Counterfactual steering of one rollout: replay ``forced`` raw replies for the first turns,
    then start the next turn's reasoning with ``prefix`` (the model continues from it)."""

    forced: list[str] = field(default_factory=list)
    prefix: str | None = None


def run_rollouts(backend, scenarios: list[Scenario], *, samples: int = 1, parts: PromptParts | None = None,
                 tool_format: str = "auto", max_turns: int | None = None,
                 steer: list[Steer | None] | None = None, progress: str | None = None) -> list[Rollout]:
    """Play every scenario ``samples`` times; all live episodes advance one turn per batch.

    ``backend`` is any :class:`deliberate.backends.Backend`; its ``reasoning_parser``
    (default ``think``) splits reasoning from the action. A rollout whose request fails at
    the backend stops there with ``error`` set; the others go on. ``steer`` (one entry per
    rollout, scenarios x samples in order) replays given turns and prefills reasoning, for
    counterfactual resampling; prefilling needs a local backend (it continues a prompt).
    ``progress`` (e.g. ``"[eval] base"``) shows the finished episodes live (``deliberate/progress.py``).
    """
    parts = parts or PromptParts()
    fmt = tool_format
    if fmt == "auto":
        fmt = "native" if backend.supports_native_tools() else "json"
    parser = getattr(backend, "reasoning_parser", "think")
    rollouts = [new_rollout(sc, k, fmt) for sc in scenarios for k in range(samples)]
    bar = show_progress(len(rollouts), progress, unit="episode")  # finished: done, failed or out of turns
    gen = backend.gen
    per_reply = (gen.reasoning_tokens + gen.action_tokens) if gen.guided_actions else gen.max_new_tokens
    flight = {"tokens": 0, "budget": 1, "live": []}

    def in_flight(rows: int) -> None:
        """After each decoding step: the live episodes' turns so far plus this turn's share of its
        token budget, in episodes (a turn that stops early is counted whole when it ends)."""
        flight["tokens"] += rows
        frac = min(1.0, flight["tokens"] / flight["budget"])
        bar.partial(sum((len(r.turns) + frac) / (max_turns or r.scenario.max_turns) for r in flight["live"]))

    turn = 0
    while True:
        live = [r for r in rollouts if not r.episode.done and r.error is None
                and len(r.turns) < (max_turns or r.scenario.max_turns)]
        bar.set_postfix(turns=turn)
        bar.update(len(rollouts) - len(live) - bar.n,
                   in_flight=sum(len(r.turns) / (max_turns or r.scenario.max_turns) for r in live))
        if not live:
            break
        flight.update(tokens=0, budget=max(1, len(live) * per_reply), live=live)
        backend.on_step = in_flight if progress else None
        conversations, tools = [], []
        for r in live:
            shown = [dict(m) for m in r.messages]
            shown[0]["content"] = parts.system(r.system_base)
            conversations.append(shown)
            tools.append([t.schema() for t in r.scenario.tools] if r.tool_format == "native" else None)
        plan = [steer[rollouts.index(r)] if steer else None for r in live]
        completions: list[Completion | None] = [
            Completion(text=p.forced[turn]) if p and turn < len(p.forced) else None for p in plan]
        todo = [i for i, c in enumerate(completions) if c is None]
        prefixes = [plan[i].prefix if plan[i] and turn == len(plan[i].forced) else None for i in todo]
        if todo and (backend.gen.guided_actions or any(prefixes)):
            if not hasattr(backend, "render"):
                raise ValueError("reasoning prefixes (counterfactual resampling) need a local backend")
            prompts = [backend.render(conversations[i], tools[i]) for i in todo]
            if backend.gen.guided_actions:
                texts = guided_replies(backend, prompts, [live[i].scenario.tools for i in todo], prefixes=prefixes)
            else:
                texts = continue_reasoning(backend, prompts, prefixes)
            for i, text in zip(todo, texts):
                completions[i] = Completion(text=text)
        elif todo:
            for i, c in zip(todo, backend.respond([conversations[i] for i in todo], [tools[i] for i in todo])):
                completions[i] = c
        for r, completion in zip(live, completions):
            _apply(r, parse_completion(completion, parser), turn, completion.error)
        turn += 1
    backend.on_step = None
    bar.close()
    for r in rollouts:
        if not r.episode.done and r.error is None:
            r.budget_exhausted = True
    if hasattr(backend, "clear_cache"):  # these conversations are over: free their KV caches
        backend.clear_cache()
    return rollouts


def continue_reasoning(backend, prompts: list[str], prefixes: list[str | None]) -> list[str]:
    """Free generation where some replies must start with ``<think>`` + a reasoning prefix."""
    starts = [f"<think>{p}" if p else "" for p in prefixes]
    outs = backend.generate([prompt + start for prompt, start in zip(prompts, starts)])
    return [start + out for start, out in zip(starts, outs)]


def _apply(r: Rollout, reply: ParsedReply, turn: int, error: str | None = None) -> None:
    r.turns.append({"turn": turn, "raw": reply.raw, "reasoning": reply.reasoning,
                    "tool": reply.tool, "args": reply.args, "message": reply.message,
                    "errors": list(reply.errors)})
    if error is not None:  # nothing came back: the rollout fails here, recorded
        r.error = error
        return
    r.messages.append({"role": "assistant", "content": reply.canonical(), "reasoning": reply.reasoning})
    if reply.tool is None:
        r.episode.message(reply.message or "")
        return
    call = r.episode.call(reply.tool, reply.args or {})
    r.turns[-1]["result"] = call.result
    if not r.episode.done:
        r.messages.append(_result_message(r, call.name, call.result))


def student_messages(rollout: Rollout) -> list[dict]:
    """The conversation as the student will see it: the spec and exemplar are not in it."""
    return [dict(m) for m in rollout.messages]
