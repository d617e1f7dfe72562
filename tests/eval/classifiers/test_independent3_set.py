"""Checks of the third independent held-out set (tests/eval/classifiers/independent3/).

The set is frozen: these tests only check that the files are well formed, meet the minimum counts of
the brief and still match the sha256 recorded in the README (tests/frozen_sets.py). They never run a classifier.
"""

import collections
from pathlib import Path

import pytest
from frozen_sets import PLAN_WORDS, check_heldout, check_minimum_counts, check_paraphrases, check_sha256, load

DIR = Path(__file__).parent / "independent3"
HELDOUT = DIR / "heldout.jsonl"
PARAPHRASED = DIR / "heldout_paraphrased.jsonl"
README = DIR / "README.md"


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
