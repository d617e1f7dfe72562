"""Run the CLI in-process on one hostile-corpus item and classify what happened.

An item (:class:`Case`) builds its files under a temporary folder and returns the CLI arguments;
:func:`run_cli` calls ``deliberate.cli.main(argv)`` with stdout/stderr captured and reports the exit
code, whether a traceback was printed or a non-UserError exception escaped, and the output.
:func:`judge` compares that with the item's expected outcome:

* ``error``: exit code 2, one clear message naming ``names`` (case-insensitive), no traceback;
* ``skip``: the input is recorded and skipped: exit 0, no traceback, and ``check(tmp)`` holds.

``forbid`` lists strings that must appear in no output (a key in the input is never echoed).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deliberate.cli import main as cli_main

TALLY = pytest.StashKey[list]()  # (case, outcome, problem) per item run, for conftest's closing tally


@dataclass
class Case:
    id: str
    kind: str  # config | override | spec | family | monitor | dataset
    build: Callable[[Path], list[str]]  # writes files under tmp, returns argv
    expect: str = "error"  # error | skip
    names: str = ""  # a substring the message must contain (error), or the output (skip)
    check: Callable[[Path], bool] | None = None  # skip: what must hold afterwards (e.g. malformed lines recorded)
    forbid: tuple[str, ...] = ()
    pending: str | None = None  # "H4" / "H3": another helper's fix makes this pass (xfail until then)
    needs: tuple[str, ...] = field(default_factory=tuple)  # fixtures: "dataset" (a valid data-stage output)


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str
    escaped: BaseException | None = None

    @property
    def text(self) -> str:
        return self.out + self.err

    @property
    def traceback(self) -> bool:
        return self.escaped is not None or "Traceback (most recent call last)" in self.text


def run_cli(argv: list[str]) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    code, escaped = None, None
    root = logging.getLogger()
    handlers = list(root.handlers)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # noqa: BLE001 - anything that escapes the CLI is a finding
            escaped = exc
        finally:
            root.handlers[:] = handlers  # setup_logging replaced them with one bound to our StringIO
    return Outcome(code, out.getvalue(), err.getvalue(), escaped)


def judge(case: Case, outcome: Outcome, tmp: Path) -> str | None:
    """None if the outcome is the expected one, else what is wrong (one line)."""
    if outcome.escaped is not None:
        return f"{type(outcome.escaped).__name__} escaped the CLI: {str(outcome.escaped)[:300]}"
    if outcome.traceback:
        return f"a traceback was printed: ...{outcome.text[-400:]}"
    for secret in case.forbid:
        if secret in outcome.text:
            return f"the output echoes {secret[:12]}..."
    if case.expect == "error":
        if outcome.code == 0:
            return f"silent acceptance: exit 0 where an error naming {case.names!r} is due; output {outcome.text[-300:]!r}"
        if outcome.code != 2:
            return f"exit code {outcome.code}, expected 2"
        if case.names.lower() not in outcome.text.lower():
            return f"the message does not name {case.names!r}: {outcome.text[-500:]!r}"
        return None
    if outcome.code != 0:
        return f"exit code {outcome.code} where the input should be recorded and skipped: {outcome.text[-400:]!r}"
    if case.names and case.names.lower() not in outcome.text.lower():
        return f"the output does not mention {case.names!r}: {outcome.text[-300:]!r}"
    if case.check is not None and not case.check(tmp):
        return "the input was not recorded as skipped"
    return None
