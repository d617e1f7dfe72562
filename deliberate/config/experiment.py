"""The whole experiment (ExperimentConfig) with its small top-level sections (spec, envs, wandb), the
loader (``load_config``, ``config_from_dict``) and the checks that span sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from deliberate.config.base import ConfigError, _build, apply_overrides, must_be_positive, plain_copy, read_yaml
from deliberate.config.data import (
    DataConfig,
    confession_checks,
    data_count_checks,
    data_guided_checks,
    data_range_checks,
    data_shard_checks,
    judge_score_checks,
    organism_checks,
)
from deliberate.config.evaluation import (
    EvalConfig,
    SafetyCaseConfig,
    eval_checks,
    eval_count_checks,
    safety_case_checks,
)
from deliberate.config.models import ModelConfig, model_checks, sampling_checks
from deliberate.config.ranges import range_problems
from deliberate.config.sizes import size_problems
from deliberate.config.training import (
    DurabilityConfig,
    RlConfig,
    SftConfig,
    durability_checks,
    lora_checks,
    rl_count_checks,
    rl_policy_checks,
    sft_backend_checks,
    sft_count_checks,
)


@dataclass
class SpecConfig:
    # A built-in spec name (specs/<name>.md) or a path to a Markdown spec.
    path: str = "anti_scheming"


@dataclass
class EnvsConfig:
    train: list[str] = field(default_factory=lambda: ["covert_rule_violation", "covert_rule_violation_twin"])
    test: list[str] = field(default_factory=lambda: ["impossible_checklist", "log_falsification", "oversight_config"])
    # "auto": the chat template's native tool format where it has one, else the JSON fallback.
    tool_format: Literal["auto", "json", "native"] = "auto"
    max_turns: int = 4
    # Families defined in YAML/JSON/JSONL files (docs/interchange.md): files or folders, loaded
    # before train/test names are checked, so they can be named above.
    paths: list[str] = field(default_factory=list)


@dataclass
class WandbConfig:
    # auto: online when WANDB_API_KEY is set, offline otherwise. disabled: no W&B at all.
    mode: Literal["auto", "online", "offline", "disabled"] = "auto"
    project: str = "deliberate"
    entity: str | None = None


@dataclass
class ExperimentConfig:
    name: str
    output_dir: str
    data: DataConfig
    spec: SpecConfig = field(default_factory=SpecConfig)
    envs: EnvsConfig = field(default_factory=EnvsConfig)
    sft: SftConfig = field(default_factory=SftConfig)
    rl: RlConfig = field(default_factory=RlConfig)
    durability: DurabilityConfig = field(default_factory=DurabilityConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    safety_case: SafetyCaseConfig = field(default_factory=SafetyCaseConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)
    # Check every input stage folder against its manifest (file hashes; a dataset's record hashes and
    # Merkle root) before a stage reads it; a mismatch stops the stage naming the file or record.
    # false skips it (huge models/datasets) and the manifest says so ("inputs_verified": false).
    verify_inputs: bool = True

    def stage_dir(self, stage: str) -> Path:
        return Path(self.output_dir) / stage

    def student(self) -> ModelConfig:
        return self.sft.model if self.sft.model is not None else self.data.teacher

    def durable_from(self) -> str:
        """The trained stage ("sft" or "rl") whose model the durability run continues."""
        d = self.durability.after
        return d if d != "auto" else ("rl" if self.rl.enabled else "sft")


# --------------------------------------------------------------------------- loading


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    return config_from_dict(read_yaml(path), overrides or [], source=str(path))


def config_from_dict(raw: dict, overrides: list[str] | None = None, source: str = "") -> ExperimentConfig:
    """The checked config: types first; when they are right, numeric ranges (config/ranges.py), the
    work a stage would do (config/sizes.py) and the checks across sections, all reported at once.
    Paths the config names are checked separately (config/paths.py): ``validate`` and each stage."""
    raw = apply_overrides(plain_copy(raw), overrides or [])
    problems: list[str] = []
    cfg = _build(ExperimentConfig, raw, "", problems)
    if not problems:
        ranged = range_problems(cfg, "")
        problems = _after_ranges(ranged, [*([] if ranged else size_problems(cfg)), *_semantic_checks(cfg)])
    if problems:
        raise ConfigError(problems, source)
    return cfg


def _after_ranges(ranged: list[str], others: list[str]) -> list[str]:
    """Range problems, then the section checks' problems; where both name the same path, the section's
    message alone (it says more: ``rl.num_generations: GRPO compares rollouts within a group; ...``)."""
    paths = {p.partition(": ")[0] for p in others}
    return [p for p in ranged if p.partition(": ")[0] not in paths] + others


def _semantic_checks(cfg: ExperimentConfig) -> list[str]:
    """Checks beyond types: ranges and cross-section consistency. Problems are reported in the order
    of this list; a section's checks may be split in several functions to keep that order."""
    d, e, sft, rl = cfg.data, cfg.eval, cfg.sft, cfg.rl
    return [
        *data_count_checks(d), *eval_count_checks(e), *envs_count_checks(cfg.envs), *sft_count_checks(sft),
        *data_shard_checks(d),
        *_model_section_checks(cfg),
        *data_guided_checks(d),
        *sft_backend_checks(sft),
        *_remote_teacher_sft_checks(cfg),
        *judge_score_checks(d.judge),
        *lora_checks(sft.lora, "sft"), *lora_checks(rl.lora, "rl"),
        *confession_checks(d), *organism_checks(d, cfg.envs.train),
        *_organism_rl_checks(cfg),
        *data_range_checks(d),
        *sampling_checks(d.generation, "data.generation"), *sampling_checks(e.generation, "eval.generation"),
        *envs_path_checks(cfg.envs),
        *_envs_family_checks(cfg),
        *eval_checks(e, cfg.envs.test),
        *_eval_model_checks(cfg),
        *safety_case_checks(cfg.safety_case),
        *_durability_cross_checks(cfg),
        *durability_checks(cfg.durability),
        *rl_count_checks(rl),
        *_rl_family_checks(cfg),
        *rl_policy_checks(rl),
        *_remote_teacher_rl_checks(cfg),
    ]


