"""Live progress for the loops a user waits on: a tqdm bar on a terminal, log lines elsewhere.

    with progress(len(scenarios), "[eval] base", unit="episode") as bar:
        ...
        bar.update(finished)
        bar.set_postfix(turns=3)

When stderr is a terminal: a tqdm bar with rate and ETA (log lines printed meanwhile go above
it). Otherwise (CI, slurm logs, tests): INFO lines on the ``deliberate.progress`` logger, one at
the start, then at most one every ``DELIBERATE_PROGRESS_INTERVAL`` seconds (default 10), and a
last one at the close with the count, the wall time and the rate:

    [eval] base: episodes 0/48 (0%)
    [eval] base: episodes 0/48 (0%) (+3.2 in flight) in 10.0 s, 0.32/s, ETA 2 min 20 s, turns 0
    [eval] base: episodes 12/48 (25%) in 15.0 s, 0.8/s, ETA 45.0 s, turns 3
    [eval] base: 48 episodes in 1 min 01 s, 0.79/s, turns 6

With that logger quiet (``deliberate -q``) or ``desc`` None, the bar does nothing (no clock reads).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable

from deliberate.errors import UserError

log = logging.getLogger(__name__)

INTERVAL_VARIABLE = "DELIBERATE_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 10.0  # seconds between two log lines of one loop


def interval() -> float:
    """Seconds between periodic log lines, from ``DELIBERATE_PROGRESS_INTERVAL`` (0: every update)."""
    raw = os.environ.get(INTERVAL_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= 0:  # also NaN
        raise UserError(f"{INTERVAL_VARIABLE} must be a number of seconds >= 0, got {raw!r}")
    return value


class Progress:
    """The interface, and the bar that shows nothing. ``n``: the count so far."""

    n = 0

    def update(self, n: int = 1, in_flight: float = 0.0) -> None:
        """``n`` more items done; ``in_flight``: as in :meth:`partial`."""

    def set_postfix(self, **fields) -> None:
        """Extra ``name value`` pairs shown after the count (e.g. ``turns=3``)."""

    def partial(self, units: float) -> None:
        """An estimate of the work in flight, in items (e.g. 2.4 episodes' worth of turns played
        by unfinished episodes): shown, and counted in the rate and ETA, so a loop whose items
        take minutes each shows progress before the first one ends. The next :meth:`update`
        sets it again."""

    def close(self, stopped: bool = False) -> None:
        """The last line; ``stopped``: the loop ended early (an exception)."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(stopped=exc_type is not None)


def progress(total: int | None, desc: str | None, unit: str = "item", *,
             clock: Callable[[], float] = time.monotonic) -> Progress:
    """A progress display over ``total`` items (None: unknown, so no percentage or ETA) named
    ``desc`` (a stage tag and what runs, e.g. ``"[eval] base"``; None, or nothing to do: no display)."""
    if desc is None or total == 0 or not log.isEnabledFor(logging.INFO):
        return Progress()
    if sys.stderr is not None and sys.stderr.isatty():
        return _Bar(total, desc, unit)
    return _Lines(total, desc, unit, interval(), clock)


def duration(seconds: float) -> str:
    """``4.2 s``, ``3 min 05 s``, ``2 h 10 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _rate(per_second: float) -> str:
    if per_second >= 100:
        return f"{per_second:.0f}/s"
    return f"{per_second:.1f}/s" if per_second >= 1 else f"{per_second:.2g}/s"


class _Lines(Progress):
    """Plain log lines: at the start, at most every ``every`` seconds, at the close."""

    def __init__(self, total: int | None, desc: str, unit: str, every: float, clock: Callable[[], float]):
        self.total, self.desc, self.units, self.every, self.clock = total, desc, f"{unit}s", every, clock
        self.postfix: dict = {}
        self.extra = 0.0  # work in flight, in items (partial)
        self.closed = False
        self.start = self.last = clock()
        log.info("%s: %s", desc, self._count())

    def _count(self) -> str:
        if self.total is None:
            return f"{self.units} {self.n}"
        return f"{self.units} {self.n}/{self.total} ({100 * self.n // max(1, self.total)}%)"

    def _tail(self) -> str:
        return "".join(f", {k} {v}" for k, v in self.postfix.items())

    def update(self, n: int = 1, in_flight: float = 0.0) -> None:
        self.n += n
        self.extra = max(0.0, float(in_flight))
        if self.total is not None and self.n >= self.total:  # all done: the closing line says it
            return
        self._line()

    def partial(self, units: float) -> None:
        self.extra = max(0.0, float(units))
        self._line()

    def _line(self) -> None:
        if self.closed:
            return
        now = self.clock()
        if now - self.last < self.every:
            return
        self.last, elapsed = now, now - self.start
        done = self.n + self.extra
        line = f"{self.desc}: {self._count()}"
        if self.extra:
            line += f" (+{self.extra:.1f} in flight)"
        line += f" in {duration(elapsed)}"
        if done and elapsed > 0:
            line += f", {_rate(done / elapsed)}"
            if self.total is not None:
                line += f", ETA {duration(max(0, self.total - done) * elapsed / done)}"
        log.info("%s%s", line, self._tail())

    def set_postfix(self, **fields) -> None:
        self.postfix.update(fields)

    def close(self, stopped: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        elapsed = self.clock() - self.start
        count = str(self.n) if self.total is None or self.n == self.total else f"{self.n}/{self.total}"
        rate = f", {_rate(self.n / elapsed)}" if elapsed > 0 else ""
        if stopped:
            log.info("%s: stopped at %s %s after %s%s", self.desc, count, self.units, duration(elapsed), self._tail())
        else:
            log.info("%s: %s %s in %s%s%s", self.desc, count, self.units, duration(elapsed), rate, self._tail())


class _Bar(Progress):
    """A tqdm bar on stderr; log records go through ``tqdm.write`` meanwhile, so they do not tear it."""

    def __init__(self, total: int | None, desc: str, unit: str):
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        self._redirect = logging_redirect_tqdm(tqdm_class=tqdm)
        self._redirect.__enter__()
        self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)
        self._done = 0  # finished items; the bar's own count also holds the work in flight

    @property
    def n(self) -> int:
        return self._done

    def update(self, n: int = 1, in_flight: float = 0.0) -> None:
        self._done += n
        self._bar.update(self._done + in_flight - self._bar.n if in_flight > 0 else self._done - self._bar.n)

    def partial(self, units: float) -> None:
        if self._redirect is None:  # closed
            return
        self._bar.update(self._done + max(0.0, float(units)) - self._bar.n)  # tqdm redraws at most 10 times a second

    def set_postfix(self, **fields) -> None:
        self._bar.set_postfix(fields, refresh=False)

    def close(self, stopped: bool = False) -> None:
        if self._redirect is None:
            return
        self._bar.close()
        self._redirect.__exit__(None, None, None)
        self._redirect = None
