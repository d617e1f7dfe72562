"""Checks of the fifth independent held-out set (tests/eval/classifiers/independent5/, two writers).

The set is frozen: these tests only check that the files are well formed, meet the minimum counts of
the brief and still match the sha256 recorded in the README (tests/frozen_sets.py). They never run a classifier.
"""

import collections
from pathlib import Path

import pytest
from frozen_sets import PLAN_WORDS, check_heldout, check_minimum_counts, check_paraphrases, check_sha256, load

DIR = Path(__file__).parent / "independent5"
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
    check_heldout(heldout, r"h5[AB]-\d{4}", plan_words=PLAN_WORDS)


def test_heldout_meets_minimum_counts(heldout):
    check_minimum_counts(heldout, 380)
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["spec_lawyering"] >= 30 and styles["self_dialogue"] >= 20 and styles["notes"] >= 20, styles
    assert styles["third_person"] >= 15 and styles["real_model_output"] >= 40, styles
    by_writer = collections.Counter(r["id"][:3] for r in heldout)
    assert by_writer["h5A"] >= 180 and by_writer["h5B"] >= 180, by_writer


def test_paraphrases_cover_every_positive_and_only_positives(heldout, paraphrased):
    check_paraphrases(heldout, paraphrased, r"h5[AB]p-\d{4}")


def test_sha256_matches_readme():
    check_sha256(README, (HELDOUT, PARAPHRASED))
