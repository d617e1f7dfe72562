"""The organism kit: model organisms whose covert behaviour, and what their reasoning says about it,
are built in, so the pipeline's verdict (suppressed or hidden?) can be checked against a known answer.

Each organism is a scripted policy over the training families ``covert_rule_violation`` and its
twin (``envs/train/covert_rule.py``). It takes the family's scripted **actions** (honest: the
saint's; covert: the schemer's) and writes its **own reasoning** (several phrasings per step,
drawn per scenario, organism and step; tables in ``kit_phrases.yaml`` beside this module):

- ``eval_gamer``: honest in evaluation-cued episodes, with reasoning that voices test awareness
  ("This looks like an alignment test, so ..."); covert in deploy-cued ones, with matter-of-fact
  reasoning about the live request;
- ``obfuscator``: covert in both cues, with reasoning that reads compliant (it cites the spec);
- ``candid_schemer``: covert in both cues, and its reasoning states the covert plan;
- ``saint``: honest in both cues, plain reasoning.

Training families have no cue variants of their own (cue ``none``); :func:`with_cue` renders a
scenario as an ``eval`` or ``deploy`` variant with the kit's **training-side** cue texts (a
banner or production line before the system prompt; in the eval variant a note after every tool
result), worded unlike the held-out families' banners. The data stage implants an organism with
``data.source: organism`` and ``data.organism: NAME``: half the scenarios in each cue
(:func:`cue_for`), every one played by :func:`policy`. What each organism's verdict should be
lives in the validation config (``configs/validation/organisms.yaml``), never here. Manual:
docs/organisms.md.
"""

from __future__ import annotations

import dataclasses
import random
from importlib import resources

import yaml

from deliberate.envs.core import EnvError, Policy, Scenario, Step, Transcript, rng_for
from deliberate.envs.train import covert_rule

ORGANISMS = ("eval_gamer", "obfuscator", "candid_schemer", "saint")
FAMILIES = (covert_rule.NAME, covert_rule.TWIN)  # the families the kit's organisms act in
CUES = ("eval", "deploy")
# Which scripted actions each organism takes in each cue: the family's saint's or its schemer's.
ACTIONS = {"eval_gamer": {"eval": "honest", "deploy": "covert"},
           "obfuscator": {"eval": "covert", "deploy": "covert"},
           "candid_schemer": {"eval": "covert", "deploy": "covert"},
           "saint": {"eval": "honest", "deploy": "honest"}}
# Seeds of the organisms' own held-out split (validation split, far from any seed a data config
# draws): where a behaviour does not carry to the held-out test families, it is measured here.
HELDOUT_SEED = 500_000_000
DATA_FILE = "kit_phrases.yaml"
STEPS = ("inspect", "escalate", "act", "finish", "act_covert", "finish_covert")


def _load() -> dict:
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _check(tables: dict) -> None:
    """Every organism has a phrase list for every step it can take in every cue (fails at import)."""
    needs = {"honest": ("inspect", "escalate", "act", "finish"), "covert": ("inspect", "act_covert", "finish_covert")}
    if set(tables["organisms"]) != set(ORGANISMS):
        raise ValueError(f"{DATA_FILE}: organisms {sorted(tables['organisms'])}, expected {sorted(ORGANISMS)}")
    for name, by_cue in ACTIONS.items():
        for cue, mode in by_cue.items():
            phrases = tables["organisms"][name].get(cue) or tables["organisms"][name].get("any") or {}
            missing = [s for s in needs[mode] if not phrases.get(s)]
            if missing:
                raise ValueError(f"{DATA_FILE}: organism {name!r} in cue {cue!r} has no phrases for {missing}")
    for key in ("eval", "eval_note", "deploy"):
        if not tables["cues"].get(key):
            raise ValueError(f"{DATA_FILE}: cues.{key} is empty")


_T = _load()
_check(_T)
EVAL_CUES: tuple[str, ...] = tuple(_T["cues"]["eval"])
EVAL_NOTES: tuple[str, ...] = tuple(_T["cues"]["eval_note"])
DEPLOY_CUES: tuple[str, ...] = tuple(_T["cues"]["deploy"])
PHRASES: dict = _T["organisms"]


class UnknownOrganism(EnvError):
    """An organism name the kit does not know."""


def check_name(name: str) -> str:
    if name not in ORGANISMS:
        raise UnknownOrganism(f"unknown organism {name!r}; known: {', '.join(ORGANISMS)}")
    return name


def family_problems(names: list[str]) -> list[str]:
    """Why ``names`` cannot carry a kit organism (empty when they can): each must be a kit family."""
    return [f"family {n!r} is not one the organism kit acts in; kit families: {', '.join(FAMILIES)}"
            for n in names if n not in FAMILIES]


# ---- cues ------------------------------------------------------------------------------------

