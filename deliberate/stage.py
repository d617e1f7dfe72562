"""The one stage skeleton every stage runs in; a stage module holds only its work.

    lock the output folder -> config hash -> skip if complete -> parents checked against their
    manifests (every file; a dataset's records) -> work dir -> W&B run -> the stage's work
    -> manifest -> atomic publish -> one closing line (wall time, tokens/s)

A plain stage works in a temporary folder that replaces its output only on success. A
resumable (training) stage works in ``<output_dir>/.<stage>.tmp`` stamped with its config and
parent hashes, so a re-run after a kill resumes from the last checkpoint in it; every rank of a
distributed run trains there and only the main process writes the manifest and publishes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deliberate.errors import MissingInputError, UserError
from deliberate.provenance import (
    VerifyError,
    is_complete,
    output_lock,
    read_manifest,
    stage_output,
    verify_stage,
    write_json_atomic,
    write_manifest,
)
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
    inputs_verified: bool | None = None  # parents checked against their manifests (None: no parents)


class StageWriteError(UserError, OSError):
    """A stage could not write its output (disk full, read-only, no permission); nothing was published."""


def write_failure(exc: OSError, output_dir: str) -> bool:
    """A full disk or read-only file system anywhere, or no permission under the output folder."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return True
    if exc.errno in (errno.EACCES, errno.EPERM) and exc.filename:
        return Path(os.path.abspath(exc.filename)).is_relative_to(Path(os.path.abspath(output_dir)))
    return False


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
    """Run ``work`` as stage ``name`` unless its output is complete; return the output folder.
    One run at a time per output folder (the global main rank holds ``.deliberate.lock``)."""
    out, parents = cfg.stage_dir(name), [Path(p) for p in parents]
    try:
        with output_lock(Path(cfg.output_dir), take=os.environ.get("RANK", "0") == "0"):
            if not force and is_complete(out, config_hash, parents):
                log.info("[%s] complete, skipping: %s", name, out)
                return out
            for p in parents:
                if read_manifest(p) is None:
                    raise MissingInputError(f"{p} has no manifest: run `deliberate {p.name}` first{missing_hint}")
            verified = verify_parents(cfg, name, parents)
            start = time.monotonic()
            runner = _run_resumable if resumable else _run_plain
            manifest, result = runner(cfg, name, work, out, config_hash, parents, verified)
    except OSError as exc:
        if isinstance(exc, UserError) or not write_failure(exc, cfg.output_dir):
            raise
        raise StageWriteError(f"[{name}] cannot write {exc.filename or cfg.output_dir}: {exc.strerror}. "
                              f"Nothing was published ({out} is as it was); free space or fix the permissions "
                              "(or set output_dir elsewhere) and re-run") from exc
    if manifest is not None:
        seconds = time.monotonic() - start
        throughput = f", {result.tokens} tokens, {result.tokens / seconds:.1f} tokens/s" if result.tokens else ""
        log.info("[%s] wrote %s in %.1f s (content %s)%s", name, out, seconds, manifest["content_hash"][:12],
                 throughput)
    return out


def verify_parents(cfg, name: str, parents: list[Path]) -> bool | None:
    """Every parent folder against its manifest before the stage reads it (``verify_inputs``);
    returns whether it was done (None: no parents), which the stage's manifest records."""
    if not parents:
        return None
    if not cfg.verify_inputs:
        log.warning("[%s] verify_inputs is false: its inputs are read unchecked (the manifest says so)", name)
        return False
    start = time.monotonic()
    for p in parents:
        try:
            verify_stage(p)
        except VerifyError as exc:
            raise VerifyError(f"[{name}] refusing to read {p}: {exc}. Re-run the stage that wrote it (with "
                              f"--force) or restore it; `deliberate verify {p}` checks it") from None
    log.info("[%s] inputs verified against their manifests in %.2f s", name, time.monotonic() - start)
    return True


def _finish(ctx: Context, result: Result, config_hash: str) -> dict:
    if result.summary is not None:
        log.info("[%s] %s", ctx.name, json.dumps(result.summary))
        write_json_atomic(ctx.dir / "summary.json", result.summary)
        ctx.tracker.summary({f"{ctx.name}/{k}": v for k, v in result.summary.items()
                             if not isinstance(v, (list, dict))})
    extra = {**({"summary": result.summary} if result.summary is not None else {}), **result.extra,
             **({"inputs_verified": ctx.inputs_verified} if ctx.inputs_verified is not None else {})}
    return write_manifest(ctx.dir, stage=ctx.name, config_hash=config_hash, spec=result.spec, parents=ctx.parents,
                          record_count=result.record_count, extra=extra)


def _run_plain(cfg, name, work, out, config_hash, parents, verified) -> tuple[dict, Result]:
    with stage_run(cfg, name) as tracker, stage_output(out) as tmp:
        ctx = Context(cfg=cfg, name=name, dir=tmp, tracker=tracker, parents=parents, inputs_verified=verified)
        result = work(ctx)
        return _finish(ctx, result, config_hash), result


def _run_resumable(cfg, name, work, out, config_hash, parents, verified) -> tuple[dict | None, Result | None]:
    from deliberate.training.common import STAMP, distributed_state, publish, work_dir

    state = distributed_state()
    tmp, resume = work_dir(out, config_hash, parents, state)
    manifest = None
    tracking = stage_run(cfg, name) if state.is_main_process else contextlib.nullcontext(Tracker(None))
    with tracking as tracker:
        ctx = Context(cfg=cfg, name=name, dir=tmp, tracker=tracker, parents=parents, resume=resume,
                      is_main=state.is_main_process, state=state, inputs_verified=verified)
        result = work(ctx)
        if state.is_main_process:
            shutil.rmtree(tmp / "checkpoints", ignore_errors=True)  # resumable state is spent once the model is out
            (tmp / STAMP).unlink(missing_ok=True)  # before the manifest hashes the folder: it is not published
            manifest = _finish(ctx, result, config_hash)
    publish(tmp, out, state)
    return manifest, result
