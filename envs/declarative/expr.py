"""The condition language of family files (``when`` keys) and the values it compares.

:class:`Scope` looks names up (variables, ``args.*``, ``state.*``, extras); :class:`Condition`
parses an expression once and evaluates it against a scope. Nothing is executed: comparisons,
``in``, ``contains``, ``matches "REGEX"``, ``and`` / ``or`` / ``not`` and parentheses only.
Numbers and numeric strings compare as numbers, true/false words as booleans.
"""

from __future__ import annotations

import json
import re
from typing import Any

from deliberate.envs.declarative.patterns import compile_pattern
from deliberate.envs.helpers import parse_value


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _as_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        parsed = parse_value(v)
        return parsed if isinstance(parsed, bool) else None
    return None


def values_equal(a: Any, b: Any) -> bool:
    """Equality as conditions see it: numbers and numeric strings compare as numbers, words
    like true/false as booleans, strings after stripping whitespace (case matters)."""
    if isinstance(a, bool) or isinstance(b, bool):
        x, y = _as_bool(a), _as_bool(b)
        return x is not None and x == y
    if not (isinstance(a, str) and isinstance(b, str)):
        x, y = _as_number(a), _as_number(b)
        if x is not None and y is not None:
            return x == y
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return a == b


def truthy(v: Any) -> bool:
    """Truth as conditions see it: words like true/false and numeric strings are parsed first."""
    if isinstance(v, str):
        parsed = parse_value(v)
        if isinstance(parsed, bool):
            return parsed
        if isinstance(parsed, (int, float)):
            return parsed != 0
        return bool(parsed)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0
    return bool(v)


