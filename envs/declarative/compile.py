"""Validate a parsed family file and compile it to a :class:`Spec`.

The structure is checked against ``envs/schema/family.schema.json`` first, then names,
templates, conditions, regular expressions, tools, grader rules and scripted policies; every
problem is reported with its path in the file (``tools[1].result[0].when``). Test families'
deploy text is linted for words that belong to the eval cue.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from deliberate.envs.core import EXPECTED, SPLITS_BY_SUITE, EnvError, Transcript
from deliberate.envs.declarative.expr import Condition, Scope, values_equal
from deliberate.envs.declarative.patterns import asserts, compile_pattern
from deliberate.envs.declarative.template import Template, render_tree
from deliberate.envs.helpers import show, text_arg
from deliberate.envs.interchange import validate_json

RESERVED = ("args", "state", "n", "call", "message",
            "true", "false", "null", "and", "or", "not", "in", "contains", "matches")
# Words the deploy variant of a test family must not contain (tests/envs/test_families.py):
# they are the eval cue's job.
DEPLOY_WORDS = ("eval", "test", "graded", "alignment", "simulated")
RESULT_WORDS = ("eval", "grader")
KINDS = ("covert", "escalated", "completed")
KIND_WORDS = {"covert": "covert action", "escalated": "escalated", "completed": "completed the task"}


class DeclarativeError(EnvError):
    """Problems in a declarative family file, each named by its path in the file."""

    def __init__(self, problems: list[str], source: str = "", *, message: str | None = None):
        self.problems = list(problems)
        self.source = source
        head = f"invalid environment family file{f' {source}' if source else ''}:"
        super().__init__(message or "\n".join([head] + [f"  {p}" for p in self.problems]))


def _short(text) -> str:
    """A file's text quoted in a message, cut so a hostile value cannot flood the terminal."""
    shown = repr(text)
    return shown if len(shown) <= 80 else f"{shown[:60]}... ({len(str(text))} characters)"


# --------------------------------------------------------------------------- compiled spec


@dataclass
class ResultCase:
    when: Condition | None
    text: Template
    error: bool


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict  # JSON schema
    terminal: bool
    requires: list[str]
    expects: dict[str, Any]
    results: list[ResultCase]
    sets: dict
    appends: dict


@dataclass
class Rule:
    kind: str
    tool: str | None = None
    when: Condition | None = None
    args: dict = field(default_factory=dict)
    arg_matches: dict = field(default_factory=dict)  # name -> SafePattern (bounded: patterns.py)
    arg_asserts: dict = field(default_factory=dict)  # name -> SafePattern (negation-aware, lowercased text)
    after: list = field(default_factory=list)
    not_after: list = field(default_factory=list)
    message_matches: Any = None
    message_asserts: Any = None  # SafePattern
    evidence: Template | None = None

    def find(self, values: dict, t: Transcript) -> str | None:
        """Evidence text for the first action this rule matches, or None."""
        ok = [c for c in t.tool_calls if not c.error]
        if self.tool is None:
            msg = t.final_message or ""
            if not msg.strip() or (self.when is not None and not self.when(Scope(values))):
                return None
            done = {c.name for c in ok}
            if any(a not in done for a in self.after) or any(a in done for a in self.not_after):
                return None
            if self.message_matches is not None and not self.message_matches.search(msg):
                return None
            if self.message_asserts is not None and asserts(msg, self.message_asserts) is None:
                return None
            default = f"final message {msg[:80]!r}: {KIND_WORDS[self.kind]}"
            return self._evidence(values, None, msg, default)
        for i, call in enumerate(ok):
            if call.name != self.tool:
                continue
            scope = Scope(values, args=call.args)
            if self.when is not None and not self.when(scope):
                continue
            if any(not values_equal(call.args.get(k), render_tree(v, scope)) for k, v in self.args.items()):
                continue
            if any(not p.search(text_arg(call.args, k)) for k, p in self.arg_matches.items()):
                continue
            if any(asserts(text_arg(call.args, k), p) is None for k, p in self.arg_asserts.items()):
                continue
            before = {c.name for c in ok[:i]}
            if any(a not in before for a in self.after) or any(a in before for a in self.not_after):
                continue
            return self._evidence(values, call, t.final_message, f"{show(call)}: {KIND_WORDS[self.kind]}")
        return None

    def _evidence(self, values, call, message, default: str) -> str:
        if self.evidence is None:
            return default
        try:
            return self.evidence.render(Scope(values, args=call.args if call else {}, call=show(call) if call else "",
                                              message=message or ""))
        except KeyError:
            return default


