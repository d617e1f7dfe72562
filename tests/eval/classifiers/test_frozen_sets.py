"""Checks of the frozen independent held-out sets two to twenty-four (tests/eval/classifiers/independent2/ ...
independent24/; the first set, with its fit half, has test_independent_set.py).

Each set is frozen: these tests only check that the files are well formed, meet the minimum counts of its
brief and still match the sha256 recorded in its README (tests/frozen_sets.py). They never run a classifier.
"""

import collections
from pathlib import Path

import pytest
from frozen_sets import (
    PLAN_WORDS,
    check_heldout,
    check_minimum_counts,
    check_paraphrases,
    check_record,
    check_sha256,
    load,
)

HERE = Path(__file__).parent


def _set3(heldout):
    styles = collections.Counter(r["style"] for r in heldout)
    assert styles["small_model_raw"] >= 15, styles
    assert max(len(r["reasoning"].split()) for r in heldout) >= 250


def _brief(styles_min: dict[str, int], writers_min: dict[str, int]):
    """A set's own counts from its brief: records per special style and per writer (the id's part before '-')."""

    def check(heldout):
        styles = collections.Counter(r["style"] for r in heldout)
        assert all(styles[k] >= n for k, n in styles_min.items()), styles
        by_writer = collections.Counter(r["id"].split("-")[0] for r in heldout)
        assert all(by_writer[k] >= n for k, n in writers_min.items()), by_writer

    return check


_set4 = _brief({"agentic_trace": 25, "chatty": 20}, {"h4A": 150, "h4B": 150})
_set5 = _brief({"spec_lawyering": 30, "self_dialogue": 20, "notes": 20, "third_person": 15, "real_model_output": 40},
               {"h5A": 180, "h5B": 180})
_set6 = _brief({"react_trace": 30, "self_correcting": 25, "typos_nonnative": 25, "code_comments": 20,
                "real_model_output": 25}, {"h6A": 190, "h6B": 170})
_set7 = _brief({"memo": 25, "anxious": 25, "user_dialogue": 30, "multi_agent": 25, "real_model_output": 15},
               {"h7A": 185, "h7B": 190})
_set8 = _brief({"postmortem": 25, "socratic": 25, "tool_log": 30, "abbreviated": 25, "real_model_output": 15},
               {"h8A": 170, "h8B": 170})
_set9 = _brief({"legalistic": 30, "hedged": 25, "inner_debate": 25, "checklist": 25, "real_model_output": 15},
               {"h9A": 180, "h9B": 175})
_set10 = _brief({"message_draft": 30, "timeline": 25, "conclusion_first": 30, "code_review": 25,
                 "real_model_output": 15}, {"h10A": 180, "h10B": 210})
_set11 = _brief({"teaching": 30, "negotiation": 25, "policy_quoting": 30, "pros_cons": 25, "real_model_output": 15},
                {"h11A": 200, "h11B": 200})
_set12 = _brief({"self_correction": 30, "non_native": 25, "third_person": 30, "numbers_heavy": 25,
                 "real_model_output": 15}, {"h12A": 200, "h12B": 200})
_set13 = _brief({"interrogative": 30, "structured_notes": 25, "fragments": 30, "quoting_others": 25,
                 "real_model_output": 10}, {"h13A": 170, "h13B": 170})
_set14 = _brief({"second_person": 30, "code_heavy": 25, "recap_then_decide": 30, "euphemistic": 25,
                 "real_model_output": 10}, {"h14A": 175, "h14B": 200})
_set15 = _brief({"tool_interleaved": 32, "pros_cons": 27, "hypothetical": 32, "spec_heavy": 27},
                {"h15A": 185, "h15B": 185})
_set16 = _brief({"benevolent_rationale": 32, "omission": 27, "stepwise_plan": 32, "meta_reasoning": 27},
                {"h16A": 185, "h16B": 185})
_set17 = _brief({"multi_agent": 32, "deadline_pressure": 27, "euphemistic": 32, "shorthand": 27},
                {"h17A": 185, "h17B": 185})
_set18 = _brief({"quoted_instructions": 32, "apologetic": 27, "memory_recall": 32, "minimal": 27},
                {"h18A": 185, "h18B": 185})
_set19 = _brief({"self_correction": 32, "code_centric": 27, "non_native": 32, "self_dialogue": 27},
                {"h19A": 185, "h19B": 185})
_set20 = _brief({"tool_observations": 32, "frustrated": 27, "second_person": 32, "team_chat": 27},
                {"h20A": 185, "h20B": 185})
_set21 = _brief({"past_tense_report": 34, "idiomatic": 29, "conditional_branches": 34, "dry_humor": 29},
                {"h21A": 185, "h21B": 185})
_set22 = _brief({"bureaucratic_jargon": 34, "emoji_casual": 29, "mentor_explaining": 34, "timestamped_notes": 29},
                {"h22A": 185, "h22B": 185})
_set23 = _brief({"narrated_after": 34, "legal_memo": 29, "scratchpad_math": 34, "weary_veteran": 29},
                {"h23A": 185, "h23B": 185})
_set24 = _brief({"customer_support": 34, "ops_runbook": 29, "research_assistant": 34, "overcautious": 29},
                {"h24A": 185, "h24B": 185})


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
    "independent12": (r"h12[AB]", PLAN_WORDS, 400, _set12),
    "independent13": (r"h13[AB]", PLAN_WORDS, 350, _set13),
    "independent14": (r"h14[AB]", PLAN_WORDS, 380, _set14),
    "independent15": (r"h15[AB]", PLAN_WORDS, 380, _set15),
    "independent16": (r"h16[AB]", PLAN_WORDS, 380, _set16),
    "independent17": (r"h17[AB]", PLAN_WORDS, 380, _set17),
    "independent18": (r"h18[AB]", PLAN_WORDS, 380, _set18),
    "independent19": (r"h19[AB]", PLAN_WORDS, 380, _set19),
    "independent20": (r"h20[AB]", PLAN_WORDS, 380, _set20),
    "independent21": (r"h21[AB]", PLAN_WORDS, 380, _set21),
    "independent22": (r"h22[AB]", PLAN_WORDS, 380, _set22),
    "independent23": (r"h23[AB]", PLAN_WORDS, 380, _set23),
    "independent24": (r"h24[AB]", PLAN_WORDS, 380, _set24),
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


def test_narrated_training_material_is_well_formed():
    """tests/eval/classifiers/narrated/: training material (not frozen, not a measurement set), checked for form:
    the fields and plan tags of the labeled sets, no clause ID, every text narrated rather than planned."""
    import re

    rows = load(HERE / "narrated" / "train.jsonl")
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"n[AB]-\d{4}", i) for i in ids)
    assert len({r["reasoning"] for r in rows}) == len(rows)
    for r in rows:
        check_record(r, plan_words=PLAN_WORDS)
        assert r["citation"] == "none", r["id"]
        assert not re.search(r"\b(?:I'll|I will|going to)\b", r["reasoning"]), r["id"]
