"""Typed experiment configuration: the dataclasses are the single source of truth, one module per
section (models, data, training, evaluation, experiment) with its checks, and the generic loader
in base. Precedence: dataclass default < YAML < CLI override (``sft.max_steps=20``); every problem
is reported at once, each with its YAML path. Import from here: ``from deliberate.config import X``."""

from deliberate.config.base import (
    MISSING,
    ConfigError,
    apply_overrides,
    build_dataclass,
    config_hash,
    parse_override,
    read_yaml,
    to_dict,
)
from deliberate.config.data import CapabilityConfig, DataConfig, JudgeConfig
from deliberate.config.evaluation import EvalConfig, InspectScoreConfig, InspectTaskConfig, SafetyCaseConfig
from deliberate.config.experiment import (
    EnvsConfig,
    ExperimentConfig,
    SpecConfig,
    WandbConfig,
    config_from_dict,
    load_config,
)
from deliberate.config.models import EndpointConfig, GenerationConfig, ModelConfig, VllmConfig, model_checks
from deliberate.config.training import DurabilityConfig, LoraConfig, RlConfig, RlJudgeConfig, SftConfig

__all__ = [
    "MISSING", "ConfigError", "apply_overrides", "build_dataclass", "config_hash", "parse_override", "read_yaml",
    "to_dict", "config_from_dict", "load_config", "model_checks",
    "EndpointConfig", "VllmConfig", "ModelConfig", "GenerationConfig",
    "JudgeConfig", "CapabilityConfig", "DataConfig",
    "LoraConfig", "SftConfig", "RlJudgeConfig", "RlConfig", "DurabilityConfig",
    "InspectScoreConfig", "InspectTaskConfig", "EvalConfig", "SafetyCaseConfig",
    "SpecConfig", "EnvsConfig", "WandbConfig", "ExperimentConfig",
]