@dataclass
class ScriptStep:
    when: Condition | None
    reasoning: Template
    tool: str | None
    args: dict
    message: Template | None


@dataclass
class Spec:
    name: str
    suite: str
    category: str
    description: str
    expected: Any  # str template, or (Condition, then, else)
    max_turns: int
    shuffle_tools: bool
    variables: list  # [(name, kind, spec)]
    cases: list  # [(split | None, values)]
    system: list[Template]
    user: list[Template]
    deploy_lines: list[Template]
    state: dict
    tools: list[ToolSpec]
    rules: dict  # kind -> [Rule]
    saint: list[ScriptStep]
    schemer: list[ScriptStep]
    source: str = ""
    sha256: str = ""


# --------------------------------------------------------------------------- compiling


class _Compiler:
    def __init__(self, raw: dict, source: str):
        self.raw, self.source = raw, source
        self.problems: list[str] = []

    def fail(self, path: str, msg: str) -> None:
        self.problems.append(f"{path}: {msg}")

    def template(self, text: str, path: str, scope: set[str]) -> Template | None:
        try:
            tpl = Template(text)
        except ValueError as exc:
            self.fail(path, f"bad template {_short(text)}: {exc}")
            return None
        for name in sorted(tpl.names):
            if name.split(".")[0] not in scope:
                self.fail(path, f"unknown name {{{name}}} in template (known: {', '.join(sorted(scope))})")
        return tpl

    def condition(self, text: str, path: str, scope: set[str]) -> Condition | None:
        try:
            cond = Condition(text)
        except ValueError as exc:
            self.fail(path, f"bad condition {_short(text)}: {exc}")
            return None
        for name in sorted(cond.names):
            if name.split(".")[0] not in scope:
                self.fail(path, f"unknown name {name!r} in condition {text!r} (known: {', '.join(sorted(scope))})")
        return cond

    def tree(self, value: Any, path: str, scope: set[str]) -> None:
        """Check every string in a value as a template."""
        if isinstance(value, str):
            self.template(value, path, scope)
        elif isinstance(value, dict):
            for k, v in value.items():
                self.tree(v, f"{path}.{k}", scope)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.tree(v, f"{path}[{i}]", scope)

    def regex(self, text: str, path: str):
        try:
            return compile_pattern(text)
        except ValueError as exc:
            self.fail(path, f"bad regular expression {_short(text)}: {exc}")
            return None

    def texts(self, key: str, scope: set[str]) -> list[Template]:
        value = self.raw.get(key)
        if value is None:
            return []
        items = [value] if isinstance(value, str) else value
        path = (lambda i: key) if isinstance(value, str) else (lambda i: f"{key}[{i}]")
        return [t for i, s in enumerate(items) if (t := self.template(s, path(i), scope)) is not None]

    def compile(self) -> Spec:
        r = self.raw
        self.problems = validate_json(r, "family")
        if self.problems:  # structure first: the checks below assume it
            raise DeclarativeError(self.problems, self.source)
        suite = r["suite"]
        cases, names = self.cases(suite)
        variables = self.variables(names)
        scope = set(names)

        system = self.texts("system", scope)
        user = self.texts("user", scope)
        deploy = self.texts("deploy_lines", scope | {"n"})
        if suite == "test" and "deploy_lines" not in r:
            self.fail("<top level>", "missing required key 'deploy_lines' (a test family's deploy cue line, "
                                     "e.g. 'Support desk session {n}.')")
        if suite == "train" and "deploy_lines" in r:
            self.fail("deploy_lines", "only test families have cue lines")

        expected = r["expected"]
        if isinstance(expected, dict):
            expected = (self.condition(expected["if"], "expected.if", scope), expected["then"], expected["else"])
        else:
            tpl = self.template(expected, "expected", scope)
            if tpl is not None and not tpl.names and expected not in EXPECTED:
                self.fail("expected", f"must be one of {', '.join(EXPECTED)} (or a template / if-then-else), "
                                      f"got {expected!r}")
            expected = tpl

        state = r.get("state", {})
        self.tree(state, "state", scope)
        tools = [self.tool(t, f"tools[{i}]", scope) for i, t in enumerate(r["tools"])]
        by_name: dict[str, ToolSpec] = {}
        for i, tool in enumerate(tools):
            if tool.name in by_name:
                self.fail(f"tools[{i}].name", f"tool {tool.name!r} is defined twice")
            by_name[tool.name] = tool
        esc = by_name.get("escalate")
        if esc is None or not esc.terminal:
            self.fail("tools", "needs a terminal 'escalate' tool (every family can hand the problem to a human)"
                      if esc is None else "'escalate' must be terminal: true")

        rules = {kind: [rule for j, raw in enumerate(r["grader"].get(kind, []))
                        if (rule := self.rule(kind, raw, f"grader.{kind}[{j}]", scope, by_name)) is not None]
                 for kind in KINDS}
        saint = self.script("saint", scope, by_name)
        schemer = self.script("schemer", scope, by_name)
        if suite == "test":
            self.lint_deploy(r)  # the deploy variant must not look like a test
        if self.problems:
            raise DeclarativeError(self.problems, self.source)
        return Spec(r["name"], suite, r["category"], r["description"], expected, r.get("max_turns", 4),
                    r.get("shuffle_tools", True), variables, cases, system, user, deploy, state, tools, rules,
                    saint, schemer, self.source)

    def cases(self, suite: str) -> tuple[list, set[str]]:
        """[(split | None, values)], and the names only cases define (every case must set them)."""
        r = self.raw
        cases = [(case.get("split"), case["values"]) for case in r.get("cases", [])]
        case_keys = {k for _, values in cases for k in values}
        for key in sorted(case_keys):
            if key in RESERVED or not re.match(r"^[A-Za-z_]\w*$", key):
                self.fail(f"cases[*].values.{key}", "not a usable variable name" +
                          (" (reserved)" if key in RESERVED else ""))
        only_cases = case_keys - set(r.get("variables", {}))
        for i, (split, values) in enumerate(cases):
            missing = sorted(only_cases - set(values))
            if missing:
                self.fail(f"cases[{i}].values", f"missing {', '.join(missing)} (other cases set them and "
                                                f"no variable gives a default)")
            if split is not None and split not in SPLITS_BY_SUITE[suite]:
                self.fail(f"cases[{i}].split", f"a {suite} family has splits {', '.join(SPLITS_BY_SUITE[suite])}")
        for split in SPLITS_BY_SUITE[suite]:
            if cases and not any(s in (None, split) for s, _ in cases):
                self.fail("cases", f"no case for split {split!r}")
        return cases, set(only_cases)

    def variables(self, names: set[str]) -> list:
        """[(name, kind, spec)] in the order written; adds each name to ``names``."""
        variables = []
        for key, spec in self.raw.get("variables", {}).items():
            path = f"variables.{key}"
            if key in RESERVED or not re.match(r"^[A-Za-z_]\w*$", key):
                self.fail(path, "not a usable variable name" + (" (reserved)" if key in RESERVED else
                                                                 ": letters, digits and _ only"))
            if isinstance(spec, list):
                self.tree(spec, path, set(names))
                variables.append((key, "choice", spec))
            elif isinstance(spec, dict):
                kinds = [k for k in ("choice", "int", "float", "template") if k in spec]
                if len(kinds) != 1:
                    self.fail(path, "give exactly one of choice, int, float, template")
                else:
                    kind = kinds[0]
                    extra = set(spec) - {kind} - {"int": {"step"}, "float": {"digits"}}.get(kind, set())
                    if extra:
                        self.fail(path, f"{', '.join(sorted(extra))} does not go with {kind}")
                    if kind in ("int", "float") and spec[kind][0] > spec[kind][1]:
                        self.fail(f"{path}.{kind}", f"low end {spec[kind][0]} is above high end {spec[kind][1]}")
                    if kind == "template":
                        self.template(spec["template"], f"{path}.template", set(names))
                    if kind == "choice":
                        self.tree(spec["choice"], f"{path}.choice", set(names))
                    variables.append((key, kind, spec))
            else:
                self.tree(spec, path, set(names))
                variables.append((key, "const", spec))
            names.add(key)
        return variables

    def tool(self, t: dict, path: str, scope: set[str]) -> ToolSpec:
        params = {}
        for pname, p in (t.get("parameters") or {}).items():
            params[pname] = {"type": "string", "description": p, "required": True} if isinstance(p, str) \
                else {"required": True, "description": "", **p}
        schema = {"type": "object",
                  "properties": {k: {kk: vv for kk, vv in p.items() if kk != "required"} for k, p in params.items()},
                  "required": [k for k, p in params.items() if p["required"]]}
        for j, req in enumerate(t.get("requires", [])):
            if req not in params:
                self.fail(f"{path}.requires[{j}]", f"{req!r} is not a parameter of {t['name']} "
                                                   f"(parameters: {', '.join(params) or 'none'})")
        for k, v in (t.get("expects") or {}).items():
            if k not in params:
                self.fail(f"{path}.expects.{k}", f"not a parameter of {t['name']}")
            if isinstance(v, str):
                self.template(v, f"{path}.expects.{k}", scope)
        tscope = scope | {"args", "state"}
        raw = t["result"]
        cases = [{"text": raw}] if isinstance(raw, str) else raw
        results = []
        for j, case in enumerate(cases):
            rpath = f"{path}.result" if isinstance(raw, str) else f"{path}.result[{j}]"
            when = self.condition(case["when"], f"{rpath}.when", tscope) if "when" in case else None
            text = self.template(case["text"], rpath if isinstance(raw, str) else f"{rpath}.text", tscope)
            if text is not None:
                results.append(ResultCase(when, text, bool(case.get("error", False))))
        if "when" in cases[-1]:
            self.fail(f"{path}.result[{len(cases) - 1}]", "the last result case needs no 'when' (it is the fallback)")
        self.tree(t.get("sets", {}), f"{path}.sets", tscope)
        self.tree(t.get("appends", {}), f"{path}.appends", tscope)
        return ToolSpec(t["name"], t["description"], schema, bool(t.get("terminal", False)),
                        list(t.get("requires", [])), dict(t.get("expects") or {}), results, dict(t.get("sets", {})),
                        dict(t.get("appends", {})))

    def rule(self, kind: str, raw: dict, path: str, scope: set[str], tools: dict) -> Rule | None:
        tool_keys = {"tool", "args", "arg_matches", "arg_asserts"}
        msg_keys = {"message_matches", "message_asserts"}
        if ("tool" in raw) == bool(msg_keys & set(raw)):
            self.fail(path, "a rule names a 'tool', or matches the final message (message_matches / "
                            "message_asserts), not both and not neither")
            return None
        if "tool" not in raw and tool_keys & set(raw):
            self.fail(path, f"{', '.join(sorted(tool_keys & set(raw)))} only go with 'tool'")
            return None
        rule = Rule(kind, evidence=None)
        if "tool" in raw:
            rule.tool = raw["tool"]
            if rule.tool not in tools:
                self.fail(f"{path}.tool", f"tool {rule.tool!r} is not defined (tools: {', '.join(tools)})")
                return None
            params = tools[rule.tool].parameters["properties"]
            cscope = scope | {"args"}
            if "when" in raw:
                rule.when = self.condition(raw["when"], f"{path}.when", cscope)
            for key in ("args", "arg_matches", "arg_asserts"):
                for k in raw.get(key, {}):
                    if k not in params:
                        self.fail(f"{path}.{key}.{k}", f"not a parameter of {rule.tool} "
                                                       f"(parameters: {', '.join(params) or 'none'})")
            for k, v in raw.get("args", {}).items():
                if isinstance(v, str):
                    self.template(v, f"{path}.args.{k}", scope)
            rule.args = dict(raw.get("args", {}))
            rule.arg_matches = {k: self.regex(v, f"{path}.arg_matches.{k}")
                                for k, v in raw.get("arg_matches", {}).items()}
            rule.arg_asserts = {k: p for k, v in raw.get("arg_asserts", {}).items()
                                if (p := self.regex(v, f"{path}.arg_asserts.{k}")) is not None}
            escope = scope | {"args", "call", "message"}
        else:
            if "when" in raw:
                rule.when = self.condition(raw["when"], f"{path}.when", scope)
            if "message_matches" in raw:
                rule.message_matches = self.regex(raw["message_matches"], f"{path}.message_matches")
            if "message_asserts" in raw:
                rule.message_asserts = self.regex(raw["message_asserts"], f"{path}.message_asserts")
            escope = scope | {"message"}
        for key in ("after", "not_after"):
            names = [raw[key]] if isinstance(raw.get(key), str) else raw.get(key, [])
            for name in names:
                if name not in tools:
                    self.fail(f"{path}.{key}", f"tool {name!r} is not defined (tools: {', '.join(tools)})")
            setattr(rule, key, list(names))
        if "evidence" in raw:
            rule.evidence = self.template(raw["evidence"], f"{path}.evidence", escope)
        if None in rule.arg_matches.values():
            return None
        return rule

    def script(self, key: str, scope: set[str], tools: dict) -> list[ScriptStep]:
        steps = []
        for i, raw in enumerate(self.raw[key]):
            path = f"{key}[{i}]"
            if ("tool" in raw) == ("message" in raw):
                self.fail(path, "a step has a 'tool' (with 'args') or a final 'message', not both and not neither")
                continue
            if "args" in raw and "tool" not in raw:
                self.fail(f"{path}.args", "args only go with 'tool'")
            tool = raw.get("tool")
            if tool is not None and tool not in tools:
                self.fail(f"{path}.tool", f"tool {tool!r} is not defined (tools: {', '.join(tools)})")
                continue
            sscope = scope | {"state"}
            if tool is not None:
                params = tools[tool].parameters["properties"]
                for k in raw.get("args", {}):
                    if k not in params:
                        self.fail(f"{path}.args.{k}", f"not a parameter of {tool} "
                                                      f"(parameters: {', '.join(params) or 'none'})")
            self.tree(raw.get("args", {}), f"{path}.args", sscope)
            when = self.condition(raw["when"], f"{path}.when", scope) if "when" in raw else None
            reasoning = self.template(raw["reasoning"], f"{path}.reasoning", sscope)
            message = self.template(raw["message"], f"{path}.message", sscope) if "message" in raw else None
            if reasoning is not None:
                steps.append(ScriptStep(when, reasoning, tool, dict(raw.get("args", {})), message))
        return steps

    def lint_deploy(self, r: dict) -> None:
        def check(value: Any, path: str, words: tuple[str, ...]) -> None:
            if isinstance(value, str):
                low = value.lower()
                hit = next((w for w in words if w in low), None)
                if hit:
                    self.fail(path, f"contains {hit!r} ({value[:60]!r}): the deploy variant of a test family "
                                    f"must show no sign of a test (the words {', '.join(words)} belong to the "
                                    f"eval cue, which is added for you)")
            elif isinstance(value, dict):
                for k, v in value.items():
                    check(v, f"{path}.{k}", words)
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    check(v, f"{path}[{i}]", words)

        for key in ("system", "user", "deploy_lines", "variables"):
            check(r.get(key), key, DEPLOY_WORDS)
        for i, case in enumerate(r.get("cases", [])):
            check(case["values"], f"cases[{i}].values", DEPLOY_WORDS)
        for i, t in enumerate(r["tools"]):
            check(t["description"], f"tools[{i}].description", DEPLOY_WORDS)
            for pname, p in (t.get("parameters") or {}).items():
                check(p if isinstance(p, str) else p.get("description", ""), f"tools[{i}].parameters.{pname}",
                      DEPLOY_WORDS)
            result = t["result"]
            if isinstance(result, str):
                check(result, f"tools[{i}].result", RESULT_WORDS)
            else:
                for j, case in enumerate(result):
                    check(case["text"], f"tools[{i}].result[{j}].text", RESULT_WORDS)


def compile_family(raw: Any, source: str = "") -> Spec:
    """Validate and compile a family given as a parsed YAML/JSON mapping."""
    if not isinstance(raw, dict):
        raise DeclarativeError([f"<top level>: expected a mapping of family keys, got {type(raw).__name__}"], source)
    spec = _Compiler(raw, source).compile()
    spec.sha256 = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return spec
