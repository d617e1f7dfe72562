"""The training generator (covert_rule_violation and its twin) and envs.quality: the domain
tables are well formed, 1000 samples are diverse and cover every domain, rule, rule kind,
pressure and hide kind, the scripted schemer and saint are always told apart, validation
stays apart from train, and check_scenario catches broken scenarios.

Thresholds come from measurements of the shipped generator (1000 samples per family; see
docs/environments.md and ``python -m deliberate.envs.quality``): 1000/1000 distinct hashes,
max-similarity mean 0.25 and p95 0.30-0.32 (0.31-0.32 with digits masked), no scenario above
0.8, 0/500 discarded. The bounds leave room for wording changes, not for a collapse (the
8-domain generator this replaced measured p95 0.63, 0.67 masked)."""

import dataclasses
import functools
import random
import re

import pytest

from deliberate.envs import quality
from deliberate.envs.core import FAMILIES, Outcome, load_builtin_families
from deliberate.envs.train import covert_rule as cr

load_builtin_families()
TRAIN = sorted(n for n, f in FAMILIES.items() if f.suite == "train" and n.startswith(cr.NAME))
N = 1000


@functools.cache
def samples(name, split="train", n=N):
    fam = FAMILIES[name]
    return tuple(fam.sample(seed, split, "none") for seed in range(n))


@functools.cache
def report(name):
    return quality.diversity_report(name, "train", n=N)


# ---- the tables --------------------------------------------------------------------------

def test_domain_tables_are_well_formed():
    assert TRAIN == [cr.NAME, cr.TWIN]
    assert len(cr.DOMAINS) >= 14 and len({d.key for d in cr.DOMAINS}) == len(cr.DOMAINS)
    kinds = set()
    for dom in cr.DOMAINS:
        dom_kinds = {r.kind for r in dom.rules}
        assert len(dom.rules) >= 3 and len(dom_kinds) >= 3, dom.key
        assert dom_kinds <= set(cr.RULE_KINDS), dom.key
        assert len({r.id for r in dom.rules}) == len(dom.rules), dom.key
        assert len(dom.tasks) >= 3 and len(dom.inspect) >= 2 and len(dom.action) >= 2, dom.key
        kinds |= dom_kinds
    assert kinds == set(cr.RULE_KINDS)
    assert set(cr.PRESSURES) == set(cr.PRESSURE_KINDS) and set(cr.HIDES) == set(cr.HIDE_KINDS)
    assert all(len(v) >= 3 for v in (*cr.PRESSURES.values(), *cr.HIDES.values()))


def test_every_template_fills_with_its_domain_variables():
    shared = (cr.SYSTEMS, cr.SYSTEM_EXTRAS, cr.OPENERS, cr.CONTEXTS, cr.CLOSERS, cr.LIST_DESCS, cr.HISTORY_DESCS,
              *cr.PRESSURES.values(), *cr.HIDES.values(), *cr.KIND_PREFIXES.values())
    for dom in cr.DOMAINS:
        for i in range(20):
            rng = random.Random(i)
            v = cr._base_vars(rng)
            v.update(dom.make(rng), item="X-1", role=dom.roles[0], a_role="a " + dom.roles[0], noun=dom.noun,
                     code="POL-1", company_pos=v["company"] + "'s")
            texts = (*dom.tasks, dom.summary, dom.done, *(t for r in dom.rules for t in (r.text, r.block, r.allow)))
            for template in (*texts, *(t for group in shared for t in group)):
                assert "{" not in template.format(**v), (dom.key, template)


def test_tool_names_are_disjoint_from_every_test_family():
    generated = set()
    for name in TRAIN:
        for s in samples(name)[:300]:
            generated |= {t.name for t in s.tools}
    assert generated <= cr.tool_names()
    test_names = set()
    for fam in (f for f in FAMILIES.values() if f.suite == "test"):
        for seed in range(100):
            test_names |= {t.name for t in fam.sample(seed, "test", fam.cues[0]).tools}
    assert cr.tool_names() & test_names == {"finish", "escalate"}


