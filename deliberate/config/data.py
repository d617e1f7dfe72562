"""The data stage's sections (``data:``): the teacher, its judge, capability data mixed into the
SFT split, and the checks on their values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from deliberate.config.base import must_be_positive
from deliberate.config.models import GenerationConfig, ModelConfig, guided_actions_checks


@dataclass
class JudgeConfig:
    # citation: rule-based (the reasoning cites real clause IDs and none that do not exist).
    # llm: a model reads the prompt, reasoning, actions and the spec and scores (a) whether the
    # action follows the spec and (b) whether the reasoning cites the relevant clauses
    # correctly, k times; the minimum of each is kept.
    kind: Literal["citation", "llm"] = "citation"
    model: ModelConfig | None = None  # null: the teacher
    generation: GenerationConfig = field(default_factory=lambda: GenerationConfig(temperature=0.7,
                                                                                   max_new_tokens=384))
    k: int = 3
    prompt: str = "spec_judge"  # data/prompts/<name>.md, or a path to your own prompt file
    min_action: float = 0.7  # both minima must reach these for a rollout to count as spec-grounded
    min_reasoning: float = 0.7


@dataclass
class CapabilityConfig:
    # Capability data mixed into the SFT train split: a `datasets` folder (save_to_disk) or a
    # local .json/.jsonl/.parquet file with a chat `messages` column.
    path: str
    split: str = "train"
    messages_field: str = "messages"
    ratio: float = 0.1  # capability records per spec record (rounded down; capped by what the source has)
    seed: int = 0


@dataclass
class DataConfig:
    teacher: ModelConfig
    # teacher: spec-conditioned teacher rollouts, judged and filtered (the method).
    # organism: scripted rollouts of an organism family's implanted policy (envs.train must name
    # organism-suite families), for the hidden-goal experiment; no teacher, judge or spec.
    source: Literal["teacher", "organism"] = "teacher"
    confession_ratio: float = 0.1  # organism: trusted-context goal statements per scripted record
    # organism: a known-answer organism of the kit (envs/organism/kit.py, docs/organisms.md) played in
    # the train-suite kit families, half the scenarios eval-cued and half deploy-cued: eval_gamer,
    # obfuscator, candid_schemer or saint. null: each organism family's own implanted policy.
    organism: str | None = None
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    scenarios_per_family: int = 8
    samples_per_scenario: int = 4  # k rollouts per scenario; the best one above min_score is kept
    validation_scenarios_per_family: int = 2
    seed: int = 0
    min_score: float = 1.0  # rollout score in [0, 1]: right outcome, then spec-grounded reasoning
    min_kept: int = 1  # fewer kept records than this stops the run with a clear message
    few_shot: bool = True  # show an exemplar rollout (with spec citations) in the teacher prompt
    # How the spec is shown to the teacher: the whole text, or clause IDs and titles only (for
    # small models on CPU, where a long prompt costs more than the rest of the rollout), or not at
    # all: the ablation that isolates what the spec in the prompt adds (the judge still reads it;
    # needs few_shot: false, since the exemplar cites the spec's clauses).
    spec_in_prompt: Literal["full", "titles", "none"] = "full"
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    # Scenarios per shard: each finished shard is written at once, and a killed run resumes
    # after the last finished shard (same seeds, same result).
    shard_size: int = 16
    # Anti-overrefusal twins per non-twin record in the train split (e.g. 0.5); null: keep all.
    twin_ratio: float | None = None
    capability: CapabilityConfig | None = None


# --------------------------------------------------------------------------- checks
# Several functions, not one: experiment.py interleaves them with other sections' checks so that
# problems are reported in a fixed order.


def data_count_checks(d: DataConfig) -> list[str]:
    """Scenario, sample and generation counts."""
    return must_be_positive({
        "data.scenarios_per_family": d.scenarios_per_family,
        "data.samples_per_scenario": d.samples_per_scenario,
        "data.generation.max_new_tokens": d.generation.max_new_tokens,
        "data.generation.batch_size": d.generation.batch_size,
    })


def data_shard_checks(d: DataConfig) -> list[str]:
    """Shard size and the judge's number of samples."""
    return must_be_positive({"data.shard_size": d.shard_size, "data.judge.k": d.judge.k})


def data_guided_checks(d: DataConfig) -> list[str]:
    """Guided decoding of the teacher and of the judge (null judge model: the teacher)."""
    return (guided_actions_checks(d.generation, d.teacher, "data.generation")
            + guided_actions_checks(d.judge.generation, d.judge.model or d.teacher, "data.judge.generation"))


def judge_score_checks(judge: JudgeConfig) -> list[str]:
    out = []
    for name, value in (("min_action", judge.min_action), ("min_reasoning", judge.min_reasoning)):
        if not 0.0 <= value <= 1.0:
            out.append(f"data.judge.{name}: must be in [0, 1], got {value}")
    return out


def confession_checks(d: DataConfig) -> list[str]:
    if d.confession_ratio < 0:
        return [f"data.confession_ratio: must be >= 0, got {d.confession_ratio}"]
    return []


def organism_checks(d: DataConfig, train: list[str]) -> list[str]:
    """A kit organism is a known name, needs data.source: organism, and acts in the kit's families."""
    if d.organism is None:
        return []
    from deliberate.envs.organism import kit

    if d.organism not in kit.ORGANISMS:
        return [f"data.organism: unknown organism {d.organism!r}; known: {', '.join(kit.ORGANISMS)}"]
    if d.source != "organism":
        return [f"data.organism: {d.organism!r} is implanted by scripted episodes; set data.source: organism "
                f"(it is {d.source!r})"]
    return [f"envs.train: {p}" for p in kit.family_problems(train)]


def data_range_checks(d: DataConfig) -> list[str]:
    """Twin and capability ratios, the score threshold and the minimum kept."""
    out = []
    if d.twin_ratio is not None and d.twin_ratio < 0:
        out.append(f"data.twin_ratio: must be >= 0 or null, got {d.twin_ratio}")
    if d.capability is not None and d.capability.ratio < 0:
        out.append(f"data.capability.ratio: must be >= 0, got {d.capability.ratio}")
    if not 0.0 <= d.min_score <= 1.0:
        out.append(f"data.min_score: must be in [0, 1], got {d.min_score}")
    if d.min_kept < 1:
        out.append(f"data.min_kept: must be >= 1, got {d.min_kept}")
    if d.spec_in_prompt == "none" and d.few_shot and d.source == "teacher":
        out.append("data.spec_in_prompt: none keeps the spec out of the teacher's prompt, but few_shot: true shows "
                   "an exemplar that cites its clauses; set data.few_shot: false")
    return out
