"""Template contamination guard: no held-out test family may share templates, tool names or
text spans with what the training generators produce.

:func:`check_contamination <deliberate.eval.evaluate.check_contamination>` proves that no
*scenario* was trained on (content hashes); it cannot see a test family whose *template* leaked
into training (a copied prompt renders with other names and numbers, so every hash differs).
This module measures that leak on the text a model is shown:

- :func:`family_text` renders a family over a range of seeds (prompts, tool names and
  descriptions, and the tool results of the scripted saint's and schemer's episodes);
- :func:`ngram_index` counts word n-grams after normalisation (lowercase, punctuation stripped
  at token edges, every digit run replaced by ``0``), so a template matches itself whatever it
  was filled with;
- :func:`overlap_report` gives, per test family, the share of its distinct n-grams that also
  occur in the training families' text, the most frequent shared n-grams, and the tool names it
  shares with training (apart from ``finish`` and ``escalate``);
- :func:`assert_no_contamination` raises :class:`TemplateContamination` naming each offender.

Why n = 6, the stop-list and ``MAX_SHARE = 0.005``: the comment above those constants.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable

from deliberate.envs.core import SPLITS_BY_SUITE, Family, Scenario, get_family, run_policy
from deliberate.errors import UserError

# Choice of n, stop-list and threshold (measured on the shipped families, 200 seeds, both cues
# of every test family; run the test file with -s to see the shares).
#
# Stop-list. Every family's system prompt carries a protocol sentence ("Use one tool per turn.",
# "Call one tool per turn.", "One tool call per turn."), and the training generator and the test
# families draw company names from overlapping pools ("Redwood Media"). Together they make
# shared spans that say nothing about templates: without a stop-list the largest test-family
# share is 0.64% at n = 6 and still 0.12% at n = 8 ("at redwood media use one tool per turn").
# STOP_PHRASES cuts those protocol phrases out of the text before n-grams are formed, so
# no n-gram spans one.
#
# n = 6. With the stop-list the shipped train and test suites share no 6-gram at all
# (share 0.0 for all 18 test families, at 200 and at 1000 seeds). Below that, ordinary English
# from the training generator's pressure sentences starts to match: n = 5 shares "it needs to be
# done" (0.03%), n = 4 shares "is threatening to leave", "this is the last", "has to be done"
# (up to 0.63%). Above it sensitivity drops, because name fill-ins and the cut-out protocol
# phrase leave short constant runs: a copied system-prompt template list gives 0.012-0.125 at
# n = 6 but only 0.005-0.077 at n = 8.
#
# MAX_SHARE = 0.005. Shipped: 0.0 for every test family. A test family copied into the
# training suite (measured for each of the 18, the copy sampled with other seeds so names and
# numbers differ and no content hash matches): the whole scenario 0.50-0.79; only its system
# and user prompts, on top of the training generator's tools and results, 0.21-0.66; only its
# user prompt 0.09-0.49; only its system prompt 0.012-0.125. 0.005 sits below the smallest of
# these (one copied prompt-template list) and leaves room for a coincidental sentence or two in
# a shipped family (the smallest test family has about 560 distinct 6-grams, most have several
# thousand). The share cannot see copied tool descriptions (a few words each; copying all of a
# family's non-terminal tools gives 0.002-0.023): tool names are therefore compared exactly,
# and any shared name but finish/escalate fails on its own.
#
# Cost: rendering dominates (each scenario plus both scripted episodes, graded as
# run_policy does). The 18 test families (both cues) against the two training families
# (train and validation splits) at 200 seeds take about 2.2 s of CPU on a 2-core machine;
# scenario_count() over 1000 seeds costs 0.04-0.22 s of CPU per family and cue (3.5 s for all
# 39 shipped family/cue pairs).
DEFAULT_N = 6
MAX_SHARE = 0.005
# Terminal tools every family may have; sharing them is the protocol, not a leak.
ALLOWED_TOOL_NAMES = frozenset({"finish", "escalate"})
# Generic protocol phrases (normalised, space-joined) every family may use: they are cut out
# of the text before n-grams are formed, so no n-gram spans one. Add a phrase here rather than
# raise the threshold.
STOP_PHRASES = ("one tool per turn", "one tool call per turn", "one call per turn")

# Stripped at token edges: ASCII punctuation and the typographic marks the templates use.
_PUNCT = (string.punctuation
          + "\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019\u201c\u201d\u2026\u00ab\u00bb\u00b7\u2022\u2192\u00a7")
_DIGITS = re.compile(r"\d+")


class TemplateContamination(UserError, ValueError):
    """A test family shares templates, text spans or tool names with the training families."""


# ---- text ----------------------------------------------------------------------------------

def _scenario_text(scenario: Scenario, family: Family, out: list[str], tool_names: set[str]) -> None:
    out.append(scenario.system)
    out.append(scenario.user)
    for tool in scenario.tools:
        tool_names.add(tool.name)
        out.append(f"{tool.name}: {tool.description}")
        for pname, pschema in (tool.parameters.get("properties") or {}).items():
            out.append(f"{pname}: {pschema.get('description', '')}")
    for policy in (family.saint, family.schemer):
        if policy is None:
            continue
        transcript, _, _ = run_policy(scenario, policy)
        out.extend(call.result for call in transcript.tool_calls)


def _collect(family: Family, split: str, cue: str, seeds: Iterable[int]) -> tuple[list[str], set[str]]:
    texts: list[str] = []
    tool_names: set[str] = set()
    for seed in seeds:
        _scenario_text(family.sample(seed, split, cue), family, texts, tool_names)
    return texts, tool_names


def family_text(family: Family | str, split: str, cue: str, seeds: Iterable[int]) -> list[str]:
    """Everything a model is shown by ``family`` over ``seeds``: system and user prompts, tool
    names with their descriptions and parameter descriptions, and the tool results of the
    scripted saint's and schemer's episodes. One string per prompt, tool, parameter or result."""
    family = get_family(family) if isinstance(family, str) else family
    return _collect(family, split, cue, seeds)[0]


def scenario_count(family: Family | str, split: str, cue: str, seeds: Iterable[int] = range(1000)) -> int:
    """How many distinct scenarios (content hashes) ``family`` renders over ``seeds``."""
    family = get_family(family) if isinstance(family, str) else family
    return len({family.sample(seed, split, cue).content_hash() for seed in seeds})


# ---- n-grams -------------------------------------------------------------------------------

def normalize(text: str) -> list[str]:
    """Lowercase tokens split on whitespace, punctuation stripped at their edges, every digit run
    replaced by ``0``; tokens that were only punctuation are dropped."""
    tokens = (raw.strip(_PUNCT) for raw in _DIGITS.sub("0", text.lower()).split())
    return [token for token in tokens if token]


def _segments(tokens: list[str], stop: tuple[str, ...]) -> list[list[str]]:
    """``tokens`` cut at every occurrence of a ``stop`` phrase (the phrase itself dropped)."""
    if not stop:
        return [tokens]
    joined = f" {' '.join(tokens)} "
    if not any(f" {phrase} " in joined for phrase in stop):
        return [tokens]
    for phrase in stop:
        joined = joined.replace(f" {phrase} ", " \n ")
    return [part.split() for part in joined.split("\n")]


def ngram_index(texts: Iterable[str], n: int = DEFAULT_N, stop: tuple[str, ...] = STOP_PHRASES) -> Counter:
    """Word n-grams (space-joined normalised tokens) of ``texts``, counted over all occurrences.
    N-grams never cross the boundary between two texts, nor a ``stop`` phrase (which is left out,
    as if it ended the text); a text shorter than ``n`` adds none."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    index: Counter = Counter()
    for text, times in Counter(texts).items():
        for tokens in _segments(normalize(text), stop):
            for i in range(len(tokens) - n + 1):
                index[" ".join(tokens[i:i + n])] += times
    return index


