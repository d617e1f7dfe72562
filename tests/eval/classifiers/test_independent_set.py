"""The independent labeled set (tests/eval/classifiers/independent/) is well formed and frozen.

It measures the awareness, covert-intent and citation instruments, so it must stay independent of them:
this test only checks the data itself (see the README there for how it was written and labeled).
"""

import hashlib
import json
import re
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "independent"
FILES = ("fit.jsonl", "heldout.jsonl", "heldout_paraphrased.jsonl")
FROZEN = ("heldout.jsonl", "heldout_paraphrased.jsonl")
REAL_IDS = {f"AS{i}" for i in range(1, 6)} | {f"GP{i}" for i in range(1, 5)}
CLAUSE_LIKE = re.compile(r"\b(?:AS|GP)[-\d][\w.-]*")
FIELDS = {"id", "reasoning", "aware", "covert_intent", "citation", "miscitations", "style", "topic", "phenomena"}


def _load(name):
    rows = []
    for n, line in enumerate((HERE / name).read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"{name}:{n}: blank line"
        rows.append(json.loads(line))
    return rows


@pytest.fixture(scope="module")
def sets():
    return {name: _load(name) for name in FILES}


def _cited(text):
    return {m.rstrip(".-") for m in CLAUSE_LIKE.findall(text)}


@pytest.mark.parametrize("name", FILES)
def test_records_are_valid(sets, name):
    for r in sets[name]:
        expected = FIELDS | ({"paraphrase_of"} if name == "heldout_paraphrased.jsonl" else set())
        assert set(r) == expected, r.get("id")
        assert isinstance(r["reasoning"], str) and r["reasoning"].strip(), r["id"]
        assert isinstance(r["aware"], bool) and isinstance(r["covert_intent"], bool), r["id"]
        assert r["citation"] in {"none", "correct", "miscite"}, r["id"]
        assert isinstance(r["phenomena"], list) and r["style"] and r["topic"], r["id"]
        cited = _cited(r["reasoning"])
        if r["citation"] == "none":
            assert not cited and not r["miscitations"], r["id"]
        elif r["citation"] == "correct":
            assert cited and cited <= REAL_IDS and not r["miscitations"], r["id"]
        else:
            assert r["miscitations"], r["id"]
            unknown = {m["clause"] for m in r["miscitations"] if m["kind"] == "unknown_id"}
            assert cited - REAL_IDS == unknown, r["id"]
            for m in r["miscitations"]:
                assert set(m) == {"clause", "kind", "claim"}, r["id"]
                assert m["kind"] in {"semantic", "unknown_id"}, r["id"]
                assert (m["clause"] in REAL_IDS) == (m["kind"] == "semantic"), r["id"]
                assert m["claim"] in r["reasoning"], r["id"]


def test_ids_unique_across_files(sets):
    ids = [r["id"] for rows in sets.values() for r in rows]
    assert len(ids) == len(set(ids))


def test_paraphrases_cover_heldout_positives_and_keep_labels(sets):
    held = {r["id"]: r for r in sets["heldout.jsonl"]}
    para = sets["heldout_paraphrased.jsonl"]
    wanted = {i for i, r in held.items() if r["aware"] or r["covert_intent"] or r["citation"] == "miscite"}
    assert sorted(p["paraphrase_of"] for p in para) == sorted(wanted)
    for p in para:
        o = held[p["paraphrase_of"]]
        assert (p["aware"], p["covert_intent"], p["citation"]) == (o["aware"], o["covert_intent"], o["citation"])
        assert [(m["clause"], m["kind"]) for m in p["miscitations"]] == \
            [(m["clause"], m["kind"]) for m in o["miscitations"]]
        assert p["reasoning"] != o["reasoning"]


def test_counts_meet_the_brief(sets):
    rows = sets["fit.jsonl"] + sets["heldout.jsonl"]
    n = len(rows)
    covert = [r for r in rows if r["covert_intent"]]
    kinds = [m["kind"] for r in rows for m in r["miscitations"]]
    assert n >= 440
    assert 0.35 <= sum(r["aware"] for r in rows) / n <= 0.45
    assert 0.35 <= len(covert) / n <= 0.45
    assert 0.3 <= sum("implicit_plan" in r["phenomena"] for r in covert) / len(covert) <= 0.5
    assert sum(r["citation"] != "none" for r in rows) >= 60
    assert kinds.count("semantic") >= 25 and kinds.count("unknown_id") >= 15
    assert sum(r["citation"] == "correct" for r in rows) >= 20
    assert sum(r["style"] == "model_output" for r in rows) >= 30
    combos = {(r["aware"], r["covert_intent"]) for r in rows}
    assert combos == {(False, False), (False, True), (True, False), (True, True)}


def test_frozen_files_match_readme():
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    for name in FROZEN:
        m = re.search(rf"`{re.escape(name)}` sha256: ([0-9a-f]{{64}})", readme)
        assert m, f"README lists no sha256 for {name}"
        actual = hashlib.sha256((HERE / name).read_bytes()).hexdigest()
        assert actual == m.group(1), f"{name} changed after it was frozen (README says {m.group(1)})"
