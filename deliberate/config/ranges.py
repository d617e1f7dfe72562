"""The allowed range of every numeric config field, in one table keyed by dataclass and field name
(so a ModelConfig or GenerationConfig is checked the same wherever it appears), and the walk that
checks a built config against it. Every float must be finite; every int at most INT_MAX unless its
range says otherwise. ``tests/deliberate/test_config_validation.py`` fails when a numeric field of
any config dataclass has no entry here: a new field gets its range when it is added."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

INT_MAX = 2**31 - 1  # a larger count, size or seed is a typo (and overflows torch, numpy or vLLM)


@dataclass(frozen=True)
class Range:
    """``lo`` < / <= value < / <= ``hi`` (None: unbounded), or one of ``also`` (e.g. -1 for "all")."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    also: tuple = ()

    def problem(self, value: Any) -> str | None:
        if value in self.also:
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, got {value}"
        low_ok = self.lo is None or (value > self.lo if self.lo_open else value >= self.lo)
        high_ok = self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)
        if low_ok and high_ok:
            if isinstance(value, int) and self.hi is None and value > INT_MAX:
                return f"must be <= {INT_MAX}, got {value}"
            return None
        return f"must be {self.describe()}, got {value}"

    def describe(self) -> str:
        also = "".join(f" or {a}" for a in self.also)
        if self.lo is not None and self.hi is not None:
            left, right = "([" [not self.lo_open], ")]" [not self.hi_open]
            return f"in {left}{_num(self.lo)}, {_num(self.hi)}{right}{also}"
        if self.lo is not None:
            return f"{'>' if self.lo_open else '>='} {_num(self.lo)}{also}"
        if self.hi is not None:
            return f"{'<' if self.hi_open else '<='} {_num(self.hi)}{also}"
        return "a finite number"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


POSITIVE = Range(0, lo_open=True)  # counts, sizes, steps, rates, timeouts
NON_NEGATIVE = Range(0)  # limits where 0 means "none" or "off", ratios, retries
AT_LEAST_1 = Range(1)
PROBABILITY = Range(0, 1)  # scores and thresholds in [0, 1]
FRACTION = Range(0, 1, lo_open=True)  # (0, 1]: top_p, GPU memory share
OPEN_UNIT = Range(0, 1, lo_open=True, hi_open=True)  # (0, 1): a significance level, a risk bound
FINITE = Range()  # any finite number (rewards, score thresholds of any scale)
SEED = Range(0, INT_MAX)  # numpy and torch seeds are non-negative
PORT = Range(1, 65535)

_C = "deliberate.config"
_M = "deliberate.eval.monitor.config"

