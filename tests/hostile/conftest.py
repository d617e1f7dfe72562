"""The hostile-input suite's tally, printed at the end of the run: cases, outcomes, tracebacks and silent
acceptances (outside and inside the items pending another helper's fix), and what each pending item does now."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from hostile.harness import TALLY

    rows = config.stash.get(TALLY, [])
    if not rows:
        return
    settled = [(c, o, p) for c, o, p in rows if c.pending is None]
    pending = [(c, o, p) for c, o, p in rows if c.pending is not None]

    def bad(group):
        tracebacks = sum(o.traceback for _, o, _ in group)
        silent = sum(c.expect == "error" and o.code == 0 and not o.traceback for c, o, _ in group)
        return tracebacks, silent

    errors = sum(c.expect == "error" and p is None for c, _, p in rows)
    skipped = sum(c.expect == "skip" and p is None for c, _, p in rows)
    (t, s), (pt, ps) = bad(settled), bad(pending)
    terminalreporter.write_line(
        f"hostile corpus: {len(rows)} cases: {errors} clear errors, {skipped} recorded and skipped; "
        f"{t} tracebacks, {s} silent acceptances; {len(pending)} pending another helper's fix "
        f"({pt} tracebacks, {ps} silent acceptances among them)")
    for c, _, p in pending:
        terminalreporter.write_line(f"  pending {c.pending}: {c.id}: {p or 'passes now: drop its pending mark'}"[:300])