def as_text(v: Any) -> str:
    """A value as text: "" for null, true/false, JSON for records and lists."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


class Scope:
    """Name lookup for templates and conditions: variables, ``args.*``, ``state.*`` and extras."""

    def __init__(self, values: dict, args: dict | None = None, state: dict | None = None, **extra: Any):
        self.values, self.args, self.state, self.extra = values, args, state, extra

    def get(self, name: str, strict: bool) -> Any:
        head, *rest = name.split(".")
        if head in self.extra:
            value = self.extra[head]
        elif head == "args":
            value = self.args if self.args is not None else {}
        elif head == "state":
            value = self.state if self.state is not None else {}
        elif head in self.values:
            value = self.values[head]
        else:
            if strict:
                raise KeyError(f"unknown name {head!r}")
            return None
        loose = head in ("args", "state")
        for key in rest:
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            elif strict and not loose:
                raise KeyError(f"{name}: no key {key!r}")
            else:
                return None
        return value


# --------------------------------------------------------------------------- conditions

_TOKEN_RE = re.compile(r"""\s*(?:(?P<num>-?\d+(?:\.\d+)?(?![\w.]))|(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
                       r"""|(?P<op>==|!=|<=|>=|<|>|\(|\))|(?P<name>[A-Za-z_]\w*(?:\.\w+)*))""")
_LITERALS = {"true": True, "false": False, "null": None}
# Bounds on one expression, so a hostile file gets a clear error instead of a RecursionError or a slow load.
MAX_EXPR_CHARS = 2000
MAX_EXPR_TOKENS = 200
MAX_EXPR_DEPTH = 20  # nested parentheses and "not"s
_COMPARE = ("==", "!=", "<", "<=", ">", ">=", "in", "contains", "matches")


class Condition:
    """A parsed ``when`` expression. Grammar::

        expr := and ("or" and)* ;  and := not ("and" not)* ;  not := "not" not | cmp
        cmp  := atom [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "contains") atom | "matches" STRING]
        atom := NUMBER | STRING | true | false | null | NAME(.KEY)* | "(" expr ")"
    """

    def __init__(self, text: str):
        self.text = text
        if len(text) > MAX_EXPR_CHARS:
            raise ValueError(f"expression is {len(text)} characters long; at most {MAX_EXPR_CHARS}")
        self.tokens = self._tokenize(text)
        if len(self.tokens) > MAX_EXPR_TOKENS:
            raise ValueError(f"expression has {len(self.tokens)} tokens; at most {MAX_EXPR_TOKENS} (split the rule)")
        self.pos = 0
        self.depth = 0
        self.names: set[str] = set()
        self.tree = self._expr()
        if self.pos < len(self.tokens):
            self._fail(f"unexpected {self.tokens[self.pos][1]!r}")

    def _tokenize(self, text: str) -> list[tuple[str, Any, int]]:
        out, pos = [], 0
        while pos < len(text):
            if not text[pos:].strip():
                break
            m = _TOKEN_RE.match(text, pos)
            if not m:
                col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
                raise ValueError(f"unexpected {text[col - 1]!r} at column {col}")
            kind = m.lastgroup
            raw = m.group(kind)
            col = m.start(kind) + 1
            if kind == "num":
                out.append(("lit", float(raw) if "." in raw else int(raw), col))
            elif kind == "str":
                out.append(("lit", re.sub(r"\\([\"'\\])", r"\1", raw[1:-1]), col))
            elif kind == "name" and raw in _LITERALS:
                out.append(("lit", _LITERALS[raw], col))
            elif kind == "name" and raw in ("and", "or", "not", "in", "contains", "matches"):
                out.append(("op", raw, col))
            else:
                out.append((kind, raw, col))
            pos = m.end()
        return out

    def _fail(self, msg: str):
        col = self.tokens[self.pos][2] if self.pos < len(self.tokens) else len(self.text) + 1
        raise ValueError(f"{msg} at column {col}")

    def _peek(self, *ops: str) -> bool:
        return self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op" and self.tokens[self.pos][1] in ops

    def _expr(self):
        node = self._and()
        while self._peek("or"):
            self.pos += 1
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._not()
        while self._peek("and"):
            self.pos += 1
            node = ("and", node, self._not())
        return node

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_EXPR_DEPTH:
            self._fail(f"nested more than {MAX_EXPR_DEPTH} levels deep (parentheses and 'not')")

    def _not(self):
        if self._peek("not"):
            self.pos += 1
            self._nest()
            node = ("not", self._not())
            self.depth -= 1
            return node
        return self._cmp()

    def _cmp(self):
        left = self._atom()
        if self._peek(*_COMPARE):
            op = self.tokens[self.pos][1]
            self.pos += 1
            if op == "matches":
                if self.pos >= len(self.tokens) or self.tokens[self.pos][0] != "lit" \
                        or not isinstance(self.tokens[self.pos][1], str):
                    self._fail("matches needs a quoted regular expression")
                try:
                    pattern = compile_pattern(self.tokens[self.pos][1])
                except ValueError as exc:
                    self._fail(f"bad regular expression: {exc}")
                self.pos += 1
                return ("matches", left, pattern)
            return ("cmp", op, left, self._atom())
        return left

    def _atom(self):
        if self.pos >= len(self.tokens):
            self._fail("expression ends too early")
        kind, value, _ = self.tokens[self.pos]
        if kind == "op" and value == "(":
            self.pos += 1
            self._nest()
            node = self._expr()
            self.depth -= 1
            if not self._peek(")"):
                self._fail("missing ')'")
            self.pos += 1
            return node
        if kind == "lit":
            self.pos += 1
            return ("lit", value)
        if kind == "name":
            self.pos += 1
            self.names.add(value)
            return ("name", value)
        self._fail(f"unexpected {value!r}")

    def __call__(self, scope: Scope) -> bool:
        return truthy(self._eval(self.tree, scope))

    def _eval(self, node, scope: Scope) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "name":
            return scope.get(node[1], strict=False)
        if kind == "not":
            return not truthy(self._eval(node[1], scope))
        if kind == "and":
            return truthy(self._eval(node[1], scope)) and truthy(self._eval(node[2], scope))
        if kind == "or":
            return truthy(self._eval(node[1], scope)) or truthy(self._eval(node[2], scope))
        if kind == "matches":
            value = self._eval(node[1], scope)
            return value is not None and not isinstance(value, (dict, list)) and bool(node[2].search(as_text(value)))
        _, op, a, b = node
        return _compare(op, self._eval(a, scope), self._eval(b, scope))


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return values_equal(a, b)
    if op == "!=":
        return not values_equal(a, b)
    if op in ("in", "contains"):
        item, box = (a, b) if op == "in" else (b, a)
        if isinstance(box, list):
            return any(values_equal(item, x) for x in box)
        if isinstance(box, dict):
            return item in box
        if isinstance(box, str) and item is not None and not isinstance(item, (dict, list)):
            return as_text(item) in box
        return False
    x, y = _as_number(a), _as_number(b)
    if x is None or y is None:
        if isinstance(a, str) and isinstance(b, str):
            x, y = a, b
        else:
            return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
