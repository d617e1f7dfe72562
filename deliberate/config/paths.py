"""The files and folders a config names, checked before any work: the spec, local model folders
(and GGUF files), judge prompts, capability datasets, eval model folders, the safety case's monitor
config, and whether the output folder can be written. ``deliberate validate`` checks them all
(``--no-paths`` skips them for a config meant for another machine); each stage command checks the
ones it needs before it starts (deliberate/cli.py).

A model is a path unless it is served remotely (``backend: openai``: the name the server serves);
``deliberate.models.resolve`` decides what a local model is (a folder, or an embedded alias).
Stage outputs (``sft``, ``rl``, ``durable`` in eval.models) are the parent stages' business."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from deliberate.errors import UserError

if TYPE_CHECKING:
    from deliberate.config.experiment import ExperimentConfig
    from deliberate.config.models import ModelConfig

STAGE_OUTPUTS = ("base", "sft", "rl", "durable")  # eval.models names that are not paths


def path_problems(cfg: ExperimentConfig, stages: Iterable[str] | None = None) -> list[str]:
    """``YAML.PATH: what is missing`` for every named path the given stages need (None: every stage,
    and the safety case). Disabled stages need nothing."""
    want = set(stages) if stages is not None else {"data", "sft", "rl", "durability", "eval", "report",
                                                    "safety_case"}
    d, e, rl = cfg.data, cfg.eval, cfg.rl
    out: list[str] = []
    if want & {"data", "report"} or ("rl" in want and rl.enabled):
        out += _spec(cfg.spec.path)
    if "data" in want:
        if d.source == "teacher":
            out += _model(d.teacher, "data.teacher")
            if d.judge.kind == "llm":
                out += _model(d.judge.model, "data.judge.model")
                out += _prompt(d.judge.prompt, "data.judge.prompt", "deliberate.data")
        if d.capability is not None:
            out += _exists(d.capability.path, "data.capability.path", "capability data")
    if "sft" in want and cfg.sft.enabled:
        out += _model(cfg.student(), "sft.model" if cfg.sft.model is not None else "data.teacher")
    if "rl" in want and rl.enabled:
        if rl.model is not None:
            out += _model(rl.model, "rl.model")
        elif not cfg.sft.enabled:
            out += _model(cfg.student(), "sft.model" if cfg.sft.model is not None else "data.teacher")
        if rl.judge.enabled:
            out += _model(rl.judge.model, "rl.judge.model")
            out += _prompt(rl.judge.prompt, "rl.judge.prompt", "deliberate.training",
                           fields=("spec", "prompt", "actions"), forbidden=("reasoning",))
    if "durability" in want and cfg.durability.enabled and cfg.durability.dataset is not None:
        out += _exists(cfg.durability.dataset.path, "durability.dataset.path", "capability data")
    if "eval" in want:
        for i, name in enumerate(e.models):
            if name == "base":
                out += _model(cfg.student(), "sft.model" if cfg.sft.model is not None else "data.teacher")
            elif name not in STAGE_OUTPUTS:
                why = _missing_model(name)
                out += [f"eval.models[{i}]: {why}"] if why else []
        out += _model(e.confirm_model, "eval.confirm_model")
        for i, task in enumerate(e.inspect):
            out += _model(task.grader, f"eval.inspect[{i}].grader")
    if "safety_case" in want and cfg.safety_case.monitor is not None:
        out += _exists(cfg.safety_case.monitor, "safety_case.monitor", "monitor config", file=True)
    return list(dict.fromkeys(out))  # the student is named by several stages: once


def output_dir_problems(cfg: ExperimentConfig) -> list[str]:
    """The output folder is (or can be made) a writable folder: checked without creating anything."""
    path = Path(cfg.output_dir).expanduser()
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return [f"output_dir: {probe} is not a folder, so {path} cannot be made"]
    if not os.access(probe, os.W_OK | os.X_OK):
        read_only = bool(os.statvfs(probe).f_flag & os.ST_RDONLY)
        why = "Read-only file system" if read_only else "Permission denied"
        return [f"output_dir: cannot write in {probe} ({why}){'' if probe == path else f', so {path} cannot be made'}"]
    return []


# --------------------------------------------------------------------------- one path each


def _spec(name: str) -> list[str]:
    from deliberate.specs.loader import SpecError, load_spec

    try:
        load_spec(name)
    except (SpecError, OSError) as exc:
        return [f"spec.path: {exc}"]
    return []


def _model(mc: ModelConfig | None, where: str) -> list[str]:
    if mc is None or mc.backend == "openai":  # a remote endpoint serves it: not a path
        return []
    why = _missing_model(mc.name_or_path, mc)
    return [f"{where}.name_or_path: {why}"] if why else []


def _missing_model(name: str, mc: ModelConfig | None = None) -> str | None:
    """Why ``name`` is not a local model (deliberate.models.resolve's reason), or None."""
    from deliberate.config.models import ModelConfig
    from deliberate.models import resolve

    try:
        resolve(mc or ModelConfig(name_or_path=name))
    except (UserError, OSError) as exc:
        return str(exc)
    return None


def _prompt(name: str, where: str, package: str, **kwargs) -> list[str]:
    from deliberate.data.judge import load_prompt

    try:
        load_prompt(name, package=package, **kwargs)
    except (UserError, OSError) as exc:
        return [f"{where}: {exc}"]
    return []


def _exists(path: str, where: str, what: str, file: bool = False) -> list[str]:
    p = Path(path).expanduser()
    if file and not p.is_file():
        return [f"{where}: {what} {p} {'is not a file' if p.exists() else 'does not exist'}"]
    if not p.exists():
        return [f"{where}: {what} {p} does not exist"]
    return []
