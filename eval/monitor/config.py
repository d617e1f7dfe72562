"""The deployment monitor's configuration (``deliberate monitor MONITOR.yaml``): the dataclasses a
monitor YAML mirrors under its top-level ``monitor:`` key, the loader, and the checks that run
before any transcript is read. See eval/monitor/run.py and docs/monitor.md."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from deliberate.config import (
    ConfigError,
    GenerationConfig,
    InspectScoreConfig,
    ModelConfig,
    build_dataclass,
    config_hash,
    read_yaml,
)
from deliberate.errors import UserError
from deliberate.eval.monitor.tripwires import SCORED


class MonitorError(UserError, RuntimeError):
    """The monitor cannot go on (state written by another config, an input replaced, ...)."""


@dataclass
class ClassifierConfig:
    # offline: the MiniLM classifier of eval/classifiers/ (no network). llm: a judge model reads
    # the reasoning through a prompt file, k times (needs `model`).
    kind: Literal["offline", "llm"] = "offline"
    model: ModelConfig | None = None
    generation: GenerationConfig = field(default_factory=lambda: GenerationConfig(temperature=0.7,
                                                                                   max_new_tokens=256))
    k: int = 1
    prompt: str | None = None  # llm: eval/prompts/<name>.md or a path; null: the default prompt
    aggregate: Literal["majority", "any", "all"] = "majority"


@dataclass
class OfflineEncoderConfig:
    # lean: MiniLM's forward pass in plain torch (same weights and tokenizer; embeddings equal to
    # transformers' within ~1e-7) without importing transformers: ~190 MB less resident memory.
    # transformers: the eval stage's encoder itself.
    encoder: Literal["lean", "transformers"] = "lean"
    max_batch_tokens: int = 1024  # lean: padded tokens per forward pass (activations ~25 KB per token)
    # torch intra-op threads. 1: a monitor's batches are small, and beside other work more threads
    # mostly wait on each other (measured 20x slower at 2 threads on a busy 2-core machine). 0: torch's default.
    threads: int = 1


@dataclass
class TripwireConfig:
    name: str  # unique; alerts and the summary name it
    # awareness | intent: the reasoning classifiers (score >= threshold); grader: a planted scenario's
    # family grader says covert; tool: a tool call (name in `tools`, arguments matching `args`);
    # text: the final message matches `pattern`.
    detector: Literal["awareness", "intent", "grader", "tool", "text"]
    severity: Literal["info", "low", "medium", "high", "critical"] = "high"
    # awareness/intent: fire when the score >= threshold (offline: score = margin - calibrated cut,
    # the classifier flags at 0; llm: the fraction of judgings that said yes). null: the classifier's flag.
    threshold: float | None = None
    families: list[str] = field(default_factory=list)  # only transcripts of these families; []: all
    tools: list[str] = field(default_factory=list)  # tool: these tool names; []: any tool
    args: str | None = None  # tool: regex searched in the call's arguments (JSON text)
    pattern: str | None = None  # text: regex searched in the final message
    ignore_case: bool = True
    description: str = ""


@dataclass
class WebhookConfig:
    url: str  # POST one JSON alert per request
    timeout_s: float = 10.0
    retries: int = 3  # on connection errors, timeouts, 429 and 5xx; other 4xx fail at once
    backoff_initial_s: float = 0.5  # sleep uniform(0, min(backoff_max_s, backoff_initial_s * 2**attempt))
    backoff_max_s: float = 8.0
    # After a delivery fails for good, pending alerts wait this long (they stay in the state's outbox).
    retry_interval_s: float = 60.0
    # Header name -> the NAME of the environment variable holding its value (never the value).
    headers_env: dict = field(default_factory=dict)
    min_severity: Literal["info", "low", "medium", "high", "critical"] = "info"


@dataclass
class WindowConfig:
    transcripts: int = 1000  # close a summary window after this many transcripts (0: not by count)
    seconds: float = 0.0  # or once transcript time passes window start + seconds (0: not by time)
    # Where a transcript's time is (dotted path into its JSON line; epoch seconds or ISO 8601);
    # a transcript without it gets the time it is read.
    time_field: str = "metadata.timestamp"
    # Closed windows kept in the state and listed in summary.json; every closed window's counts are
    # also appended to <state_dir>/windows.jsonl (the state stays small however long the monitor runs).
    summary_windows: int = 50


@dataclass
class BaselineConfig:
    # The pre-deployment eval of the same model: a report's analysis.json, an eval stage's
    # results.json, or a folder holding them (a run's output_dir, its report/ or eval/).
    path: str
    model: str | None = None  # the model's name in that eval (base, sft, rl, ...); null: monitor.model
    alpha: float = 0.05  # drift when Fisher's p < alpha / (number of comparisons) (Bonferroni)


@dataclass
class InspectInputConfig:
    # How Inspect logs (.eval/.json inputs) are read (eval/inspect_logs.iter_records).
    family: str | None = None  # null: the task's name
    cue: Literal["none", "eval", "deploy"] = "deploy"
    covert_score: InspectScoreConfig | None = None  # the score the grader detector reads; null: none
    reasoning_parser: str = "auto"


@dataclass
class MonitorConfig:
    model: str  # the deployed model (its name in the baseline eval unless baseline.model says otherwise)
    inputs: list[str] = field(default_factory=list)  # files or glob patterns; --input replaces them
    # auto: .eval/.json are Inspect logs, anything else JSONL (OpenAI chat format or our records).
    format: Literal["auto", "openai", "inspect"] = "auto"
    state_dir: str = "runs/monitor"  # state.json, summary.json, summary.md, the default alert log
    alert_log: str | None = None  # null: <state_dir>/alerts.jsonl
    tripwires: list[TripwireConfig] = field(default_factory=list)
    awareness: ClassifierConfig = field(default_factory=ClassifierConfig)
    intent: ClassifierConfig = field(default_factory=ClassifierConfig)
    offline: OfflineEncoderConfig = field(default_factory=OfflineEncoderConfig)
    webhook: WebhookConfig | None = None
    window: WindowConfig = field(default_factory=WindowConfig)
    baseline: BaselineConfig | None = None
    batch_size: int = 64  # transcripts per batch: detectors run and the state is committed per batch
    max_line_bytes: int = 64 << 20  # a longer line is recorded as malformed and skipped, never held
    max_malformed_recorded: int = 1000  # malformed lines listed in the state (all are counted)
    env_paths: list[str] = field(default_factory=list)  # YAML/JSON families to load (docs/interchange.md)
    inspect: InspectInputConfig = field(default_factory=InspectInputConfig)


@dataclass
class MonitorFile:
    monitor: MonitorConfig


def load_monitor_config(path: str | Path, overrides: list[str] | None = None) -> MonitorConfig:
    """A monitor YAML (top-level ``monitor:``), checked like experiment configs: every problem at
    once, each with its YAML path. Overrides are relative to ``monitor`` (``window.transcripts=50``)."""
    raw = read_yaml(path)
    if not isinstance(raw, dict) or "monitor" not in raw:
        raise ConfigError([f"{path}: a monitor config has a top-level 'monitor:' section"])
    overrides = [o if o.startswith("monitor.") else f"monitor.{o}" for o in overrides or []]
    cfg = build_dataclass(MonitorFile, raw, source=str(path), overrides=overrides).monitor
    problems = semantic_checks(cfg)
    if problems:
        raise ConfigError(problems, str(path))
    return cfg


def semantic_checks(cfg: MonitorConfig) -> list[str]:
    """Checks beyond types, each named by its YAML path."""
    import difflib

    from deliberate.config import model_checks
    from deliberate.envs.core import EnvError, load_builtin_families

    out = []
    if not cfg.model:
        out.append("monitor.model: required (the deployed model's name)")
    for name in ("batch_size", "max_line_bytes"):
        if getattr(cfg, name) <= 0:
            out.append(f"monitor.{name}: must be > 0, got {getattr(cfg, name)}")
    if cfg.max_malformed_recorded < 0:
        out.append(f"monitor.max_malformed_recorded: must be >= 0, got {cfg.max_malformed_recorded}")
    if cfg.offline.max_batch_tokens <= 0 or cfg.offline.threads < 0:
        out.append("monitor.offline: need max_batch_tokens > 0 and threads >= 0")
    if cfg.window.transcripts < 0 or cfg.window.seconds < 0 or cfg.window.summary_windows < 0:
        out.append("monitor.window: transcripts, seconds and summary_windows must be >= 0")
    families = load_builtin_families()
    for i, p in enumerate(cfg.env_paths):
        from deliberate.envs.declarative import load_family_path

        try:
            load_family_path(p)
        except (EnvError, OSError) as exc:
            out.append(f"monitor.env_paths[{i}]: {exc}")
    if not cfg.tripwires:
        out.append("monitor.tripwires: at least one tripwire is required")
    seen: set[str] = set()
    for i, t in enumerate(cfg.tripwires):
        where = f"monitor.tripwires[{i}]"
        if t.name in seen:
            out.append(f"{where}.name: {t.name!r} is used twice")
        seen.add(t.name)
        allowed = {"awareness": {"threshold"}, "intent": {"threshold"}, "grader": set(), "tool": {"tools", "args"},
                   "text": {"pattern"}}[t.detector]
        for key in ("threshold", "tools", "args", "pattern"):
            if getattr(t, key) not in (None, []) and key not in allowed:
                out.append(f"{where}.{key}: not used by detector {t.detector!r}")
        if t.detector == "tool" and not t.tools and not t.args:
            out.append(f"{where}: a tool tripwire needs `tools`, `args` or both")
        if t.detector == "text" and not t.pattern:
            out.append(f"{where}.pattern: required for detector 'text'")
        for key in ("args", "pattern"):
            if getattr(t, key):
                try:
                    re.compile(getattr(t, key))
                except re.error as exc:
                    out.append(f"{where}.{key}: not a valid regex: {exc}")
        for j, fam in enumerate(t.families):
            if fam not in families and fam != cfg.inspect.family:
                close = difflib.get_close_matches(fam, list(families), n=1)
                out.append(f"{where}.families[{j}]: unknown family {fam!r}"
                           + (f" (did you mean {close[0]!r}?)" if close else ""))
    for which in SCORED:
        c = getattr(cfg, which)
        if c.kind == "llm":
            if c.model is None:
                out.append(f"monitor.{which}.model: required for kind 'llm'")
            else:
                out += model_checks(c.model, f"monitor.{which}.model")
        if c.k < 1:
            out.append(f"monitor.{which}.k: must be >= 1, got {c.k}")
    w = cfg.webhook
    if w is not None:
        if not w.url.startswith(("http://", "https://")):
            out.append(f"monitor.webhook.url: expected http(s)://..., got {w.url!r}")
        if "@" in w.url.split("//", 1)[-1].split("/", 1)[0]:
            out.append("monitor.webhook.url: credentials in the URL would be logged; use headers_env")
        for header, env in w.headers_env.items():
            if not isinstance(env, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
                out.append(f"monitor.webhook.headers_env.{header}: the NAME of an environment variable, got {env!r}")
        if w.timeout_s <= 0 or w.retries < 0 or w.backoff_initial_s < 0 or w.backoff_max_s < w.backoff_initial_s \
                or w.retry_interval_s < 0:
            out.append("monitor.webhook: need timeout_s > 0, retries >= 0, 0 <= backoff_initial_s <= backoff_max_s "
                       "and retry_interval_s >= 0")
    if cfg.baseline is not None and not 0 < cfg.baseline.alpha < 1:
        out.append(f"monitor.baseline.alpha: must be in (0, 1), got {cfg.baseline.alpha}")
    return out


def detection_hash(cfg: MonitorConfig) -> str:
    """What the counts in a state depend on: a state written under another hash is not resumed
    (severity, descriptions, webhook, baseline and summary settings may change between runs)."""
    fired = ("name", "detector", "threshold", "families", "tools", "args", "pattern", "ignore_case")
    w = cfg.window
    return config_hash({"model": cfg.model, "tripwires": [{k: getattr(t, k) for k in fired} for t in cfg.tripwires],
                        "awareness": asdict(cfg.awareness), "intent": asdict(cfg.intent),
                        "encoder": cfg.offline.encoder, "window": [w.transcripts, w.seconds, w.time_field],
                        "inspect": asdict(cfg.inspect)})
