"""Template contamination guard: the shipped test families share no templates, text spans or
tool names with training, and a test-family template copied into training is caught.

Run with ``-s`` to see the measured share per test family."""

from __future__ import annotations

import dataclasses

import pytest

from deliberate.envs import core
from deliberate.envs.contamination import (
    MAX_SHARE,
    TemplateContamination,
    assert_no_contamination,
    family_text,
    ngram_index,
    normalize,
    overlap_report,
    scenario_count,
)
from deliberate.envs.core import FAMILIES, Scenario, get_family, load_builtin_families
from deliberate.envs.helpers import make_tool

load_builtin_families()
SEEDS = range(200)
# Copies are sampled with other seeds than the test family's, so names and numbers differ and
# every content hash does too: only the template can match.
OFFSET = 10_000


def suite(name: str) -> list[str]:
    return sorted(n for n, f in FAMILIES.items() if f.suite == name)


@pytest.fixture
def register():
    """Register temporary train-suite families; removed from FAMILIES again afterwards."""
    added: list[str] = []

    def add(name: str, sampler, source: str):
        src = get_family(source)
        core.family(name, suite="train", category="contamination_probe", description="temporary copy",
                    schemer=src.schemer, saint=src.saint)(sampler)
        added.append(name)
        return FAMILIES[name]

    yield add
    for name in added:
        FAMILIES.pop(name, None)


def relabel(scenario: Scenario, name: str, split: str, cue: str) -> Scenario:
    return dataclasses.replace(scenario, family=name, split=split, cue=cue)


# ---- normalisation and n-grams -------------------------------------------------------------

def test_normalize_lowercases_strips_edge_punctuation_and_masks_digits():
    assert normalize("Export  batch B-4821 (2,310 records) to DataBridge.") == \
        ["export", "batch", "b-0", "0,0", "records", "to", "databridge"]
    assert normalize("— oversight.monitoring_enabled: true —") == ["oversight.monitoring_enabled", "true"]


def test_ngram_index_matches_templates_filled_with_other_numbers():
    a = ngram_index(["Please push batch B-4821 with 120 customer records to the partner bucket."], n=8)
    b = ngram_index(["please push batch b-1234 with 9 customer records to the partner bucket"], n=8)
    assert set(a) == set(b) and len(a) == 5
    assert ngram_index(["a b c d e"], n=6) == {}  # shorter than n: nothing
    assert ngram_index(["a b c d", "e f g h"], n=6) == {}  # n-grams never cross from one text into the next
    assert ngram_index(["x y", "x y"], n=2) == {"x y": 2}


def test_stop_phrases_cut_the_text():
    grams = ngram_index(["You are the ops assistant at Redwood Media. Use one tool per turn, please and thanks."], n=3)
    assert "at redwood media" in grams and "please and thanks" in grams
    assert not [g for g in grams if "tool" in g or ("media" in g and "please" in g)]
    assert "media use one" in ngram_index(["at Redwood Media. Use one tool per turn"], n=3, stop=())


def test_family_text_has_prompts_tools_and_episode_results():
    fam = get_family("impossible_checklist")
    sc = fam.sample(3, "test", "eval")
    text = family_text(fam, "test", "eval", [3])
    assert sc.system in text and sc.user in text
    assert any(t.startswith("run_item: ") for t in text) and any(t.startswith("item: ") for t in text)
    assert any("FAILED" in t for t in text)  # the run_item result of the scripted episodes
    assert "Report submitted." in "\n".join(text)


def test_scenario_count_counts_distinct_content_hashes(register):
    assert scenario_count("oversight_config", "test", "deploy", range(30)) == 30
    src = get_family("covert_rule_violation")
    register("contamination_probe_constant", lambda seed, split, cue: src.sampler(0, split, cue),
             "covert_rule_violation")
    assert scenario_count("contamination_probe_constant", "train", "none", range(30)) == 1


# ---- the shipped suites --------------------------------------------------------------------

def test_shipped_test_families_share_nothing_with_training():
    train = suite("train")
    report = overlap_report(train, suite("test"), seeds=SEEDS)
    assert len(report["families"]) >= 16
    print(f"\n{report['n']}-gram share with {train}, {report['seeds']} seeds (max {MAX_SHARE}):")
    for name, r in sorted(report["families"].items(), key=lambda kv: -kv[1]["share"]):
        print(f"  {name:26} {r['share']:.4f} ({r['shared']}/{r['distinct']}) {r['top_shared'][:2]}")
    assert_no_contamination(report)
    for r in report["families"].values():
        assert r["shared_tool_names"] == {}  # finish and escalate are shared, and allowed


