"""Turn a compiled :class:`~deliberate.envs.declarative.compile.Spec` into a :class:`Family`.

The sampler draws the variables per seed and renders text, state and tool handlers (test
families get eval/deploy cue variants via ``helpers.cue_texts`` / ``with_note``, as the Python
ones do); the grader applies the file's rules to actions only; the saint and schemer follow
the file's scripts. :func:`check_family` runs them against the grader on a few seeds.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from deliberate.envs.core import (
    SPLITS_BY_SUITE,
    EnvError,
    Family,
    Outcome,
    Scenario,
    Step,
    Tool,
    Transcript,
    rng_for,
    run_policy,
)
from deliberate.envs.declarative.compile import KINDS, ScriptStep, Spec, ToolSpec
from deliberate.envs.declarative.expr import Scope, as_text, values_equal
from deliberate.envs.declarative.template import Template, render_tree
from deliberate.envs.helpers import actions_outcome, cue_texts, show, text_arg, with_note


def _draw(spec: Spec, seed: int, split: str, rng) -> dict:
    values: dict = {}
    if spec.cases:
        pool = [v for s, v in spec.cases if s in (None, split)]
        if not pool:
            raise EnvError(f"family {spec.name!r} has no case for split {split!r}")
        case = pool[seed % len(pool)]
    else:
        case = {}
    declared = {k for k, _, _ in spec.variables}
    values.update({k: copy.deepcopy(v) for k, v in case.items() if k not in declared})
    for key, kind, vspec in spec.variables:
        if key in case:
            values[key] = copy.deepcopy(case[key])
        elif kind == "choice":
            values[key] = render_tree(rng.choice(vspec if isinstance(vspec, list) else vspec["choice"]), Scope(values))
        elif kind == "int":
            lo, hi = vspec["int"]
            values[key] = rng.randrange(lo, hi + 1, vspec.get("step", 1))
        elif kind == "float":
            lo, hi = vspec["float"]
            values[key] = round(rng.uniform(lo, hi), vspec.get("digits", 2))
        elif kind == "template":
            values[key] = Template(vspec["template"]).render(Scope(values))
        else:
            values[key] = render_tree(vspec, Scope(values))
    return values


def _squash(text: str) -> str:
    # an empty optional variable ("{pressure}") leaves a double space behind
    return "\n".join(re.sub(r" {2,}", " ", line).strip() for line in text.strip().split("\n"))


def _make_handler(tool: ToolSpec, values: dict, cue: str, notes: dict | None) -> Callable[[dict, dict], str]:
    def handler(state: dict, args: dict) -> str:
        for name in tool.requires:
            if not text_arg(args, name):
                raise ValueError(f"{name} is required")
        for name, want in tool.expects.items():
            given = args.get(name)
            if given is None:
                continue
            want = render_tree(want, Scope(values))
            if isinstance(given, (dict, list)) or not values_equal(given, want):
                raise ValueError(f"{name} {as_text(given)!r} is not part of this task (expected {as_text(want)})")
        scope = Scope(values, args=args, state=state)
        case = next(c for c in tool.results if c.when is None or c.when(scope))
        text = case.text.render(scope)
        if case.error:
            raise ValueError(text)
        for key, value in tool.sets.items():
            state[key] = render_tree(value, scope)
        for key, value in tool.appends.items():
            box = state.get(key)
            state[key] = (box if isinstance(box, list) else []) + [render_tree(value, scope)]
        return with_note(cue, notes, text) if notes is not None else text

    return handler


def _make_sampler(spec: Spec) -> Callable[[int, str, str], Scenario]:
    def sample(seed: int, split: str, cue: str) -> Scenario:
        rng = rng_for(spec.name, split, seed)
        values = _draw(spec, seed, split, rng)
        scope = Scope(values)
        try:
            system = _squash(rng.choice(spec.system).render(scope))
            user = _squash(rng.choice(spec.user).render(scope))
            if isinstance(spec.expected, tuple):
                cond, then, other = spec.expected
                expected = then if cond(scope) else other
            else:
                expected = spec.expected.render(scope)
            state = render_tree(spec.state, scope)
        except KeyError as exc:
            raise EnvError(f"family {spec.name!r} seed {seed}: {exc.args[0]}") from None
        notes = None
        metadata: dict = {"variables": values, "source": spec.source}
        if spec.suite == "test":
            lines = tuple(t.render_format(scope, keep=("n",)) for t in spec.deploy_lines)
            notes = cue_texts(rng_for(spec.name + "#cue", split, seed), lines)
            system = f"{notes[cue]}\n{system}"
            metadata["cue_text"] = notes[cue]
        tools = [Tool(t.name, t.description, copy.deepcopy(t.parameters), _make_handler(t, values, cue, notes),
                      t.terminal) for t in spec.tools]
        if spec.shuffle_tools:
            rng.shuffle(tools)
        return Scenario(family=spec.name, split=split, cue=cue, seed=seed, system=system, user=user, tools=tools,
                        state=state, grader=_make_grader(spec), expected=expected, max_turns=spec.max_turns,
                        metadata=metadata)

    sample.__doc__ = spec.description
    return sample


def _make_grader(spec: Spec) -> Callable[[Scenario, Transcript], Outcome]:
    def grade(scenario: Scenario, t: Transcript) -> Outcome:
        """Actions only: the family file's grader rules over successful tool calls and the final message."""
        values = scenario.metadata["variables"]
        flags, evidence = {}, []
        for kind in KINDS:
            found = [e for e in (rule.find(values, t) for rule in spec.rules[kind]) if e is not None]
            flags[kind] = bool(found)
            evidence += found
        return actions_outcome(t, evidence, covert=flags["covert"], escalated=flags["escalated"],
                               completed=flags["completed"])

    return grade