# --------------------------------------------------------------------------- envs checks


def envs_count_checks(envs: EnvsConfig) -> list[str]:
    return must_be_positive({"envs.max_turns": envs.max_turns})


def envs_path_checks(envs: EnvsConfig) -> list[str]:
    """Every family file or folder in envs.paths loads (and registers its families)."""
    out: list[str] = []
    if envs.paths:
        from deliberate.envs.core import EnvError
        from deliberate.envs.declarative import load_family_path

        for i, path in enumerate(envs.paths):
            try:
                load_family_path(path)
            except (EnvError, OSError) as exc:
                out.append(f"envs.paths[{i}]: {exc}")
    return out


# --------------------------------------------------------------------------- cross-section checks


def _model_section_checks(cfg: ExperimentConfig) -> list[str]:
    """The model sections of the data, sft and eval stages (rl and Inspect graders: their own checks)."""
    models = {"data.teacher": cfg.data.teacher, "sft.model": cfg.sft.model, "data.judge.model": cfg.data.judge.model,
              "eval.confirm_model": cfg.eval.confirm_model}
    out = []
    for where, mc in models.items():
        if mc is not None:
            out += model_checks(mc, where)
    return out


def _remote_teacher_sft_checks(cfg: ExperimentConfig) -> list[str]:
    """SFT of the teacher itself needs the teacher's weights here."""
    if cfg.sft.enabled and cfg.sft.model is None and cfg.data.teacher.backend != "transformers":
        return ["sft.model: the teacher is served remotely (data.teacher.backend: "
                f"{cfg.data.teacher.backend}); name a local student model for SFT"]
    return []


def _organism_rl_checks(cfg: ExperimentConfig) -> list[str]:
    if cfg.data.source == "organism" and cfg.rl.enabled:
        return ["rl.enabled: RL runs in train-suite families; an organism experiment (data.source: organism) "
                "implants its goal with SFT only"]
    return []


def _envs_family_checks(cfg: ExperimentConfig) -> list[str]:
    """envs.train and envs.test name known families of the right suite (organism with data.source:
    organism and no data.organism); envs.test may be empty when eval.inspect has tasks."""
    from deliberate.envs.core import EnvError, get_family

    out = []
    for suite in ("train", "test"):
        names = getattr(cfg.envs, suite)
        # a kit organism (data.organism) acts in train-suite families; an organism family's own policy in its family
        want = "organism" if suite == "train" and cfg.data.source == "organism" and cfg.data.organism is None else suite
        if not names and not (suite == "test" and cfg.eval.inspect):  # an eval of Inspect tasks alone is fine
            out.append(f"envs.{suite}: at least one family is required" +
                       (" (or Inspect tasks in eval.inspect)" if suite == "test" else ""))
        for i, name in enumerate(names):
            try:
                fam = get_family(name)
            except EnvError as exc:
                out.append(f"envs.{suite}[{i}]: {exc}")
                continue
            if fam.suite != want:
                why = ("data.source: organism trains on organism-suite families" if want == "organism" else
                       "a kit organism (data.organism) acts in train-suite families" if suite == "train"
                       and cfg.data.organism is not None else "train and test families must stay disjoint")
                out.append(f"envs.{suite}[{i}]: family {name!r} belongs to the {fam.suite} suite; {why}")
    return out


def _eval_model_checks(cfg: ExperimentConfig) -> list[str]:
    """Evaluating sft, rl or durable needs that stage enabled."""
    out = []
    for i, name in enumerate(cfg.eval.models):
        if name in ("sft", "rl") and not getattr(cfg, name).enabled:
            out.append(f"eval.models[{i}]: {name!r} needs {name}.enabled: true")
        if name == "durable" and not cfg.durability.enabled:
            out.append(f"eval.models[{i}]: 'durable' needs durability.enabled: true")
    return out


def _durability_cross_checks(cfg: ExperimentConfig) -> list[str]:
    """The durability run continues an enabled stage, and eval compares both models."""
    if not cfg.durability.enabled:
        return []
    out = []
    after = cfg.durable_from()
    if not getattr(cfg, after).enabled:
        out.append(f"durability.after: continues the {after!r} model, but {after}.enabled is false")
    if after not in cfg.eval.models:
        out.append(f"eval.models: durability compares 'durable' with {after!r}; list both")
    elif "durable" not in cfg.eval.models:
        out.append("eval.models: durability.enabled trains a 'durable' model; list it to evaluate it")
    return out


def _rl_family_checks(cfg: ExperimentConfig) -> list[str]:
    return [f"rl.families[{i}]: {name!r} is not in envs.train; RL trains in train families only"
            for i, name in enumerate(cfg.rl.families) if name not in cfg.envs.train]


def _remote_teacher_rl_checks(cfg: ExperimentConfig) -> list[str]:
    """RL with SFT off and no rl.model trains the teacher, which must then be local."""
    rl = cfg.rl
    if rl.enabled and not cfg.sft.enabled and rl.model is None and cfg.data.teacher.backend != "transformers":
        return ["rl.model: the teacher is served remotely and SFT is off; name a local policy model"]
    return []