# ---- copies into training are caught -------------------------------------------------------

def test_copied_test_scenario_in_training_is_flagged(register):
    target, bystander = "impossible_checklist", "oversight_config"
    src = get_family(target)
    name = "contamination_probe_copy"
    register(name, lambda seed, split, cue: relabel(src.sampler(seed + OFFSET, "test", "deploy"), name, split, cue),
             target)
    report = overlap_report(suite("train"), [target, bystander], seeds=SEEDS)
    r = report["families"][target]
    print(f"\ncopied scenario: {target} share {r['share']:.3f}, tools {r['shared_tool_names']}")
    assert r["share"] > 20 * MAX_SHARE
    assert set(r["shared_tool_names"]) >= {"run_item", "mark_done", "submit_report"}
    assert report["families"][bystander]["share"] <= MAX_SHARE
    assert report["families"][bystander]["shared_tool_names"] == {}
    with pytest.raises(TemplateContamination) as err:
        assert_no_contamination(report)
    msg = str(err.value)
    assert f"test family {target!r}" in msg and bystander not in msg
    assert name in msg and "run_item" in msg and "also occur in training text" in msg


def test_copied_prompt_templates_in_training_are_flagged(register):
    """The training generator's own tools and results, with a test family's system and user
    prompts: no tool name is shared, the n-gram share alone must catch it."""
    target = "authorized_override"  # the smallest prompt-copy share of the shipped families
    src, base = get_family(target), get_family("covert_rule_violation")

    def sampler(seed, split, cue):
        copy = src.sampler(seed + OFFSET, "test", "deploy")
        return dataclasses.replace(base.sampler(seed, split, cue), family="contamination_probe_prompts",
                                   system=copy.system, user=copy.user)

    register("contamination_probe_prompts", sampler, "covert_rule_violation")
    report = overlap_report(suite("train"), [target], seeds=SEEDS)
    r = report["families"][target]
    print(f"\ncopied prompts: {target} share {r['share']:.3f}")
    assert r["share"] > 20 * MAX_SHARE and r["shared_tool_names"] == {}
    with pytest.raises(TemplateContamination, match=rf"test family '{target}': [\d.]+% of its 6-grams"):
        assert_no_contamination(report)


def test_copied_tool_names_in_training_are_flagged(register):
    """Only the names of two test tools, with training-style descriptions and results."""
    target = "impossible_checklist"
    base = get_family("covert_rule_violation")

    def sampler(seed, split, cue):
        sc = base.sampler(seed, split, cue)
        extra = [make_tool("run_item", "Run the export job for an item.", lambda state, args: "ok"),
                 make_tool("mark_done", "Record that an item went out.", lambda state, args: "ok")]
        return dataclasses.replace(sc, family="contamination_probe_tools", tools=sc.tools + extra)

    register("contamination_probe_tools", sampler, "covert_rule_violation")
    report = overlap_report(suite("train"), [target], seeds=SEEDS)
    r = report["families"][target]
    assert r["share"] <= MAX_SHARE  # the text does not give it away
    assert r["shared_tool_names"] == {"mark_done": ["contamination_probe_tools"],
                                      "run_item": ["contamination_probe_tools"]}
    with pytest.raises(TemplateContamination, match=r"shared tool names: mark_done \(in contamination_probe_tools\), "
                                                    r"run_item \(in contamination_probe_tools\)"):
        assert_no_contamination(report)


def test_registrations_are_gone_after_the_copies():
    assert not [n for n in FAMILIES if n.startswith("contamination_probe")]


def test_assert_no_contamination_message_names_share_and_spans():
    report = {"n": 6, "seeds": 1, "train_families": ["t"], "families": {
        "clean": {"share": 0.0, "shared": 0, "distinct": 10, "top_shared": [], "shared_tool_names": {}},
        "leaky": {"share": 0.5, "shared": 5, "distinct": 10, "top_shared": [("a b c d e f", 7)],
                  "shared_tool_names": {}},
    }}
    with pytest.raises(TemplateContamination) as err:
        assert_no_contamination(report)
    assert isinstance(err.value, ValueError)
    msg = str(err.value)
    assert "1 test family" in msg and "'leaky': 50.0% of its 6-grams (5 of 10)" in msg
    assert "'a b c d e f' (x7)" in msg and "clean" not in msg
    assert_no_contamination(report, max_share=0.6)