# "<module>.<class>" -> field -> Range. Every int/float field of every config dataclass is here.
RANGES: dict[str, dict[str, Range]] = {
    f"{_C}.models.EndpointConfig": {
        "max_concurrency": POSITIVE, "timeout_s": POSITIVE, "max_retries": NON_NEGATIVE,
        "backoff_initial_s": NON_NEGATIVE, "backoff_max_s": NON_NEGATIVE},
    f"{_C}.models.VllmConfig": {
        "tensor_parallel_size": AT_LEAST_1, "gpu_memory_utilization": FRACTION, "max_model_len": POSITIVE},
    f"{_C}.models.GenerationConfig": {
        "max_new_tokens": POSITIVE, "temperature": NON_NEGATIVE, "top_p": FRACTION, "batch_size": POSITIVE,
        "max_batch_tokens": NON_NEGATIVE, "seed": SEED, "reasoning_tokens": POSITIVE, "action_tokens": POSITIVE,
        "choice_temperature": NON_NEGATIVE, "prefix_cache_mb": NON_NEGATIVE},
    f"{_C}.data.JudgeConfig": {"k": POSITIVE, "min_action": PROBABILITY, "min_reasoning": PROBABILITY},
    f"{_C}.data.CapabilityConfig": {"ratio": NON_NEGATIVE, "seed": SEED},
    f"{_C}.data.DataConfig": {
        "confession_ratio": NON_NEGATIVE, "scenarios_per_family": POSITIVE, "samples_per_scenario": POSITIVE,
        "validation_scenarios_per_family": NON_NEGATIVE, "seed": SEED, "min_score": PROBABILITY,
        "min_kept": AT_LEAST_1, "shard_size": POSITIVE, "twin_ratio": NON_NEGATIVE},
    f"{_C}.training.LoraConfig": {"rank": POSITIVE, "alpha": POSITIVE, "dropout": Range(0, 1, hi_open=True)},
    f"{_C}.training.SftConfig": {
        "max_steps": Range(0, lo_open=True, also=(-1,)), "num_train_epochs": POSITIVE, "learning_rate": POSITIVE,
        "per_device_train_batch_size": POSITIVE, "gradient_accumulation_steps": POSITIVE, "max_length": POSITIVE,
        "logging_steps": POSITIVE, "save_steps": NON_NEGATIVE, "seed": SEED},
    f"{_C}.training.RlJudgeConfig": {"k": POSITIVE, "weight": NON_NEGATIVE},
    f"{_C}.training.RlConfig": {
        "scenarios_per_family": POSITIVE, "seed": SEED, "num_generations": Range(2), "max_steps": POSITIVE,
        "learning_rate": POSITIVE, "per_device_train_batch_size": POSITIVE, "gradient_accumulation_steps": POSITIVE,
        "beta": NON_NEGATIVE, "max_turns": POSITIVE, "reward_right": FINITE, "reward_covert": FINITE,
        "vllm_server_port": PORT, "vllm_tensor_parallel_size": AT_LEAST_1, "vllm_gpu_memory_utilization": FRACTION,
        "logging_steps": POSITIVE, "save_steps": NON_NEGATIVE},
    f"{_C}.training.DurabilityConfig": {
        "examples": POSITIVE, "seed": SEED, "max_steps": POSITIVE, "learning_rate": POSITIVE,
        "per_device_train_batch_size": POSITIVE, "gradient_accumulation_steps": POSITIVE, "max_length": POSITIVE},
    f"{_C}.evaluation.InspectScoreConfig": {"threshold": FINITE},
    f"{_C}.evaluation.InspectTaskConfig": {"epochs": POSITIVE, "limit": POSITIVE, "max_tokens": POSITIVE},
    f"{_C}.evaluation.EvalConfig": {
        "scenarios_per_family": POSITIVE, "seed": SEED, "max_resamples": NON_NEGATIVE,
        "counterfactual_limit": NON_NEGATIVE, "hidden_goal_scenarios": POSITIVE, "confirm_k": POSITIVE},
    f"{_C}.evaluation.SafetyCaseConfig": {"risk_threshold": OPEN_UNIT},
    f"{_C}.experiment.EnvsConfig": {"max_turns": POSITIVE},
    # the deployment monitor's sections (eval/monitor/config.py), checked through build_dataclass
    f"{_M}.ClassifierConfig": {"k": POSITIVE},
    f"{_M}.OfflineEncoderConfig": {"max_batch_tokens": POSITIVE, "threads": NON_NEGATIVE},
    f"{_M}.TripwireConfig": {"threshold": FINITE},
    f"{_M}.WebhookConfig": {
        "timeout_s": POSITIVE, "retries": NON_NEGATIVE, "backoff_initial_s": NON_NEGATIVE,
        "backoff_max_s": NON_NEGATIVE, "retry_interval_s": NON_NEGATIVE},
    f"{_M}.WindowConfig": {"transcripts": NON_NEGATIVE, "seconds": NON_NEGATIVE, "summary_windows": NON_NEGATIVE},
    f"{_M}.BaselineConfig": {"alpha": OPEN_UNIT},
    f"{_M}.MonitorConfig": {"batch_size": POSITIVE, "max_line_bytes": POSITIVE, "max_malformed_recorded": NON_NEGATIVE},
}

_DEFAULT = Range()  # a numeric field of a class not in the table (a test's own dataclass): finite, <= INT_MAX


def range_of(cls: type, name: str) -> Range | None:
    """The range of field ``name`` of config dataclass ``cls``; None when the table has none."""
    return RANGES.get(f"{cls.__module__}.{cls.__qualname__}", {}).get(name)


def range_problems(obj: Any, path: str) -> list[str]:
    """``PATH: must be ..., got V`` for every number out of its range in a built config (dataclasses,
    and lists of them), in field order. Values of the wrong type were reported by the type check."""
    out: list[str] = []
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            where = f"{path}.{f.name}" if path else f.name
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                problem = (range_of(type(obj), f.name) or _DEFAULT).problem(value)
                if problem:
                    out.append(f"{where}: {problem}")
            else:
                out += range_problems(value, where)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            if dataclasses.is_dataclass(item):
                out += range_problems(item, f"{path}[{i}]")
    return out