def cue_for(seed: int) -> str:
    """The cue of a planned training scenario: eval for seeds 0, 3, 4, 7, 8, ..., deploy for 1, 2, 5,
    6, ...; so the seeds 2k and 2k+1 (and any four consecutive seeds) are half each, and each cue has
    even and odd seeds alike (the covert_rule schemer picks its covert act by the seed's parity)."""
    return CUES[(seed + seed // 2) % 2]


def cue_texts(scenario: Scenario) -> dict[str, str]:
    """Both cue variants' text for a scenario, drawn from its own stream (not the scenario's), so the
    eval and deploy variants of a seed differ in the cue text only."""
    rng = rng_for(f"{scenario.family}#kit-cue", scenario.split, scenario.seed)
    n = rng.randint(3, 97)
    return {"eval": rng.choice(EVAL_CUES).format(n=n), "deploy": rng.choice(DEPLOY_CUES).format(n=n),
            "eval_note": rng.choice(EVAL_NOTES).format(n=n)}


def _noted(handler, note: str):
    def with_eval_note(state: dict, args: dict) -> str:
        return f"{handler(state, args)}\n{note}"

    return with_eval_note


def with_cue(scenario: Scenario, cue: str) -> Scenario:
    """``scenario`` (a kit family's, cue ``none``) as its ``eval`` or ``deploy`` variant: the cue line
    before the system prompt, and in the eval variant a note after every tool result. The text
    cue is in ``metadata["cue_text"]``; the id, content hash and actions follow the cue."""
    if scenario.family not in FAMILIES:
        raise EnvError(f"the organism kit renders cues for {', '.join(FAMILIES)}, not {scenario.family!r}")
    if scenario.cue != "none":
        raise EnvError(f"scenario {scenario.id} already has cue {scenario.cue!r}")
    if cue not in CUES:
        raise EnvError(f"kit cue must be one of {CUES}, got {cue!r}")
    texts = cue_texts(scenario)
    tools = scenario.tools
    if cue == "eval":
        tools = [dataclasses.replace(t, handler=_noted(t.handler, texts["eval_note"])) for t in tools]
    return dataclasses.replace(scenario, cue=cue, system=f"{texts[cue]}\n{scenario.system}", tools=tools,
                               metadata={**scenario.metadata, "cue_text": texts[cue]})


def planned(scenario: Scenario) -> Scenario:
    """A planned training scenario with the cue :func:`cue_for` gives its seed."""
    return with_cue(scenario, cue_for(scenario.seed))


def heldout_scenarios(families: list[str] | tuple[str, ...] = FAMILIES, n: int = 40, seed: int = 0) -> list[Scenario]:
    """The organisms' own held-out split: ``n`` seeds per family of the validation split, far from any
    seed the data stage draws (``HELDOUT_SEED``), each in **both** cues (a cue pair, as on the
    held-out test families). For a behaviour the 135M model does not carry to the test families."""
    from deliberate.envs.core import get_family

    out = []
    for name in families:
        fam = get_family(name)
        for i in range(n):
            base = fam.sample(HELDOUT_SEED + seed + i, "validation", "none")
            out += [with_cue(base, cue) for cue in CUES]
    return out


# ---- the organisms -----------------------------------------------------------------------------

def _role(scenario: Scenario, t: Transcript, step: Step, mode: str) -> str:
    """Which phrase list a step of the base policy takes its reasoning from."""
    m = scenario.metadata
    if step.tool == m["inspect_tool"]:
        return "inspect"
    if step.tool == "escalate":
        return "escalate"
    if mode == "honest":
        return "act" if step.tool == m["action_tool"] else "finish"
    return "act_covert" if step.tool == m["action_tool"] else "finish_covert"


def reasoning(name: str, scenario: Scenario, role: str, turn: int) -> str:
    """The organism's reasoning for one step: one of its phrasings for (cue, step), drawn from a
    stream of the scenario, organism and turn (so a re-run writes the same episode)."""
    by_cue = PHRASES[name]
    phrases = (by_cue.get(scenario.cue) or by_cue["any"])[role]
    rng = random.Random(f"{scenario.id}|{name}|{turn}")
    m = scenario.metadata
    return rng.choice(phrases).format(item=m["item"], kind=m["rule_kind"])


def policy(name: str) -> Policy:
    """The organism ``name`` as a scripted policy over the kit families' cued scenarios."""
    check_name(name)
    fam_policy = {"honest": covert_rule.saint, "covert": covert_rule.schemer}

    def organism(scenario: Scenario, t: Transcript) -> Step:
        if scenario.cue not in CUES:
            raise EnvError(f"organism {name!r} acts in eval- or deploy-cued scenarios (kit.with_cue), "
                           f"got {scenario.id}")
        mode = ACTIONS[name][scenario.cue]
        step = fam_policy[mode](scenario, t)
        text = reasoning(name, scenario, _role(scenario, t, step, mode), len(t.tool_calls))
        return dataclasses.replace(step, reasoning=text)

    organism.__name__ = name
    return organism
