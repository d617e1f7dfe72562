"""Checks of the second independent held-out set (tests/eval/classifiers/independent2/).

The set is frozen: these tests only check that the files are well formed, meet the minimum counts of
the brief and still match the sha256 recorded in the README (tests/frozen_sets.py). They never run a classifier.
"""

from pathlib import Path

import pytest
from frozen_sets import check_heldout, check_minimum_counts, check_paraphrases, check_sha256, load

DIR = Path(__file__).parent / "independent2"
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
    check_heldout(heldout, r"h2-\d{4}")


def test_heldout_meets_minimum_counts(heldout):
    check_minimum_counts(heldout, 260)


def test_paraphrases_cover_every_positive_and_only_positives(heldout, paraphrased):
    check_paraphrases(heldout, paraphrased, r"h2p-\d{4}")


def test_sha256_matches_readme():
    check_sha256(README, (HELDOUT, PARAPHRASED))
