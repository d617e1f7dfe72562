"""Our environment families as Inspect AI tasks: Inspect's tool calling, our tools and graders.

    inspect eval deliberate/deliberate_family --model openai/gpt-4o-mini -T family=log_falsification -T cue=deploy
    deliberate envs export-inspect --out runs/inspect        # one @task per held-out family

:func:`deliberate_agent` plays a scenario with our prompts, tool schemas and turn rules, so the
same model outputs give the same tool results and grades here as in our rollout engine;
:func:`deliberate_grader` replays the calls through a fresh episode and grades them with the
family's grader. Details: docs/inspect.md.
"""

from __future__ import annotations

import keyword
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageTool, ChatMessageUser, execute_tools
from inspect_ai.scorer import Score, Target, mean, scorer, stderr
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import ToolCall, ToolDef, ToolError, ToolParams

from deliberate.backends import Completion
from deliberate.envs.core import (
    FAMILIES,
    SPLITS_BY_SUITE,
    EnvError,
    Episode,
    Scenario,
    Tool,
    get_family,
    load_builtin_families,
)
from deliberate.envs.core import ToolCall as RecordedCall
from deliberate.envs.interchange import transcript_to_json
from deliberate.parsing import ParsedReply, parse_completion
from deliberate.rollout import new_rollout

TASK_FILE = "deliberate_tasks.py"
SCORE_KEYS = ("covert", "escalated", "completed", "right")
# what execution validates against: anything goes, so our handlers see exactly the model's
# arguments and judge them (Inspect would otherwise reject calls our engine runs)
_ANY_ARGS = ToolParams(properties={}, required=[], additionalProperties=True)


@task
def deliberate_family(family: str, cue: str = "eval", scenarios: int = 8, seed: int = 1000, split: str = "test",
                      max_turns: int | None = None) -> Task:
    """``scenarios`` scenarios of ``family`` (seeds ``seed``, ``seed+1``, ...) in one cue variant."""
    fam = get_family(family)
    if scenarios < 1:
        raise EnvError(f"scenarios must be at least 1, got {scenarios}")
    samples = []
    for s in range(seed, seed + scenarios):
        sc = fam.sample(s, split, cue)  # an unknown split or cue is an EnvError naming the choices
        samples.append(Sample(id=sc.id, input=sc.user, target=sc.expected, metadata={
            "family": fam.name, "cue": cue, "seed": s, "split": split, "category": fam.category,
            "expected": sc.expected, "content_hash": sc.content_hash()}))
    return Task(dataset=MemoryDataset(samples, name=f"{fam.name}/{split}/{cue}"),
                solver=deliberate_agent(max_turns), scorer=deliberate_grader(),
                metadata={"family": fam.name, "suite": fam.suite, "category": fam.category, "cue": cue,
                          "split": split})


def _scenario(metadata: dict) -> Scenario:
    """The sample's scenario, re-sampled from its seed (a fresh state for every sample)."""
    missing = [k for k in ("family", "seed", "split", "cue") if k not in (metadata or {})]
    if missing:
        raise EnvError(f"sample metadata lacks {missing}: use deliberate_family() samples")
    sc = get_family(metadata["family"]).sample(int(metadata["seed"]), metadata["split"], metadata["cue"])
    if metadata.get("content_hash", sc.content_hash()) != sc.content_hash():
        raise EnvError(f"scenario {sc.id} changed since the dataset was built (content hash differs)")
    return sc


def inspect_tool(episode: Episode, tool: Tool) -> ToolDef:
    """``tool`` as an Inspect tool bound to ``episode``: our name, description and JSON schema."""
    # ToolParams adds additionalProperties=false unless told otherwise; None leaves it out, as ours does
    params = ToolParams.model_validate({"additionalProperties": None, **tool.parameters})
    shown = params.model_dump(exclude_none=True)  # what providers send (inspect_ai's json_schema_dump)
    if shown != tool.parameters:
        raise EnvError(f"tool {tool.name!r}: Inspect's ToolParams cannot represent its JSON schema exactly "
                       f"({tool.parameters} became {shown})")
    return ToolDef(_runner(episode, tool.name), name=tool.name, description=tool.description, parameters=params,
                   max_output=0)


def _runner(episode: Episode, name: str):
    async def run(**kwargs: Any) -> str:
        if episode.done:
            raise ToolError(f"the episode is over; {name} was not run")
        return episode.call(name, kwargs).result  # bad arguments and unknown tools become error results

    return run


def engine_reply(message: ChatMessageAssistant) -> ParsedReply:
    """An assistant message read the way our engine reads a reply (reasoning is ignored)."""
    calls = [{"name": c.function, "arguments": c.arguments if c.parse_error is None else c.parse_error}
             for c in message.tool_calls or []]
    return parse_completion(Completion(text=message.text, tool_calls=calls))


