"""Checks of the frozen independent held-out sets two to eleven (tests/eval/classifiers/independent2/ ...
independent11/; the first set, with its fit half, has test_independent_set.py).

Each set is frozen: these tests only check that the files are well formed, meet the minimum counts of its
brief and still match the sha256 recorded in its README (tests/frozen_sets.py). They never run a classifier.
"""

import collections
from pathlib import Path

import pytest
from frozen_sets import PLAN_WORDS, check_heldout, check_minimum_counts, check_paraphrases, check_sha256, load

HERE = Path(__file__).parent


def _set3(heldout):
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["small_model_raw"] >= 15, styles
    assert max(len(r["reasoning"].split()) for r in heldout) >= 250


def _set4(heldout):
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["agentic_trace"] >= 25 and styles["chatty"] >= 20, styles
    by_writer = collections.Counter(r["id"][:3] for r in heldout)
    assert by_writer["h4A"] >= 150 and by_writer["h4B"] >= 150, by_writer


def _set5(heldout):
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["spec_lawyering"] >= 30 and styles["self_dialogue"] >= 20 and styles["notes"] >= 20, styles
    assert styles["third_person"] >= 15 and styles["real_model_output"] >= 40, styles
    by_writer = collections.Counter(r["id"][:3] for r in heldout)
    assert by_writer["h5A"] >= 180 and by_writer["h5B"] >= 180, by_writer


def _set6(heldout):
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["react_trace"] >= 30 and styles["self_correcting"] >= 25, styles
    assert styles["typos_nonnative"] >= 25 and styles["code_comments"] >= 20, styles
    assert styles["real_model_output"] >= 25, styles
    by_writer = collections.Counter(r["id"][:3] for r in heldout)
    assert by_writer["h6A"] >= 190 and by_writer["h6B"] >= 170, by_writer


def _set7(heldout):
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["memo"] >= 25 and styles["anxious"] >= 25, styles
    assert styles["user_dialogue"] >= 30 and styles["multi_agent"] >= 25 and styles["real_model_output"] >= 15, styles
    by_writer = collections.Counter(r["id"][:3] for r in heldout)
    assert by_writer["h7A"] >= 185 and by_writer["h7B"] >= 190, by_writer


def _set8(heldout):
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["postmortem"] >= 25 and styles["socratic"] >= 25, styles
    assert styles["tool_log"] >= 30 and styles["abbreviated"] >= 25 and styles["real_model_output"] >= 15, styles
    by_writer = collections.Counter(r["id"][:3] for r in heldout)
    assert by_writer["h8A"] >= 170 and by_writer["h8B"] >= 170, by_writer


def _set9(heldout):
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["legalistic"] >= 30 and styles["hedged"] >= 25, styles
    assert styles["inner_debate"] >= 25 and styles["checklist"] >= 25 and styles["real_model_output"] >= 15, styles
    by_writer = collections.Counter(r["id"][:3] for r in heldout)
    assert by_writer["h9A"] >= 180 and by_writer["h9B"] >= 175, by_writer


def _set10(heldout):
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["message_draft"] >= 30 and styles["timeline"] >= 25, styles
    assert styles["conclusion_first"] >= 30 and styles["code_review"] >= 25 and styles["real_model_output"] >= 15, \
        styles
    by_writer = collections.Counter(r["id"][:4] for r in heldout)
    assert by_writer["h10A"] >= 180 and by_writer["h10B"] >= 210, by_writer


def _set11(heldout):
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["teaching"] >= 30 and styles["negotiation"] >= 25, styles
    assert styles["policy_quoting"] >= 30 and styles["pros_cons"] >= 25 and styles["real_model_output"] >= 15, styles
    by_writer = collections.Counter(r["id"][:4] for r in heldout)
    assert by_writer["h11A"] >= 200 and by_writer["h11B"] >= 200, by_writer


# folder, id prefix pattern, plan vocabulary tagged, minimum records, the brief's own counts
SETS = {
    "independent2": (r"h2", None, 260, None),
    "independent3": (r"h3", PLAN_WORDS, 280, _set3),
    "independent4": (r"h4[AB]", PLAN_WORDS, 330, _set4),
    "independent5": (r"h5[AB]", PLAN_WORDS, 380, _set5),
    "independent6": (r"h6[AB]", PLAN_WORDS, 360, _set6),
    "independent7": (r"h7[AB]", PLAN_WORDS, 370, _set7),
    "independent8": (r"h8[AB]", PLAN_WORDS, 350, _set8),
    "independent9": (r"h9[AB]", PLAN_WORDS, 360, _set9),
    "independent10": (r"h10[AB]", PLAN_WORDS, 390, _set10),
    "independent11": (r"h11[AB]", PLAN_WORDS, 400, _set11),
}


@pytest.fixture(scope="module", params=sorted(SETS))
def frozen(request):
    folder = HERE / request.param
    return (SETS[request.param], folder, load(folder / "heldout.jsonl"), load(folder / "heldout_paraphrased.jsonl"))


def test_heldout_records_are_valid(frozen):
    (prefix, plan_words, _, _), _, heldout, _ = frozen
    check_heldout(heldout, rf"{prefix}-\d{{4}}", plan_words=plan_words)


def test_heldout_meets_minimum_counts(frozen):
    (_, _, n_min, own_counts), _, heldout, _ = frozen
    check_minimum_counts(heldout, n_min)
    if own_counts:
        own_counts(heldout)


def test_paraphrases_cover_every_positive_and_only_positives(frozen):
    (prefix, _, _, _), _, heldout, paraphrased = frozen
    check_paraphrases(heldout, paraphrased, rf"{prefix}p-\d{{4}}")


def test_sha256_matches_readme(frozen):
    _, folder, _, _ = frozen
    check_sha256(folder / "README.md", (folder / "heldout.jsonl", folder / "heldout_paraphrased.jsonl"))
