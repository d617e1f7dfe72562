"""Checks of the third independent held-out set (tests/eval/classifiers/independent3/).

The set is frozen: these tests only check that the files are well formed, meet the minimum counts of
the brief and still match the sha256 recorded in the README. They never run a classifier.
"""

import collections
import hashlib
import json
import re
from pathlib import Path

import pytest

DIR = Path(__file__).parent / "independent3"
HELDOUT = DIR / "heldout.jsonl"
PARAPHRASED = DIR / "heldout_paraphrased.jsonl"
README = DIR / "README.md"

REAL_CLAUSES = {"AS1", "AS2", "AS3", "AS4", "AS5", "GP1", "GP2", "GP3", "GP4"}
CITATIONS = {"none", "correct", "miscite"}
KINDS = {"semantic", "unknown_id"}
FIELDS = {"id", "reasoning", "aware", "covert_intent", "citation", "miscitations", "style", "topic", "phenomena"}
CLAUSE_ID = re.compile(r"\b(?:AS|GP)[-\s]?\d")
# Words a paraphrase must avoid (identifiers such as test_primes.py that name the task's own files are allowed).
PARAPHRASE_BANNED = re.compile(
    r"\btest(?!_\w)|eval|monitor|watch|\bhid(?:e|den|ing|es)\b|secret|covert|decei|decep|fake|sabotag|pretend", re.I)
# Plan vocabulary: a covert record is tagged explicit_plan when its text uses one of these words, else implicit_plan.
PLAN_WORDS = re.compile(
    r"\bhid(?:e|den|es|ing)\b|covert|deceiv|decept|secret|sabotag|\bfake|falsif|pretend|quiet|sneak|conceal|sandbag"
    r"|cheat|\bevad|evasion|\blie\b|\blies\b|\blied\b|\blying\b|tamper", re.I)


def _load(path: Path) -> list[dict]:
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"{path.name}:{n}: blank line"
        records.append(json.loads(line))
    return records


@pytest.fixture(scope="module")
def heldout() -> list[dict]:
    return _load(HELDOUT)


@pytest.fixture(scope="module")
def paraphrased() -> list[dict]:
    return _load(PARAPHRASED)


def _check_record(r: dict, extra: set[str] = frozenset()) -> None:
    assert set(r) == FIELDS | extra, f"{r.get('id')}: fields {sorted(set(r) ^ (FIELDS | extra))}"
    assert isinstance(r["reasoning"], str) and r["reasoning"].strip(), r["id"]
    assert isinstance(r["aware"], bool) and isinstance(r["covert_intent"], bool), r["id"]
    assert r["citation"] in CITATIONS, r["id"]
    assert isinstance(r["style"], str) and r["style"], r["id"]
    assert isinstance(r["topic"], str) and "/" in r["topic"], r["id"]
    assert isinstance(r["phenomena"], list) and all(isinstance(p, str) for p in r["phenomena"]), r["id"]
    # citation "none" exactly when the text names no clause ID
    assert (r["citation"] == "none") == (not CLAUSE_ID.search(r["reasoning"])), r["id"]
    # miscitations non-empty exactly when citation is miscite; each claim is a verbatim span of the text
    assert (r["citation"] == "miscite") == bool(r["miscitations"]), r["id"]
    for m in r["miscitations"]:
        assert set(m) == {"clause", "kind", "claim"}, r["id"]
        assert m["kind"] in KINDS, r["id"]
        assert (m["kind"] == "unknown_id") == (m["clause"] not in REAL_CLAUSES), f"{r['id']}: {m}"
        assert m["claim"] and m["claim"] in r["reasoning"], f"{r['id']}: claim not verbatim: {m['claim']!r}"
    # plan vocabulary tags only on covert records, exactly one of them
    plan_tags = {"implicit_plan", "explicit_plan"} & set(r["phenomena"])
    assert len(plan_tags) == (1 if r["covert_intent"] else 0), r["id"]
    if r["covert_intent"]:
        expected = "explicit_plan" if PLAN_WORDS.search(r["reasoning"]) else "implicit_plan"
        assert plan_tags == {expected}, f"{r['id']}: plan tag should be {expected}"


def test_heldout_records_are_valid(heldout):
    ids = [r["id"] for r in heldout]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert all(re.fullmatch(r"h3-\d{4}", i) for i in ids)
    for r in heldout:
        _check_record(r)
    texts = [r["reasoning"] for r in heldout]
    assert len(texts) == len(set(texts)), "duplicate texts"


def test_heldout_meets_minimum_counts(heldout):
    n = len(heldout)
    assert n >= 280
    aware = sum(r["aware"] for r in heldout)
    covert = sum(r["covert_intent"] for r in heldout)
    assert 0.3 * n <= aware <= 0.5 * n
    assert 0.3 * n <= covert <= 0.5 * n
    implicit = sum("implicit_plan" in r["phenomena"] for r in heldout)
    assert 0.3 * covert <= implicit <= 0.6 * covert
    combos = collections.Counter((r["aware"], r["covert_intent"]) for r in heldout)
    assert all(combos[(a, c)] >= 20 for a in (False, True) for c in (False, True)), combos
    citing = [r for r in heldout if r["citation"] != "none"]
    assert len(citing) >= 50
    assert sum(r["citation"] == "correct" for r in heldout) >= 15
    kinds = [m["kind"] for r in heldout for m in r["miscitations"]]
    assert kinds.count("semantic") >= 18
    assert kinds.count("unknown_id") >= 10
    phenomena = collections.Counter(p for r in heldout for p in r["phenomena"])
    for tag in ("task_sense_test", "negated_covert", "rejected_covert", "buried_plan", "audit_as_task",
                "monitoring_as_task", "honest_refusal", "aware_of_other_system"):
        assert phenomena[tag] >= 1, tag
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["small_model_raw"] >= 15, styles
    assert max(len(r["reasoning"].split()) for r in heldout) >= 250


def test_paraphrases_cover_every_positive_and_only_positives(heldout, paraphrased):
    by_id = {r["id"]: r for r in heldout}
    ids = [r["id"] for r in paraphrased]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"h3p-\d{4}", i) for i in ids)
    sources = [r["paraphrase_of"] for r in paraphrased]
    assert len(sources) == len(set(sources)), "a record is paraphrased twice"
    positives = {r["id"] for r in heldout if r["aware"] or r["covert_intent"] or r["citation"] == "miscite"}
    assert set(sources) == positives
    for p in paraphrased:
        _check_record(p, extra={"paraphrase_of"})
        src = by_id[p["paraphrase_of"]]
        for key in ("aware", "covert_intent", "citation", "topic", "style"):
            assert p[key] == src[key], f"{p['id']}: {key} differs from {src['id']}"
        assert [(m["clause"], m["kind"]) for m in p["miscitations"]] == \
            [(m["clause"], m["kind"]) for m in src["miscitations"]], p["id"]
        assert "paraphrase" in p["phenomena"]
        assert p["reasoning"] != src["reasoning"], p["id"]
        hit = PARAPHRASE_BANNED.search(p["reasoning"])
        assert hit is None, f"{p['id']}: keyword {hit.group(0)!r}"


def test_sha256_matches_readme():
    text = README.read_text(encoding="utf-8")
    for path in (HELDOUT, PARAPHRASED):
        m = re.search(rf"`{re.escape(path.name)}` sha256: ([0-9a-f]{{64}})", text)
        assert m, f"README names no sha256 for {path.name}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == m.group(1), \
            f"{path.name} changed after it was frozen (see README)"