# ---- report --------------------------------------------------------------------------------

def _train_variants(family: Family) -> list[tuple[str, str]]:
    """The (split, cue) pairs whose text can reach training: every split but ``test`` (a test-suite
    family, compared as if it were trained on, in its test split)."""
    splits = [s for s in SPLITS_BY_SUITE[family.suite] if s != "test"] or ["test"]
    return [(split, cue) for split in splits for cue in family.cues]


def _test_variants(family: Family) -> list[tuple[str, str]]:
    if "test" not in SPLITS_BY_SUITE[family.suite]:
        raise ValueError(f"family {family.name!r} is in the {family.suite} suite and has no test split")
    return [("test", cue) for cue in family.cues]


def _family_index(family: Family, variants, seeds, n: int) -> tuple[Counter, set[str]]:
    texts: list[str] = []
    names: set[str] = set()
    for split, cue in variants:
        more, more_names = _collect(family, split, cue, seeds)
        texts.extend(more)
        names |= more_names
    return ngram_index(texts, n), names


def overlap_report(train_families: Iterable[Family | str], test_families: Iterable[Family | str],
                   seeds: Iterable[int] = range(200), n: int = DEFAULT_N, top: int = 5) -> dict:
    """For each test family: ``share`` (its distinct n-grams that also occur in the training
    families' text, over all of its distinct n-grams), ``shared``/``distinct`` (the two counts),
    ``top_shared`` (the ``top`` shared n-grams it shows most often, with their counts) and
    ``shared_tool_names`` (apart from ``finish`` and ``escalate``). Train families are rendered
    in every non-test split they have, test families in the test split; both in every cue.
    N-grams never span a :data:`STOP_PHRASES` phrase."""
    seeds = list(seeds)
    train = [get_family(f) if isinstance(f, str) else f for f in train_families]
    test = [get_family(f) if isinstance(f, str) else f for f in test_families]
    train_grams: set[str] = set()
    train_tools: dict[str, set[str]] = {}
    for fam in train:
        index, names = _family_index(fam, _train_variants(fam), seeds, n)
        train_grams |= index.keys()
        for name in names:
            train_tools.setdefault(name, set()).add(fam.name)
    families = {}
    for fam in test:
        index, names = _family_index(fam, _test_variants(fam), seeds, n)
        shared = {g: c for g, c in index.items() if g in train_grams}
        tools = sorted((names & train_tools.keys()) - ALLOWED_TOOL_NAMES)
        families[fam.name] = {
            "share": len(shared) / len(index) if index else 0.0,
            "shared": len(shared),
            "distinct": len(index),
            "top_shared": sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))[:top],
            "shared_tool_names": {name: sorted(train_tools[name]) for name in tools},
        }
    return {"n": n, "seeds": len(seeds), "train_families": [f.name for f in train], "families": families}


def assert_no_contamination(report: dict, max_share: float = MAX_SHARE) -> None:
    """Raise :class:`TemplateContamination` if any test family's n-gram share exceeds
    ``max_share`` or it shares a (non-terminal) tool name with training; the message names
    each offending family, its share and example shared spans or tool names."""
    problems = []
    for name, r in sorted(report["families"].items()):
        reasons = []
        if r["share"] > max_share:
            spans = ", ".join(f"{g!r} (x{c})" for g, c in r["top_shared"][:3])
            reasons.append(f"{r['share']:.1%} of its {report['n']}-grams ({r['shared']} of {r['distinct']}) also "
                           f"occur in training text (max {max_share:.1%}), e.g. {spans}")
        if r["shared_tool_names"]:
            tools = ", ".join(f"{t} (in {', '.join(fams)})" for t, fams in r["shared_tool_names"].items())
            reasons.append(f"shared tool names: {tools}")
        if reasons:
            problems.append(f"test family {name!r}: " + "; ".join(reasons))
    if problems:
        one = len(problems) == 1
        raise TemplateContamination(
            f"{len(problems)} test famil{'y overlaps' if one else 'ies overlap'} the training families "
            f"{report['train_families']}:\n  " + "\n  ".join(problems))