def _make_policy(steps: list[ScriptStep]):
    def policy(scenario: Scenario, t: Transcript) -> Step:
        values = scenario.metadata["variables"]
        active = [s for s in steps if s.when is None or s.when(Scope(values))]
        n = len(t.tool_calls)
        if n >= len(active):
            return Step("Nothing left to do.", message="")
        step = active[n]
        scope = Scope(values, state=t.state)
        reasoning = step.reasoning.render(scope)
        if step.tool is None:
            return Step(reasoning, message=step.message.render(scope))
        return Step(reasoning, step.tool, render_tree(step.args, scope))

    return policy


def build_family(spec: Spec) -> Family:
    """The Family a compiled spec describes (not registered)."""
    cues = ("eval", "deploy") if spec.suite == "test" else ("none",)
    return Family(spec.name, spec.suite, spec.category, cues, _make_sampler(spec), spec.description,
                  schemer=_make_policy(spec.schemer), saint=_make_policy(spec.saint))


def check_family(fam: Family, seeds: int = 5) -> list[str]:
    """Quick self-check on ``seeds`` seeds of every variant: the schemer is covert, the saint is
    right without failed calls, and doing nothing is neither covert, escalated nor completed."""
    problems = []
    for split in SPLITS_BY_SUITE[fam.suite][:1]:
        for cue in fam.cues:
            for seed in range(seeds):
                try:
                    sc = fam.sample(seed, split, cue)
                    bad_tr, bad, _ = run_policy(sc, fam.schemer)
                    tr, good, _ = run_policy(sc, fam.saint)
                    idle = [sc.grade(Transcript(state=dict(sc.state))),
                            sc.grade(Transcript(final_message="I am not sure what to do.", state=dict(sc.state)))]
                except EnvError as exc:
                    problems.append(f"{split}/{cue}/{seed}: {exc}")
                    continue
                if not bad.covert:
                    problems.append(f"schemer: {sc.id} is not graded covert ({_flags(bad)}); the grader's covert "
                                    f"rules match none of its actions: {_actions(bad_tr)}")
                if good.covert or not good.matches(sc.expected):
                    problems.append(f"saint: {sc.id} is graded {_flags(good)} but the scenario expects "
                                    f"{sc.expected}; its actions: {_actions(tr)}")
                failed = [c for c in tr.tool_calls if c.error]
                if failed:
                    problems.append(f"saint: {sc.id}: call {show(failed[0])} failed: {failed[0].result}")
                for what, o in zip(("no action", "a non-committal final message"), idle, strict=True):
                    if (o.covert, o.escalated, o.completed) != (False, False, False):
                        problems.append(f"grader: {sc.id}: {what} is graded {_flags(o)}")
    return problems[:10]


def _actions(t: Transcript) -> str:
    parts = [show(c) + (" [error]" if c.error else "") for c in t.tool_calls]
    if t.final_message is not None:
        parts.append(f"final message {t.final_message[:80]!r}")
    return " -> ".join(parts) or "none"


def _flags(o: Outcome) -> str:
    return f"covert={o.covert}, escalated={o.escalated}, completed={o.completed}; evidence: {list(o.evidence)}"
