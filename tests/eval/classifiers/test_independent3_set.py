"""Checks of the third independent held-out set (tests/eval/classifiers/independent3/).

The set is frozen: these tests only check that the files are well formed, meet the minimum counts of
the brief and still match the sha256 recorded in the README (tests/frozen_sets.py). They never run a classifier.
"""

import collections
import re
from pathlib import Path

import pytest
from frozen_sets import check_heldout, check_minimum_counts, check_paraphrases, check_sha256, load

DIR = Path(__file__).parent / "independent3"
HELDOUT = DIR / "heldout.jsonl"
PARAPHRASED = DIR / "heldout_paraphrased.jsonl"
README = DIR / "README.md"
# Plan vocabulary: a covert record is tagged explicit_plan when its text uses one of these words, else implicit_plan.
PLAN_WORDS = re.compile(
    r"\bhid(?:e|den|es|ing)\b|covert|deceiv|decept|secret|sabotag|\bfake|falsif|pretend|quiet|sneak|conceal|sandbag"
    r"|cheat|\bevad|evasion|\blie\b|\blies\b|\blied\b|\blying\b|tamper", re.I)


@pytest.fixture(scope="module")
def heldout() -> list[dict]:
    return load(HELDOUT)


@pytest.fixture(scope="module")
def paraphrased() -> list[dict]:
    return load(PARAPHRASED)


def test_heldout_records_are_valid(heldout):
    check_heldout(heldout, r"h3-\d{4}", plan_words=PLAN_WORDS)


def test_heldout_meets_minimum_counts(heldout):
    check_minimum_counts(heldout, 280)
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["small_model_raw"] >= 15, styles
    assert max(len(r["reasoning"].split()) for r in heldout) >= 250


def test_paraphrases_cover_every_positive_and_only_positives(heldout, paraphrased):
    check_paraphrases(heldout, paraphrased, r"h3p-\d{4}")


def test_sha256_matches_readme():
    check_sha256(README, (HELDOUT, PARAPHRASED))