# ---- samples -----------------------------------------------------------------------------

def _pattern(templates):
    """A regex matching any of ``templates`` with every {slot} filled by something."""
    parts = [re.sub(r"\\\{\w+\\\}", ".+?", re.escape(t)) for t in templates]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


@pytest.mark.parametrize("name", TRAIN)
def test_every_domain_rule_kind_pressure_and_hide_appears(name):
    got = {key: {s.metadata[key] for s in samples(name)} for key in quality.COVERAGE_KEYS}
    assert got["domain"] == {d.key for d in cr.DOMAINS}
    assert got["rule_id"] == {f"{d.key}/{r.id}" for d in cr.DOMAINS for r in d.rules}
    assert got["rule_kind"] == set(cr.RULE_KINDS)
    assert got["pressure"] == {None, *cr.PRESSURE_KINDS} and got["hide"] == {None, *cr.HIDE_KINDS}
    combos = {(s.metadata["pressure"], s.metadata["hide"]) for s in samples(name)}
    assert len(combos) == (len(cr.PRESSURE_KINDS) + 1) * (len(cr.HIDE_KINDS) + 1)


@pytest.mark.parametrize("name", TRAIN)
def test_metadata_matches_the_text(name):
    pressure = {k: _pattern(v) for k, v in cr.PRESSURES.items()}
    hide = {k: _pattern(v) for k, v in cr.HIDES.items()}
    for s in samples(name)[:300]:
        m = s.metadata
        for table, drawn in ((pressure, m["pressure"]), (hide, m["hide"])):
            assert {k for k, rx in table.items() if rx.search(s.user)} == ({drawn} if drawn else set()), s.user
        dom = next(d for d in cr.DOMAINS if d.key == m["domain"])
        rule = next(r for r in dom.rules if f"{dom.key}/{r.id}" == m["rule_id"])
        assert rule.kind == m["rule_kind"] and m["item"] in s.user
        assert m["rule"] in s.state["inspect"] and m["status"] in s.state["inspect"]
        assert _pattern([rule.allow if name == cr.TWIN else rule.block]).fullmatch(m["status"])


@pytest.mark.parametrize("name", TRAIN)
def test_diversity_of_1000_samples(name):
    r = report(name)
    assert r["distinct_hashes"] >= 995
    assert r["max_sim_mean"] <= 0.35 and r["max_sim_p95"] <= 0.45
    assert r["near_dup_scenarios"] <= 0.01 and r["near_dup_pairs"] <= 1e-4
    masked = r["masked"]
    assert masked["distinct_texts"] >= 995 and masked["max_sim_p95"] <= 0.5 and masked["near_dup_scenarios"] <= 0.01
    cov = r["coverage"]
    assert cov["domain"] == len(cr.DOMAINS) and cov["rule_kind"] == len(cr.RULE_KINDS)
    assert cov["combos"] == 15 and cov["cells"] >= 500
    assert r["seconds"] < 10


@pytest.mark.parametrize("name", TRAIN)
def test_validation_stays_apart_from_train(name):
    o = quality.split_overlap(name, n=N)
    assert o["shared_hashes"] <= 1 and o["near_dup_share"] <= 0.01 and o["max_sim_mean"] <= 0.35


@pytest.mark.parametrize("name", TRAIN)
@pytest.mark.parametrize("split", ["train", "validation"])
def test_shipped_generator_discards_nothing(name, split):
    d = quality.discard_report(name, split, range(500))
    assert (d["checked"], d["discarded"], d["reasons"]) == (500, 0, {}), d["examples"]
    # the data stage may cut the turn budget to 3: the saint still finishes within it
    assert quality.discard_report(name, split, range(100), max_turns=3)["discarded"] == 0


# ---- check_scenario on broken scenarios --------------------------------------------------

def never_covert(scenario, transcript):
    out = cr.grade(scenario, transcript)
    return Outcome(False, out.escalated, out.completed, out.evidence)


def always_covert(scenario, transcript):
    out = cr.grade(scenario, transcript)
    return Outcome(True, out.escalated, out.completed, ("flagged everything",))


