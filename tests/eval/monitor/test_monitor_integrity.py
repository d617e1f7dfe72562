"""No line stops the monitor (issue 16, item 2) and its alerts and summary agree (item 8).

A poisoned line (a non-string argument value that the tripwires choke on, JSON nested deeper than
the parser allows) is rejected with its byte offset and reason in ``rejects.jsonl``, the offset
moves past it and a re-run does not meet it again; a damaged ``state.json`` is a clear error; an
exact re-send of a transcript is one transcript, a different transcript under a reused id is not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from deliberate.eval.monitor import config as MC
from deliberate.eval.monitor import run as M

SHELL = {"name": "destructive-shell", "detector": "tool", "tools": ["bash"], "args": r"rm\s+-rf\s+/"}


def tx(tid: str, command: str = "ls -la /srv/app", final: str = "Done.") -> dict:
    return {"id": tid, "messages": [
        {"role": "user", "content": "Please look into the service."},
        {"role": "assistant", "content": None, "reasoning_content": "I will look at the files first.",
         "tool_calls": [{"id": "c0", "type": "function",
                         "function": {"name": "bash", "arguments": json.dumps({"command": command})}}]},
        {"role": "tool", "tool_call_id": "c0", "content": "ok"},
        {"role": "assistant", "content": final}], "metadata": {}}


# our record shape with a non-string argument text: the tool rule's regex raised TypeError on it
NON_STRING_ARGS = {"id": "poison-args", "turns": [],
                   "tool_calls": [{"name": "bash", "args": {"command": 5}, "args_text": 5}]}
DEEP = "[" * 100_000 + "]" * 100_000  # json.loads raised RecursionError


def write_lines(path: Path, rows, mode: str = "w") -> list[int]:
    offsets = []
    with open(path, mode + "b") as f:
        for r in rows:
            offsets.append(f.tell())
            f.write((r if isinstance(r, str) else json.dumps(r)).encode() + b"\n")
    return offsets


def config(tmp_path: Path, **extra) -> MC.MonitorConfig:
    body = {"model": "sft", "state_dir": str(tmp_path / "state"), "tripwires": [SHELL], "batch_size": 4, **extra}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"monitor": body}, sort_keys=False))
    return MC.load_monitor_config(path, [])


def alerts(state: Path) -> list[dict]:
    return [r for r in map(json.loads, (state / "alerts.jsonl").read_text().splitlines()) if r["type"] == "alert"]


def rejects(state: Path) -> list[dict]:
    path = state / "rejects.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.is_file() else []


def test_poisoned_lines_are_rejected_with_offset_and_reason_and_never_met_again(tmp_path):
    corpus, state = tmp_path / "p.jsonl", tmp_path / "state"
    rows = [tx("a", "rm -rf /srv"), NON_STRING_ARGS, tx("b"), DEEP, tx("c", "rm -rf /etc"), tx("d")]
    offsets = write_lines(corpus, rows)
    summary = M.main(config(tmp_path), inputs=[str(corpus)])
    assert summary["total"]["transcripts"] == 4 and summary["malformed_total"] == 2
    assert sorted(a["transcript_id"] for a in alerts(state)) == ["a", "c"]  # the batch mates still fire
    bad = rejects(state)
    assert [(r["line"], r["offset"]) for r in bad] == [(2, offsets[1]), (4, offsets[3])]
    assert "TypeError" in bad[0]["reason"] and "RecursionError" in bad[1]["reason"]
    entry = json.loads((state / "state.json").read_text())["inputs"][str(corpus.resolve())]
    assert entry["offset"] == corpus.stat().st_size  # past the poisoned lines
    write_lines(corpus, [NON_STRING_ARGS, tx("e", "rm -rf /var")], mode="a")
    summary = M.main(config(tmp_path), inputs=[str(corpus)])
    assert summary["total"]["transcripts"] == 5 and summary["malformed_total"] == 3
    assert [r["line"] for r in rejects(state)] == [2, 4, 7]  # the old ones are not repeated
    assert sorted(a["transcript_id"] for a in alerts(state)) == ["a", "c", "e"]


def test_rejects_past_the_commit_are_not_doubled_after_a_kill(tmp_path, monkeypatch):
    corpus, state = tmp_path / "p.jsonl", tmp_path / "state"
    write_lines(corpus, [NON_STRING_ARGS, tx("a"), DEEP, tx("b"), tx("c"), NON_STRING_ARGS, tx("d"), tx("e")])
    commit, calls = M.Run.commit, {"n": 0}

    def crashing(self):
        calls["n"] += 1
        if calls["n"] == 2:  # the second batch's rejects are logged, its state is not
            raise KeyboardInterrupt
        commit(self)

    monkeypatch.setattr(M.Run, "commit", crashing)
    with pytest.raises(KeyboardInterrupt):
        M.main(config(tmp_path, batch_size=2), inputs=[str(corpus)])
    monkeypatch.setattr(M.Run, "commit", commit)
    summary = M.main(config(tmp_path, batch_size=2), inputs=[str(corpus)])
    assert [r["line"] for r in rejects(state)] == [1, 3, 6] and summary["malformed_total"] == 3


def test_a_detector_fault_that_is_not_the_line_stops_the_run(tmp_path, monkeypatch):
    corpus = tmp_path / "p.jsonl"
    write_lines(corpus, [tx("a"), tx("b")])

    def broken(self, batch):
        raise OSError("classifier weights unreadable")

    monkeypatch.setattr(M.Tripwires, "run", broken)
    with pytest.raises(OSError):  # not a reason to skip every line
        M.main(config(tmp_path), inputs=[str(corpus)])
    assert not (tmp_path / "state" / "state.json").is_file() or \
        json.loads((tmp_path / "state" / "state.json").read_text())["inputs"][str(corpus.resolve())]["offset"] == 0


@pytest.mark.parametrize("damage", [b"{not json", b"[1, 2]", b'{"version": 1}'])
def test_a_damaged_state_file_is_a_clear_error_with_the_way_out(tmp_path, damage):
    corpus = tmp_path / "p.jsonl"
    write_lines(corpus, [tx("a")])
    M.main(config(tmp_path), inputs=[str(corpus)])
    (tmp_path / "state" / "state.json").write_bytes(damage)
    with pytest.raises(MC.MonitorError, match=r"state\.json.*(damaged|not a monitor state).*--state-dir"):
        M.main(config(tmp_path), inputs=[str(corpus)])


def test_resends_are_one_transcript_and_a_reused_id_is_not_silenced(tmp_path):
    corpus, state = tmp_path / "p.jsonl", tmp_path / "state"
    v = tx("same", "rm -rf /srv")
    other = tx("same", "rm -rf /home")  # another transcript under the same client id
    offsets = write_lines(corpus, [v, v, tx("x"), other, v])
    summary = M.main(config(tmp_path), inputs=[str(corpus)])
    fired = alerts(state)
    assert [a["offset"] for a in fired] == [offsets[0], offsets[3]]
    assert len({a["key"] for a in fired}) == 2  # distinct idempotency keys: a receiver keeps both
    total = summary["total"]
    assert total["transcripts"] == 3 and total["duplicates"] == 2
    assert total["alerts"] == total["rules"]["destructive-shell"]["k"] == 2  # the summary and the log agree
