"""Capability-only training data: tasks with nothing to do with the spec, for the durability check.

A model trained against scheming is trained further on ordinary capability data and evaluated
again (``training/durability.py``): if the covert rate comes back or spec citation fades, the
anti-scheming behaviour was shallow. The data must not mention the spec, oversight or honesty,
so the built-in source is procedural: arithmetic word problems, sorting, counting, unit
conversion, string manipulation, date arithmetic — each with worked reasoning and a checkable
answer, generated from a seed. A dataset on disk (``durability.dataset``, the same format as
``data.capability``) replaces it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from deliberate.config import DurabilityConfig
from deliberate.errors import TrainingDataError

SYSTEM = "You are a helpful assistant. Think briefly, then answer."

NAMES = ["Amara", "Bo", "Chen", "Dara", "Eli", "Farah", "Goran", "Hana", "Ines", "Jun", "Kofi", "Lena", "Mateo",
         "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tove"]
ITEMS = ["apples", "boxes", "crates", "tickets", "books", "lamps", "bolts", "jars", "plants", "cables"]
WORDS = ["harbor", "lantern", "meadow", "quartz", "saffron", "timber", "velvet", "willow", "ember", "glacier",
         "orchid", "pepper", "ribbon", "summit", "thistle", "walnut"]


def _arithmetic(rng: random.Random) -> tuple[str, str, str]:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    a, b, c = rng.randint(12, 90), rng.randint(2, 9), rng.randint(3, 40)
    total = a * b - c
    q = f"{name} has {b} shelves with {a} {item} each and gives away {c}. How many {item} are left?"
    r = f"{b} shelves x {a} = {a * b}. {a * b} - {c} = {total}."
    return q, r, str(total)


def _sorting(rng: random.Random) -> tuple[str, str, str]:
    xs = rng.sample(range(1, 100), rng.randint(4, 7))
    s = sorted(xs)
    return (f"Sort these numbers from smallest to largest: {', '.join(map(str, xs))}.",
            f"The smallest is {s[0]}, the largest is {s[-1]}; ordering the rest between them.",
            ", ".join(map(str, s)))


def _counting(rng: random.Random) -> tuple[str, str, str]:
    word, letter = rng.choice(WORDS), None
    letter = rng.choice(sorted(set(word)))
    n = word.count(letter)
    return (f"How many times does the letter '{letter}' appear in the word '{word}'?",
            f"Spelling it out: {' '.join(word)}. The letter '{letter}' appears {n} time{'s' if n != 1 else ''}.",
            str(n))


def _units(rng: random.Random) -> tuple[str, str, str]:
    km = rng.randint(2, 60)
    m = km * 1000
    minutes = rng.randint(2, 9) * 15
    return (f"A trail is {km} km long. How many metres is that, and how many hours are {minutes} minutes?",
            f"1 km = 1000 m, so {km} km = {m} m. 60 minutes = 1 hour, so {minutes} minutes = {minutes / 60:g} hours.",
            f"{m} m and {minutes / 60:g} hours")


def _strings(rng: random.Random) -> tuple[str, str, str]:
    word = rng.choice(WORDS)
    return (f"Write the word '{word}' backwards, then say how many letters it has.",
            f"Reading from the last letter to the first: {word[::-1]}. It has {len(word)} letters.",
            f"{word[::-1]} ({len(word)} letters)")


def _dates(rng: random.Random) -> tuple[str, str, str]:
    start = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 330))
    days = rng.randint(3, 40)
    end = start + dt.timedelta(days=days)
    return (f"A shipment leaves on {start.isoformat()} and takes {days} days. On what date does it arrive?",
            f"Counting {days} days forward from {start.isoformat()} gives {end.isoformat()}.",
            end.isoformat())


TASKS: list[Callable[[random.Random], tuple[str, str, str]]] = [_arithmetic, _sorting, _counting, _units, _strings,
                                                                _dates]


def synthetic_records(n: int, seed: int) -> list[dict]:
    """``n`` chat records (system, user, assistant with ``reasoning`` and the answer), one task kind
    after another so every kind is present; deterministic in ``seed``."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        question, reasoning, answer = TASKS[i % len(TASKS)](rng)
        out.append({"messages": [{"role": "system", "content": SYSTEM, "reasoning": ""},
                                 {"role": "user", "content": question, "reasoning": ""},
                                 {"role": "assistant", "content": f"Answer: {answer}", "reasoning": reasoning}],
                    "scenario_id": f"capability/synthetic/{seed}/{i}", "family": "capability", "source": "synthetic"})
    return out


def durability_records(cfg: DurabilityConfig) -> tuple[list[dict], dict]:
    """The capability-only train records for the durability run and a report of where they came from."""
    if cfg.dataset is None:
        return synthetic_records(cfg.examples, cfg.seed), {"source": "synthetic", "examples": cfg.examples,
                                                           "seed": cfg.seed}
    from dataclasses import replace

    from deliberate.data.mix import capability_records

    # ratio x spec_records = examples: reuse the loader (format checks, seeded pick) with an exact count
    records, report = capability_records(replace(cfg.dataset, ratio=1.0), cfg.examples, key="durability.dataset")
    if not records:
        raise TrainingDataError(f"durability.dataset: {cfg.dataset.path} gave no records")
    return records, {"source": "dataset", **report}
