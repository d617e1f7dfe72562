"""Live progress: log lines off a terminal (start, every interval, close), tqdm on one, nothing
under -q; the loops that use it (rollouts, the offline classifiers, the monitor) and the stage's
closing line with tokens/s."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from types import SimpleNamespace

import pytest
import yaml

from deliberate import progress as P
from deliberate.backends import Completion
from deliberate.config import GenerationConfig
from deliberate.envs.core import get_family
from deliberate.errors import UserError
from deliberate.rollout import run_rollouts


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def lines(monkeypatch, caplog):
    """Progress log lines, off a terminal, every update (interval 0) unless a test sets another."""
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setenv(P.INTERVAL_VARIABLE, "0")
    caplog.set_level(logging.INFO, logger="deliberate")
    return lambda: [r.getMessage() for r in caplog.records if r.name == P.log.name]


def test_log_lines_at_start_every_interval_and_at_close(lines, monkeypatch):
    monkeypatch.setenv(P.INTERVAL_VARIABLE, "10")
    now = [0.0]
    with P.progress(4, "[eval] base", unit="episode", clock=lambda: now[0]) as bar:
        assert lines() == ["[eval] base: episodes 0/4 (0%)"]  # at once: the stage is alive
        for t, n in ((5, 1), (12, 1), (15, 0), (30, 1), (35, 1)):
            now[0] = t
            bar.set_postfix(turns=t // 5)
            bar.update(n)
        now[0] = 40.0
    assert lines() == ["[eval] base: episodes 0/4 (0%)",
                       "[eval] base: episodes 2/4 (50%) in 12.0 s, 0.17/s, ETA 12.0 s, turns 2",
                       "[eval] base: episodes 3/4 (75%) in 30.0 s, 0.1/s, ETA 10.0 s, turns 6",
                       "[eval] base: 4 episodes in 40.0 s, 0.1/s, turns 7"]  # 4/4 at 35 s: only the close


def test_unknown_total_no_eta_and_a_stopped_loop_says_so(lines):
    now = [0.0]
    with pytest.raises(KeyError), P.progress(None, "[monitor] reading", unit="transcript",
                                             clock=lambda: now[0]) as bar:
        now[0] = 125.0
        bar.update(250)
        raise KeyError("boom")
    assert lines() == ["[monitor] reading: transcripts 0",
                       "[monitor] reading: transcripts 250 in 2 min 05 s, 2.0/s",
                       "[monitor] reading: stopped at 250 transcripts after 2 min 05 s"]


def test_interval_variable(monkeypatch):
    monkeypatch.delenv(P.INTERVAL_VARIABLE, raising=False)
    assert P.interval() == P.DEFAULT_INTERVAL
    monkeypatch.setenv(P.INTERVAL_VARIABLE, "2.5")
    assert P.interval() == 2.5
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv(P.INTERVAL_VARIABLE, bad)
        with pytest.raises(UserError, match=P.INTERVAL_VARIABLE):
            P.interval()


def test_terminal_gets_a_tqdm_bar_and_log_lines_go_above_it(monkeypatch, caplog):
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    caplog.set_level(logging.INFO, logger="deliberate")
    root = logging.getLogger()
    handlers = list(root.handlers)
    with P.progress(3, "[data] shard 1/2", unit="episode") as bar:
        assert type(bar).__name__ == "_Bar"
        bar.update(3)
    assert root.handlers == handlers  # the tqdm logging redirect is undone
    out = tty.getvalue()
    assert "[data] shard 1/2" in out and "3/3" in out and "episode/s" in out
    assert not [r for r in caplog.records if r.name == P.log.name]  # the bar, not log lines


@pytest.mark.parametrize("tty", [False, True])
def test_quiet_prints_nothing(monkeypatch, tty):
    from deliberate.cli import setup_logging

    err = FakeTTY() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv(P.INTERVAL_VARIABLE, "0")
    root, ours = logging.getLogger(), logging.getLogger("deliberate")
    handlers, levels = list(root.handlers), (root.level, ours.level)
    try:
        setup_logging(-1)  # deliberate -q
        bar = P.progress(5, "[eval] base", unit="episode")
        assert type(bar) is P.Progress  # does nothing
        with bar:
            bar.update(5)
        assert err.getvalue() == ""
        setup_logging(0)  # the default: the lines reach stderr (off a terminal)
        with P.progress(2, "[eval] base", unit="episode", clock=lambda: 0.0) as bar:
            bar.update(2)
        assert tty or err.getvalue().splitlines() == ["[eval] base: episodes 0/2 (0%)",
                                                      "[eval] base: 2 episodes in 0.0 s"]
    finally:  # pytest's own log handlers back
        root.handlers[:] = handlers
        root.setLevel(levels[0])
        ours.setLevel(levels[1])


def test_no_description_or_no_work_shows_nothing(lines):
    assert type(P.progress(10, None)) is P.Progress
    assert type(P.progress(0, "[eval] base")) is P.Progress
    assert lines() == []


# ------------------------------------------------------------------------------ the loops


class ScriptedBackend:
    """A reply per conversation chosen by its task text: ``by_task[user text](turn) -> Completion``."""

    def __init__(self, by_task):
        self.by_task = by_task
        self.gen = GenerationConfig()

    def supports_native_tools(self):
        return False

    def respond(self, conversations, tools=None):
        return [self.by_task[c[1]["content"]](sum(m["role"] == "assistant" for m in c)) for c in conversations]


def test_run_rollouts_reports_every_finished_episode(lines):
    long_a, long_b = (get_family("oversight_config").sample(s, "test", "deploy") for s in (2, 3))
    short = get_family("impossible_checklist").sample(1, "test", "eval")
    read = Completion(text='{"tool": "read_config", "args": {}}')
    backend = ScriptedBackend({
        short.user: lambda turn: Completion(text="I like turtles."),  # a message: done after 1 turn
        long_b.user: lambda turn: read if turn == 0 else Completion(error="HTTP 500"),  # fails in turn 2
        long_a.user: lambda turn: read,  # out of turns after 3
    })
    rollouts = run_rollouts(backend, [long_a, long_b, short], max_turns=3, progress="[eval] base")
    assert [len(r.turns) for r in rollouts] == [3, 2, 1] and rollouts[1].error == "HTTP 500"
    got = lines()
    assert got[0] == "[eval] base: episodes 0/3 (0%)"
    assert [re.search(r"episodes (\d)/3", g).group(1) for g in got[1:-1]] == ["0", "1", "2"]  # then 3/3: the close
    assert [g.rsplit("turns ", 1)[1] for g in got[1:-1]] == ["0", "1", "2"]
    assert re.fullmatch(r"\[eval\] base: 3 episodes in [\d.]+ s(, [\d.]+/s)?, turns 3", got[-1]), got[-1]


def test_run_rollouts_without_progress_logs_nothing(lines):
    sc = get_family("impossible_checklist").sample(1, "test", "eval")
    run_rollouts(ScriptedBackend({sc.user: lambda turn: Completion(text="Done.")}), [sc])
    assert lines() == []


def test_offline_classifier_chunks_give_the_same_scores_with_progress(lines, monkeypatch):
    from deliberate.eval.classifiers import ClassifierError, make_awareness
    from deliberate.eval.classifiers import offline as O

    try:
        plain = make_awareness("offline")
    except ClassifierError as exc:
        pytest.skip(str(exc))
    monkeypatch.setattr(O, "EMBED_CHUNK", 128)  # one encoder batch per chunk, so a few chunks here
    shown = make_awareness("offline", progress="[report] awareness")
    texts = [f"Step {i}: I read the config file and check entry {i}.\nThis might be a test of whether I cheat."
             * (1 + i % 3) for i in range(60)]
    assert shown.classify(texts) == plain.classify(texts)
    got = lines()
    assert got[0].startswith("[report] awareness: sentences 0/") and len(got) >= 4
    assert re.fullmatch(r"\[report\] awareness: \d+ sentences in .*", got[-1])


def test_monitor_counts_transcripts_read(lines, tmp_path):
    from deliberate.eval.monitor import config as MC
    from deliberate.eval.monitor import run as M

    corpus = tmp_path / "prod.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"t{i}", "messages": [
        {"role": "user", "content": "Check the build."},
        {"role": "assistant", "content": "All checks passed." if i % 2 else "Done."}]}) + "\n" for i in range(10)))
    cfg_path = tmp_path / "monitor.yaml"
    cfg_path.write_text(yaml.safe_dump({"monitor": {
        "model": "sft", "state_dir": str(tmp_path / "state"), "batch_size": 4,
        "tripwires": [{"name": "false-success", "detector": "text", "pattern": r"\ball checks passed\b"}]}}))
    M.main(MC.load_monitor_config(cfg_path, []), inputs=[str(corpus)])
    got = lines()
    assert got[0] == "[monitor] reading: transcripts 0"
    assert [re.search(r"transcripts (\d+) in", g).group(1) for g in got[1:-1]] == ["4", "8", "10"]
    assert got[-2].endswith(f"at prod.jsonl 0.0/{corpus.stat().st_size / 2**20:.1f} MiB")
    assert re.fullmatch(r"\[monitor\] reading: 10 transcripts in .*, at prod\.jsonl .*", got[-1])


# ------------------------------------------------------------------------------ the stage's closing line


def test_stage_closing_line_gives_tokens_per_second(tmp_path, caplog):
    from deliberate.stage import Result, run_stage

    cfg = SimpleNamespace(name="t", output_dir=str(tmp_path), wandb=SimpleNamespace(mode="disabled"),
                          stage_dir=lambda name: tmp_path / name)

    def work(tokens):
        def run(ctx):
            (ctx.dir / "out.txt").write_text("x")
            return Result(record_count=1, tokens=tokens)
        return run

    caplog.set_level(logging.INFO, logger="deliberate.stage")
    run_stage(cfg, "data", work(12345), config_hash="h1")
    run_stage(cfg, "eval", work(None), config_hash="h2")
    closing = [r.getMessage() for r in caplog.records if " wrote " in r.getMessage()]
    assert re.fullmatch(r"\[data\] wrote \S+ in [\d.]+ s \(content \w{12}\), 12345 tokens, [\d.]+ tokens/s",
                        closing[0]), closing
    assert re.fullmatch(r"\[eval\] wrote \S+ in [\d.]+ s \(content \w{12}\)", closing[1]), closing


def test_work_in_flight_gives_an_eta_before_the_first_item_ends(lines, monkeypatch):
    """Items that take minutes each (episodes of several turns) still show a rate and an ETA
    within the first interval, from the work in flight; update() replaces the estimate."""
    monkeypatch.setenv(P.INTERVAL_VARIABLE, "10")
    now = [0.0]
    with P.progress(4, "[data] shard 1/1", unit="episode", clock=lambda: now[0]) as bar:
        now[0] = 5.0
        bar.partial(0.2)  # within the interval: no line
        now[0] = 10.0
        bar.partial(0.5)
        now[0] = 30.0
        bar.update(1, in_flight=1.0)
        now[0] = 31.0
    got = lines()
    assert got[1] == "[data] shard 1/1: episodes 0/4 (0%) (+0.5 in flight) in 10.0 s, 0.05/s, ETA 1 min 10 s"
    assert got[2] == "[data] shard 1/1: episodes 1/4 (25%) (+1.0 in flight) in 30.0 s, 0.067/s, ETA 30.0 s"
    assert len(got) == 4 and not got[3].startswith("[data] shard 1/1: stopped")


def test_terminal_bar_counts_work_in_flight(monkeypatch, caplog):
    monkeypatch.setattr(sys, "stderr", FakeTTY())
    caplog.set_level(logging.INFO, logger="deliberate")
    with P.progress(3, "[eval] base", unit="episode") as bar:
        bar.partial(0.5)
        assert bar.n == 0 and bar._bar.n == 0.5  # finished count vs what the bar shows
        bar.update(1)
        assert bar.n == 1 and bar._bar.n == 1
    bar.partial(2.0)  # after the close: ignored, no error


def test_rollouts_on_a_local_model_report_tokens_in_flight(lines, tiny_model_dir):
    """Guided multi-turn episodes on the tiny model: lines with work in flight (from each decoding
    step) come before the first episode ends, and the hook is removed afterwards."""
    from deliberate.backends import TransformersBackend
    from deliberate.config import ModelConfig
    from deliberate.models import load_model

    model, tok = load_model(ModelConfig(name_or_path=str(tiny_model_dir)))
    backend = TransformersBackend(model, tok, GenerationConfig(batch_size=4, guided_actions=True, reasoning_tokens=6,
                                                               action_tokens=4, seed=1))
    scenarios = [get_family("oversight_config").sample(s, "test", "deploy") for s in (1, 2)]
    run_rollouts(backend, scenarios, max_turns=2, tool_format="json", progress="[eval] tiny")
    got = lines()
    flying = [g for g in got if "in flight" in g and "episodes 0/2" in g]
    assert flying and all("ETA" in g for g in flying), got[:5]
    assert backend.on_step is None
