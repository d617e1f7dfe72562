"""The one stage skeleton every stage runs in; a stage module holds only its work.

    config hash -> skip if complete -> parents' manifests checked -> work dir -> W&B run
    -> the stage's work -> manifest -> atomic publish -> one closing line (wall time, tokens/s)

A plain stage works in a temporary folder that replaces its output only on success. A
resumable (training) stage works in ``<output_dir>/.<stage>.tmp`` stamped with its config and
parent hashes, so a re-run after a kill resumes from the last checkpoint in it; every rank of a
distributed run trains there and only the main process writes the manifest and publishes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deliberate.errors import MissingInputError
from deliberate.provenance import is_complete, read_manifest, stage_output, write_json_atomic, write_manifest
from deliberate.tracking import Tracker, stage_run

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What a stage's work gets: its config, its work folder and its W&B run."""

    cfg: Any
    name: str
    dir: Path
    tracker: Tracker
    parents: list[Path]
    resume: bool = False  # a resumable stage found an earlier attempt's checkpoints in ``dir``
    is_main: bool = True  # False on the non-main ranks of a distributed run
    state: Any = None  # accelerate's process state (resumable stages)


@dataclass
class Result:
    """What a stage's work returns (the main process; None on other ranks): the manifest's fields.

    ``summary`` (if any) is written to ``summary.json``, logged, and its scalars go to the W&B
    summary under ``<stage>/``; it is also kept in the manifest. ``tokens``: the tokens the stage
    generated (data, eval); the closing line gives them per second of the stage's wall time."""

    record_count: int
    spec: Any = None
    extra: dict = field(default_factory=dict)
    summary: dict | None = None
    tokens: int | None = None


def run_stage(cfg, name: str, work: Callable[[Context], Result | None], *, config_hash: str,
              parents: list[Path] = (), force: bool = False, resumable: bool = False,
              missing_hint: str = "") -> Path:
    """Run ``work`` as stage ``name`` unless its output is complete; return the output folder."""
    out, parents = cfg.stage_dir(name), [Path(p) for p in parents]
    if not force and is_complete(out, config_hash, parents):
        log.info("[%s] complete, skipping: %s", name, out)
        return out
    for p in parents:
        if read_manifest(p) is None:
            raise MissingInputError(f"{p} has no manifest: run `deliberate {p.name}` first{missing_hint}")
    start = time.monotonic()
    runner = _run_resumable if resumable else _run_plain
    manifest, result = runner(cfg, name, work, out, config_hash, parents)
    if manifest is not None:
        seconds = time.monotonic() - start
        throughput = f", {result.tokens} tokens, {result.tokens / seconds:.1f} tokens/s" if result.tokens else ""
        log.info("[%s] wrote %s in %.1f s (content %s)%s", name, out, seconds, manifest["content_hash"][:12],
                 throughput)
    return out


def _finish(ctx: Context, result: Result, config_hash: str) -> dict:
    if result.summary is not None:
        log.info("[%s] %s", ctx.name, json.dumps(result.summary))
        write_json_atomic(ctx.dir / "summary.json", result.summary)
        ctx.tracker.summary({f"{ctx.name}/{k}": v for k, v in result.summary.items()
                             if not isinstance(v, (list, dict))})
    extra = {**({"summary": result.summary} if result.summary is not None else {}), **result.extra}
    return write_manifest(ctx.dir, stage=ctx.name, config_hash=config_hash, spec=result.spec, parents=ctx.parents,
                          record_count=result.record_count, extra=extra)


def _run_plain(cfg, name, work, out, config_hash, parents) -> tuple[dict, Result]:
    with stage_run(cfg, name) as tracker, stage_output(out) as tmp:
        ctx = Context(cfg=cfg, name=name, dir=tmp, tracker=tracker, parents=parents)
        result = work(ctx)
        return _finish(ctx, result, config_hash), result


def _run_resumable(cfg, name, work, out, config_hash, parents) -> tuple[dict | None, Result | None]:
    from deliberate.training.common import distributed_state, publish, work_dir

    state = distributed_state()
    tmp, resume = work_dir(out, config_hash, parents, state)
    manifest = None
    tracking = stage_run(cfg, name) if state.is_main_process else contextlib.nullcontext(Tracker(None))
    with tracking as tracker:
        ctx = Context(cfg=cfg, name=name, dir=tmp, tracker=tracker, parents=parents, resume=resume,
                      is_main=state.is_main_process, state=state)
        result = work(ctx)
        if state.is_main_process:
            shutil.rmtree(tmp / "checkpoints", ignore_errors=True)  # resumable state is spent once the model is out
            manifest = _finish(ctx, result, config_hash)
    publish(tmp, out, state)
    return manifest, result