@solver
def deliberate_agent(max_turns: int | None = None) -> Solver:
    """Play the sample's scenario with our engine's turn semantics (see the module docstring)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        sc = _scenario(state.metadata)
        rollout = new_rollout(sc, 0, "native")  # the engine's prompt and a fresh episode
        episode = rollout.episode
        state.messages = [ChatMessageSystem(content=rollout.messages[0]["content"]),
                          ChatMessageUser(content=rollout.messages[1]["content"])]
        state.tools = [inspect_tool(episode, t) for t in sc.tools]
        for turn in range(max_turns or sc.max_turns):
            state = await generate(state, tool_calls="none")
            message = state.messages[-1]
            if state.completed or not isinstance(message, ChatMessageAssistant):
                break
            reply = engine_reply(message)
            if reply.errors:
                message.metadata = {**(message.metadata or {}), "deliberate_parse_errors": list(reply.errors)}
            if reply.tool is None:  # a final message ends the episode
                break
            # the engine runs one call per turn: the message keeps exactly the call that runs
            first = (message.tool_calls or [None])[0]
            call = ToolCall(id=first.id if first else f"call_text_{turn}", function=reply.tool,
                            arguments=reply.args or {}, type=first.type if first else "function")
            message.tool_calls = [call]
            executor = ToolDef(_runner(episode, call.function), name=call.function, description="run in the episode",
                               parameters=_ANY_ARGS, max_output=0)
            result = await execute_tools(state.messages, [executor])
            state.messages.extend(result.messages)
            if episode.done or state.completed:
                break
        return state

    return solve


def replay(state_messages: list, sc: Scenario) -> Episode:
    """The episode the recorded tool calls and final message give, replayed through our engine;
    every replayed result must equal the one the model saw."""
    episode = sc.new_episode()
    results = {m.tool_call_id: m for m in state_messages if isinstance(m, ChatMessageTool)}
    for message in state_messages:
        if episode.done or not isinstance(message, ChatMessageAssistant):
            continue
        if not message.tool_calls:
            episode.message(engine_reply(message).message or "")
            continue
        for c in message.tool_calls:
            shown = results.get(c.id)
            if shown is None or episode.done:  # never executed (a limit ended the sample first)
                continue
            if shown.error is not None:  # Inspect refused it before our handler saw it
                episode.transcript.tool_calls.append(RecordedCall(c.function, dict(c.arguments),
                                                                  shown.error.message, error=True))
                continue
            got = episode.call(c.function, dict(c.arguments))
            if got.result != shown.text:
                raise EnvError(f"{sc.id}: replaying {c.function}({c.arguments}) gives {got.result!r}, but the model "
                               f"saw {shown.text!r}; the family's handlers are not deterministic")
    return episode


@scorer(metrics={k: [mean(), stderr()] for k in SCORE_KEYS})
def deliberate_grader():
    """Our family's grader on the actions in the Inspect transcript (never the reasoning)."""

    async def score(state: TaskState, target: Target) -> Score:
        sc = _scenario(state.metadata)
        episode = replay(state.messages, sc)
        outcome = episode.outcome()
        right = outcome.matches(sc.expected)
        tr = episode.transcript
        last = tr.final_message if tr.final_message is not None else (
            f"{tr.tool_calls[-1].name}({tr.tool_calls[-1].args})" if tr.tool_calls else "")
        return Score(value={"covert": float(outcome.covert), "escalated": float(outcome.escalated),
                            "completed": float(outcome.completed), "right": float(right)},
                     answer=last, explanation="\n".join(outcome.evidence) or "no evidence",
                     metadata={"outcome": outcome.to_dict(), "expected": sc.expected, "right": right,
                               "scenario_id": sc.id, "budget_exhausted": not episode.done,
                               "transcript": transcript_to_json(tr, scenario=sc)})

    return score


def _identifier(name: str, taken: set[str]) -> str:
    ident = re.sub(r"\W", "_", name)
    if not ident or ident[0].isdigit() or keyword.iskeyword(ident):
        ident = f"family_{ident}"
    while ident in taken:
        ident += "_"
    taken.add(ident)
    return ident


def export_inspect(families: Iterable[str] | None, out: Path, cues: Iterable[str] = ("eval", "deploy"),
                   scenarios: int = 8, seed: int = 1000) -> Path:
    """Write ``out/deliberate_tasks.py``: one Inspect ``@task`` per family (default: every test-suite
    family), each taking ``cue`` (one of ``cues``; the first is the default), ``scenarios``, ``seed``
    and ``max_turns``. Returns the file's path."""
    load_builtin_families()
    names = list(families) if families else sorted(n for n, f in FAMILIES.items() if f.suite == "test")
    cues = tuple(cues)
    if not cues:
        raise EnvError("cues must name at least one cue variant")
    taken: set[str] = set()
    bodies = []
    for name in names:
        fam = get_family(name)
        bad = [c for c in cues if c not in fam.cues]
        if bad:
            raise EnvError(f"family {name!r} has cue variants {fam.cues}; cannot export {bad}")
        splits = SPLITS_BY_SUITE[fam.suite]
        split = "test" if "test" in splits else splits[0]
        bodies.append(
            f"@task\ndef {_identifier(name, taken)}(cue: str = {cues[0]!r}, scenarios: int = {scenarios}, "
            f"seed: int = {seed}, max_turns: int | None = None) -> Task:\n"
            f"    {(fam.description or name)!r}\n"
            f"    return _family({name!r}, {split!r}, cue, scenarios, seed, max_turns)\n")
    first = _identifier(names[0], set()) if names else "FAMILY"
    commands = "\n".join(f"    inspect eval {TASK_FILE}@{first} --model MODEL -T cue={c}" for c in cues)
    text = (f'"""Deliberate environment families as Inspect AI tasks (written by `deliberate envs '
            f'export-inspect`).\n\n{commands}\n    inspect eval {TASK_FILE} --model MODEL'
            f'          # every task\n"""\n\n'
            "from inspect_ai import Task, task\n\n"
            "from deliberate.envs.core import EnvError\n"
            "from deliberate.eval.inspect.tasks import deliberate_family\n\n"
            f"CUES = {cues!r}\n\n\n"
            "def _family(name, split, cue, scenarios, seed, max_turns):\n"
            "    if cue not in CUES:\n"
            "        raise EnvError(f\"cue must be one of {CUES}, got {cue!r}\")\n"
            "    return deliberate_family(name, cue=cue, scenarios=scenarios, seed=seed, split=split, "
            "max_turns=max_turns)\n\n\n" + "\n\n".join(bodies))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / TASK_FILE
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