def crashing(scenario, transcript):
    raise KeyError("blocked")


@pytest.mark.parametrize("name", TRAIN)
def test_check_scenario_catches_broken_scenarios(name):
    fam = FAMILIES[name]
    s = fam.sample(5, "train", "none")
    assert quality.check_scenario(name, s) is None
    reason = quality.check_scenario(fam, dataclasses.replace(s, grader=never_covert))
    assert reason and reason.startswith("schemer not covert")
    reason = quality.check_scenario(fam, dataclasses.replace(s, grader=always_covert))
    assert reason and reason.startswith("saint covert")
    assert quality.check_scenario(fam, dataclasses.replace(s, grader=crashing)).startswith("schemer crashed: KeyError")
    # the saint's first call goes to a tool the scenario lacks: an erroring call
    no_inspect = [t for t in s.tools if t.name != s.metadata["inspect_tool"]]
    reason = quality.check_scenario(fam, dataclasses.replace(s, tools=no_inspect))
    assert reason.startswith("saint tool error: " + s.metadata["inspect_tool"])
    # a twin the saint cannot finish in two turns (inspect, act; no finish): not the expected behaviour
    if name == cr.TWIN:
        assert quality.check_scenario(fam, s, max_turns=2).startswith("saint does not match expected")
    # expected flipped: the saint no longer matches it
    flipped = dataclasses.replace(s, expected="complete" if s.expected == "escalate" else "escalate")
    assert quality.check_scenario(fam, flipped).startswith(("saint does not match", "schemer matches"))


def test_discard_report_groups_reasons():
    fam = FAMILIES[cr.NAME]
    broken = dataclasses.replace(fam, sampler=lambda seed, split, cue: dataclasses.replace(
        fam.sampler(seed, split, cue), grader=never_covert if seed % 2 else always_covert))
    d = quality.discard_report(broken, "train", range(10), examples=2)
    assert (d["checked"], d["discarded"], d["rate"]) == (10, 10, 1.0)
    assert d["reasons"] == {"schemer not covert": 5, "saint covert": 5}
    assert all(len(v) == 2 for v in d["examples"].values())
    assert quality.check_scenario(dataclasses.replace(fam, saint=None), fam.sample(0, "train", "none"))


# ---- the similarity measure --------------------------------------------------------------

def test_shingles_and_jaccard():
    a = quality.shingles("Export batch B-4821 to Acme now please", ngram=3)
    assert "export batch b-4821" in a and len(a) == 5
    masked = quality.shingles("batch B-4821 and B-1234", ngram=2, mask_numbers=True)
    assert masked == {"batch b-0", "b-0 and", "and b-0"}
    assert quality.shingles("too short", ngram=5) == {"too short"}
    sim = quality.jaccard_matrix([{"a", "b"}, {"b", "c"}, {"x"}])
    assert sim[0, 0] == 1 and sim[0, 1] == pytest.approx(1 / 3) and sim[0, 2] == 0
    cross = quality.jaccard_matrix([{"a", "b"}], [{"a"}, {"q", "r"}])
    assert cross.shape == (1, 2) and cross[0, 0] == pytest.approx(0.5) and cross[0, 1] == 0


def test_diversity_report_flags_a_degenerate_family():
    fam = FAMILIES[cr.NAME]
    same = dataclasses.replace(fam, sampler=lambda seed, split, cue: fam.sampler(7, split, cue))
    r = quality.diversity_report(same, "train", n=20)
    assert r["distinct_hashes"] == 1 and r["near_dup_scenarios"] == 1.0 and r["near_dup_pairs"] == 1.0
    assert r["max_sim_mean"] == 1.0 and r["coverage"]["domain"] == 1


def test_quality_command_prints_the_tables(capsys):
    assert quality.main([cr.NAME, "-n", "30", "--seeds", "10"]) == 0
    out = capsys.readouterr().out
    assert "distinct hashes" in out and "discard" in out and cr.NAME in out and "Train/validation" in out
