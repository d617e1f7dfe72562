"""The template language of family files: ``{name}`` / ``{name:FORMAT}`` substitution.

``{{`` and ``}}`` are literal braces; nothing else is evaluated. Names are looked up in a
:class:`~deliberate.envs.declarative.expr.Scope`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from deliberate.envs.declarative.expr import Scope, as_text

_PLACE_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME_RE = re.compile(r"^([A-Za-z_]\w*(?:\.\w+)*)(?::(.*))?$")
# A format's width and precision: ``{x:>100000000}`` would allocate hundreds of MB per rendering.
MAX_FORMAT_WIDTH = 1000
MAX_FORMAT_CHARS = 20
_FORMAT_NUMBER_RE = re.compile(r"\d+")


class Template:
    """``{name}`` / ``{name:FORMAT}`` substitution (``{{`` and ``}}`` are literal braces)."""

    def __init__(self, text: str):
        self.text = text
        self.parts: list[tuple[str, str, str]] = []  # ("lit", text, "") or ("name", name, format)
        pos = 0
        for m in _PLACE_RE.finditer(text):
            if m.start() > pos:
                self.parts.append(("lit", text[pos:m.start()], ""))
            token = m.group(0)
            if token in ("{{", "}}"):
                self.parts.append(("lit", token[0], ""))
            elif token in ("{", "}"):
                raise ValueError(f"unmatched {token!r} at column {m.start() + 1} (write {token * 2} for a brace)")
            else:
                inner = _NAME_RE.match(m.group(1).strip())
                if not inner:
                    raise ValueError(f"bad placeholder {token!r}: expected {{name}} or {{name:format}}")
                _check_format(inner.group(2) or "", token)
                self.parts.append(("name", inner.group(1), inner.group(2) or ""))
            pos = m.end()
        if pos < len(text):
            self.parts.append(("lit", text[pos:], ""))
        self.names = {p[1] for p in self.parts if p[0] == "name"}

    def _value(self, name: str, spec: str, scope: Scope) -> str:
        value = scope.get(name, strict=True)
        if spec:
            try:
                return format(value, spec)
            except (TypeError, ValueError):
                return as_text(value)
        return as_text(value)

    def render(self, scope: Scope) -> str:
        return "".join(p[1] if p[0] == "lit" else self._value(p[1], p[2], scope) for p in self.parts)

    def render_value(self, scope: Scope) -> Any:
        """A lone ``{name}`` gives the value itself (a number stays a number); else the text."""
        if len(self.parts) == 1 and self.parts[0][0] == "name" and not self.parts[0][2]:
            return copy.deepcopy(scope.get(self.parts[0][1], strict=True))
        return self.render(scope)

    def render_format(self, scope: Scope, keep: tuple[str, ...]) -> str:
        """Text for ``str.format`` later: braces escaped, ``{k}`` for names in ``keep`` left in."""
        out = []
        for kind, name, spec in self.parts:
            if kind == "lit":
                out.append(name.replace("{", "{{").replace("}", "}}"))
            elif name in keep:
                out.append("{" + name + (f":{spec}" if spec else "") + "}")
            else:
                out.append(self._value(name, spec, scope).replace("{", "{{").replace("}", "}}"))
        return "".join(out)

    def literal_text(self) -> str:
        return "".join(p[1] for p in self.parts if p[0] == "lit")


def _check_format(spec: str, token: str) -> None:
    """A format spec no wider than ``MAX_FORMAT_WIDTH`` (width and precision) and short."""
    if len(spec) > MAX_FORMAT_CHARS:
        raise ValueError(f"format of {token[:40]!r} is {len(spec)} characters long; at most {MAX_FORMAT_CHARS}")
    # the fill character may be a digit ("{n:0>4}"): skip it when an alignment follows it
    body = spec[2:] if len(spec) > 1 and spec[1] in "<>=^" else spec
    big = [int(n) for n in _FORMAT_NUMBER_RE.findall(body) if int(n) > MAX_FORMAT_WIDTH]
    if big:
        raise ValueError(f"format width or precision {big[0]} in {token[:40]!r} is above {MAX_FORMAT_WIDTH}")


def render_tree(value: Any, scope: Scope) -> Any:
    """Strings anywhere in a YAML value are templates (compiled on the fly; checked at load)."""
    if isinstance(value, str):
        return Template(value).render_value(scope)
    if isinstance(value, dict):
        return {k: render_tree(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, scope) for v in value]
    return copy.deepcopy(value)
