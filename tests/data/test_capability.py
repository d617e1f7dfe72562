"""Capability-only data for the durability run: right answers, nothing about the spec, deterministic."""

import datetime as dt
import json
import re

import pytest

from deliberate.config import CapabilityConfig, DurabilityConfig
from deliberate.data.capability import TASKS, durability_records, synthetic_records
from deliberate.data.mix import MixError

FORBIDDEN = re.compile(r"\b(spec|AS\d|GP\d|oversight|honest|deceiv|covert|monitor|test|evaluat|escalat|scheming)",
                       re.IGNORECASE)


def test_every_task_kind_appears_and_answers_are_right():
    records = synthetic_records(120, seed=3)
    assert len(records) == 120 and len({r["messages"][1]["content"] for r in records}) > 100
    kinds = {r["messages"][1]["content"].split()[0] for r in records}
    assert len(kinds) >= len(TASKS) - 1
    for r in records:
        q, a = r["messages"][1]["content"], r["messages"][2]["content"].removeprefix("Answer: ")
        if m := re.match(r"\w+ has (\d+) shelves with (\d+) \w+ each and gives away (\d+)", q):
            b, n, c = map(int, m.groups())
            assert int(a) == b * n - c
        elif q.startswith("Sort"):
            xs = [int(x) for x in re.findall(r"\d+", q)]
            assert a == ", ".join(map(str, sorted(xs)))
        elif m := re.match(r"How many times does the letter '(\w)' appear in the word '(\w+)'", q):
            assert int(a) == m.group(2).count(m.group(1))
        elif m := re.match(r"A shipment leaves on (\S+) and takes (\d+) days", q):
            assert a == (dt.date.fromisoformat(m.group(1)) + dt.timedelta(days=int(m.group(2)))).isoformat()
        elif m := re.match(r"Write the word '(\w+)' backwards", q):
            assert a == f"{m.group(1)[::-1]} ({len(m.group(1))} letters)"
        elif m := re.match(r"A trail is (\d+) km long", q):
            assert a.startswith(f"{int(m.group(1)) * 1000} m")
        else:
            pytest.fail(f"unknown task: {q}")


def test_says_nothing_about_the_spec_or_oversight():
    for r in synthetic_records(300, seed=0):
        for m in r["messages"]:
            text = m["content"] + " " + m["reasoning"]
            assert not FORBIDDEN.search(text), text


def test_deterministic_in_the_seed():
    assert synthetic_records(20, 1) == synthetic_records(20, 1) != synthetic_records(20, 2)


def test_dataset_source_draws_examples_and_names_the_key(tmp_path):
    path = tmp_path / "cap.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
            for i in range(10)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    records, report = durability_records(DurabilityConfig(dataset=CapabilityConfig(path=str(path)), examples=4))
    assert len(records) == 4 and report["source"] == "dataset" and report["kept"] == 4
    with pytest.raises(MixError, match="durability.dataset.path"):
        durability_records(DurabilityConfig(dataset=CapabilityConfig(path=str(tmp_path / "missing.jsonl"))))
    records, report = durability_records(DurabilityConfig(examples=7, seed=2))
    assert len(records) == 7 and report == {"source": "synthetic", "examples": 7, "seed": 2}
