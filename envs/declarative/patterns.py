"""Regular expressions from family files, bounded: a pattern is at most ``MAX_PATTERN_CHARS`` long,
compiled with the ``regex`` engine (``re``-compatible syntax), and every match runs under a
``MATCH_TIMEOUT_S`` timeout. A pattern that backtracks catastrophically (``^(\\w+\\s?)*$``) costs
at most that long and then fails the grading with a :class:`PatternTimeout` naming the pattern,
never a silent wrong grade or a stage that hangs. ``regex`` (a dependency of transformers) runs
many of the patterns that hang ``re`` in linear time to begin with.
"""

from __future__ import annotations

import regex

from deliberate.envs.core import EnvError
from deliberate.envs.helpers import NEGATION_RE

MAX_PATTERN_CHARS = 1000
MATCH_TIMEOUT_S = 1.0


class PatternTimeout(EnvError):
    """A family file's regular expression took longer than ``MATCH_TIMEOUT_S`` on one text."""


class SafePattern:
    """A compiled family-file pattern whose searches are bounded in time."""

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise ValueError(f"expected a string, got {type(text).__name__}")
        if len(text) > MAX_PATTERN_CHARS:
            raise ValueError(f"{len(text)} characters long; at most {MAX_PATTERN_CHARS}")
        try:
            self.compiled = regex.compile(text, flags=regex.VERSION0)
        except (regex.error, RecursionError, OverflowError, MemoryError) as exc:
            raise ValueError(str(exc)) from None
        self.pattern = text

    def _timed(self, fn, text: str):
        try:
            return fn(text, timeout=MATCH_TIMEOUT_S)
        except TimeoutError:
            raise PatternTimeout(f"regular expression {self.pattern[:80]!r} took over {MATCH_TIMEOUT_S:g} s on a "
                                 f"{len(text)}-character text (catastrophic backtracking); simplify it, e.g. no "
                                 f"nested quantifiers like (a+)+") from None

    def search(self, text: str):
        return self._timed(self.compiled.search, text)

    def finditer(self, text: str) -> list:
        return self._timed(lambda t, timeout: list(self.compiled.finditer(t, timeout=timeout)), text)

    def __repr__(self) -> str:
        return f"SafePattern({self.pattern!r})"


def compile_pattern(text: str) -> SafePattern:
    """A bounded pattern; ``ValueError`` says what is wrong with the text."""
    return SafePattern(text)


def asserts(text: str, pattern: SafePattern) -> str | None:
    """``envs.helpers.asserts`` with a bounded pattern: the first match in the lowercased text that
    is not negated just before it ("not all green" does not assert "all green"); None if none."""
    low = (text or "").lower()
    for m in pattern.finditer(low):
        if not NEGATION_RE.search(low[max(0, m.start() - 30):m.start()]):
            return m.group(0)
    return None
