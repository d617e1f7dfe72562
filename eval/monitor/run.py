"""deliberate monitor: read production transcripts out of band, fire tripwires, summarise drift.

    deliberate monitor configs/monitor/example.yaml --input prod-2026-01-01.jsonl [--state-dir DIR] [KEY=VALUE ...]

Reads JSONL (OpenAI chat format or our records) or Inspect logs in batches, runs the tripwires
(``tripwires.py``), appends firings to the alert log and webhook (``alerts.py``), and writes
window summaries compared with the pre-deployment eval (``summary.py``). The state (byte offset per
input, counts, outbox) is replaced atomically after each batch, so a killed run resumes where it
stopped and every alert is logged exactly once. A line that cannot be read, or that a detector
fails on, is logged once to ``rejects.jsonl`` with its byte offset and reason, and skipped: no line
stops the monitor. The manual: docs/monitor.md.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from deliberate.eval.monitor.alerts import AlertLog, Webhook, alert_key, flush_outbox, now
from deliberate.eval.monitor.config import MonitorConfig, MonitorError, detection_hash
from deliberate.eval.monitor.memory import _tune_malloc, peak_rss_mb, release_when_large
from deliberate.eval.monitor.summary import load_baseline, summarize_counts, summary_markdown
from deliberate.eval.monitor.tripwires import (
    MalformedTranscript,
    Observed,
    Tripwires,
    failed,
    observe,
    openai_to_record,
)
from deliberate.progress import Progress
from deliberate.progress import progress as show_progress
from deliberate.provenance import output_lock, write_json_atomic

log = logging.getLogger(__name__)

STATE_VERSION = 1
SUMMARY_DETECTORS = ("awareness", "intent", "grader")
# What a bad line can make a parser or detector raise: it is rejected (rejects.jsonl) and skipped.
# Anything else (OSError, MemoryError, a CUDA error) is the monitor's own fault and stops the run
# before the offset moves, so no line is skipped for it.
LINE_ERRORS = (ValueError, TypeError, AttributeError, LookupError, RecursionError, ArithmeticError)


# ------------------------------------------------------------------------------ state


def new_counts() -> dict:
    return {"transcripts": 0, "malformed": 0, "alerts": 0, "duplicates": 0, "start_time": None, "end_time": None,
            "detectors": {d: {"n": 0, "k": 0, "errors": 0} for d in SUMMARY_DETECTORS},
            "rules": {}, "grader_families": {}}


def new_state(cfg: MonitorConfig) -> dict:
    return {"version": STATE_VERSION, "config_hash": detection_hash(cfg), "model": cfg.model, "created": now(),
            "inputs": {}, "malformed": [], "malformed_total": 0,
            "window": {"index": 0, "counts": new_counts(), "keys": []}, "windows": [], "closed_total": new_counts(),
            "alert_log": {"size": 0, "alerts": 0}, "rejects_log": {"size": 0}, "outbox": [],
            "webhook": {"delivered": 0, "failures": 0, "next_try": 0.0, "last_error": None},
            "runs": []}


def load_state(path: Path, cfg: MonitorConfig) -> dict:
    if not path.is_file():
        return new_state(cfg)
    way_out = ("Move it aside and re-run with a new --state-dir (inputs are read from the start; the old alert "
               "log stays where it is), or restore state.json from a backup")
    try:
        state = json.loads(path.read_text())
    except (ValueError, RecursionError) as exc:
        raise MonitorError(f"{path} is damaged (not JSON: {str(exc)[:100]}). {way_out}") from None
    needed = ("version", "config_hash", "inputs", "window", "windows", "closed_total", "alert_log", "outbox")
    if not isinstance(state, dict) or any(k not in state for k in needed):
        raise MonitorError(f"{path} is not a monitor state (damaged or another file). {way_out}")
    if state.get("version") != STATE_VERSION:
        raise MonitorError(f"{path}: state version {state.get('version')} is not {STATE_VERSION}; "
                           "use a new --state-dir")
    if state.get("config_hash") != detection_hash(cfg):
        raise MonitorError(f"{path} was written under other tripwires, classifiers or window settings; its counts "
                           "would not mean the same thing. Use a new --state-dir (or restore the old config).")
    return state


def add_counts(a: dict, b: dict) -> dict:
    """Counts ``a + b`` (for totals over windows)."""
    out = json.loads(json.dumps(a))
    for key in ("transcripts", "malformed", "alerts", "duplicates"):  # duplicates: absent in older states
        out[key] = out.get(key, 0) + b.get(key, 0)
    for group in ("detectors", "rules"):
        for name, c in b[group].items():
            mine = out[group].setdefault(name, {k: 0 for k in c})
            for k, v in c.items():
                mine[k] = mine.get(k, 0) + v
    for fam, cues in b["grader_families"].items():
        for cue, (k, n) in cues.items():
            kn = out["grader_families"].setdefault(fam, {}).setdefault(cue, [0, 0])
            kn[0] += k
            kn[1] += n
    times = [t for t in (a["start_time"], b["start_time"]) if t is not None]
    out["start_time"] = min(times) if times else None
    times = [t for t in (a["end_time"], b["end_time"]) if t is not None]
    out["end_time"] = max(times) if times else None
    return out


# ------------------------------------------------------------------------------ inputs


def expand_inputs(patterns: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in patterns:
        matches = sorted(glob.glob(p)) if any(ch in p for ch in "*?[") else [p]
        if not matches:
            raise MonitorError(f"input {p!r}: no file matches")
        for m in matches:
            path = Path(m).resolve()
            if not path.is_file():
                raise FileNotFoundError(f"input {m}: no such file")
            if path not in out:
                out.append(path)
    return out


def input_kind(path: Path, fmt: str) -> str:
    if fmt == "auto":
        return "inspect" if path.suffix in (".eval", ".json") else "jsonl"
    return "inspect" if fmt == "inspect" else "jsonl"


def _head(path: Path, n: int) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(n)).hexdigest()


def check_input(path: Path, st: dict | None) -> dict:
    """The input's state entry, new or checked: a file that shrank below the committed offset, or
    whose first bytes changed, was replaced, and resuming into it would skip or repeat lines."""
    size = path.stat().st_size
    if st is None:
        n = min(size, 4096)
        return {"offset": 0, "line": 0, "head_bytes": n, "head": _head(path, n), "transcripts": 0}
    if size < st["offset"] or _head(path, st["head_bytes"]) != st["head"]:
        raise MonitorError(f"input {path} changed since it was read up to byte {st['offset']} (truncated or "
                           "replaced); use a new --state-dir to read it from the start")
    return st


# Items an input yields: ("transcript", Observed) or ("malformed", {line, offset, reason}), each with
# the offset just after it (a JSONL byte offset; an Inspect log: samples read) and its line number.


def iter_jsonl(path: Path, offset: int, line: int, cfg: MonitorConfig) -> Iterator[tuple[str, object, int, int]]:
    limit = cfg.max_line_bytes
    name = str(path)
    with open(path, "rb") as f:
        f.seek(offset)
        pos = offset
        while True:
            raw = f.readline(limit + 1)
            if not raw:
                return
            start, line = pos, line + 1
            pos += len(raw)
            if not raw.endswith(b"\n") and len(raw) > limit:  # overlong: skip to its end without holding it
                while True:
                    chunk = f.readline(1 << 20)
                    pos += len(chunk)
                    if not chunk or chunk.endswith(b"\n"):
                        break
                yield "malformed", {"input": name, "line": line, "offset": start,
                                    "reason": f"line longer than max_line_bytes ({limit})"}, pos, line
                continue
            if not raw.strip():
                yield "blank", None, pos, line
                continue
            try:
                obj = json.loads(raw)
                obs = observe(openai_to_record(obj), input=name, offset=start, line=line, raw=obj,
                              time_field=cfg.window.time_field)
            except (*LINE_ERRORS, MalformedTranscript) as exc:
                if not raw.endswith(b"\n"):  # a last line still being written: leave it for a later run
                    return
                yield "malformed", {"input": name, "line": line, "offset": start,
                                    "reason": f"{type(exc).__name__}: {str(exc)[:200]}"}, pos, line
                continue
            del raw, obj
            yield "transcript", obs, pos, line


def iter_inspect(path: Path, offset: int, cfg: MonitorConfig) -> Iterator[tuple[str, object, int, int]]:
    import itertools

    try:
        from deliberate.eval.inspect.logs import iter_records
    except ImportError as exc:
        raise MonitorError(f"reading the Inspect log {path} needs eval/inspect/logs.py and the inspect extra "
                           f"(pip install -e '.[inspect]'): {exc}") from exc
    ins = cfg.inspect
    records = iter_records(path, family=ins.family, cue=ins.cue, covert_score=ins.covert_score,
                           reasoning_parser=ins.reasoning_parser)
    for index, record in enumerate(itertools.islice(records, offset, None), start=offset):
        try:
            obs = observe(record, input=str(path), offset=index, line=index + 1, time_field=cfg.window.time_field)
        except (*LINE_ERRORS, MalformedTranscript) as exc:
            yield "malformed", {"input": str(path), "line": index + 1, "offset": index,
                                "reason": f"{type(exc).__name__}: {str(exc)[:200]}"}, index + 1, index + 1
            continue
        if ins.covert_score is None:
            obs.outcome = None
        yield "transcript", obs, index + 1, index + 1


# ------------------------------------------------------------------------------ summary


def write_summary(state: dict, cfg: MonitorConfig, baseline: dict | None, state_dir: Path) -> dict:
    """summary.json and summary.md: all transcripts so far, the open window, the last closed ones."""
    alpha = cfg.baseline.alpha if cfg.baseline else 0.05
    total = add_counts(state["closed_total"], state["window"]["counts"])
    for counts in (total, state["window"]["counts"]):  # every rule listed, also one that never applied
        for t in cfg.tripwires:
            counts["rules"].setdefault(t.name, {"n": 0, "k": 0, "errors": 0})
    summary = {"model": cfg.model, "updated": now(), "baseline": baseline and {"model": baseline["model"],
                                                                               "sources": baseline["sources"]},
               "rules": [{"name": t.name, "detector": t.detector, "severity": t.severity} for t in cfg.tripwires],
               "total": summarize_counts(total, baseline, alpha),
               "current_window": {"index": state["window"]["index"],
                                  **summarize_counts(state["window"]["counts"], baseline, alpha)},
               "windows": [{"index": w["index"], **summarize_counts(w["counts"], baseline, alpha)}
                           for w in state["windows"]],
               "windows_closed": state["window"]["index"],
               "malformed_total": state["malformed_total"], "webhook": dict(state["webhook"]),
               "undelivered": len(state["outbox"])}
    write_json_atomic(state_dir / "summary.json", summary)
    tmp = state_dir / ".summary.md.tmp"
    tmp.write_text(summary_markdown(summary))
    os.replace(tmp, state_dir / "summary.md")
    return summary


# ------------------------------------------------------------------------------ the run


class Run:
    """One monitor run over its inputs: the batch loop, window accounting and commits."""

    def __init__(self, cfg: MonitorConfig, state_dir: Path, baseline: dict | None, release=None):
        self.cfg, self.state_dir, self.baseline = cfg, state_dir, baseline
        self.release = release or (lambda: None)
        self.state_path = state_dir / "state.json"
        self.state = load_state(self.state_path, cfg)
        self.log = AlertLog(Path(cfg.alert_log) if cfg.alert_log else state_dir / "alerts.jsonl",
                            self.state["alert_log"]["size"])
        self.hook = Webhook(cfg.webhook) if cfg.webhook else None
        if self.hook:  # alerts logged after the last commit were not delivered (delivery follows the commit)
            self.state["outbox"] += [o for o in self.log.tail_alerts
                                     if o not in self.state["outbox"] and self.hook.wants(self.log.read(o))]
        self.tripwires = Tripwires(cfg, release=self.release)
        self.keys = set(self.state["window"]["keys"])  # digests of the open window's transcripts
        self.rejects_path = state_dir / "rejects.jsonl"
        self.state.setdefault("rejects_log", {"size": 0})  # absent in states written before it existed
        self.rejects_size = trim_log(self.rejects_path, self.state["rejects_log"]["size"])
        self.pending_rejects: list[dict] = []

    def commit(self) -> None:
        self.state["window"]["keys"] = sorted(self.keys)
        self.state["alert_log"]["size"] = self.log.size
        self.state["rejects_log"]["size"] = self.rejects_size
        self.state["updated"] = now()
        write_json_atomic(self.state_path, self.state)

    def close_window(self) -> None:
        w = self.state["window"]
        closed = {"index": w["index"], "counts": w["counts"]}
        with open(self.state_dir / "windows.jsonl", "a") as f:  # a re-run after a crash may repeat a line
            f.write(json.dumps(closed, sort_keys=True) + "\n")
        keep = self.cfg.window.summary_windows
        self.state["windows"] = (self.state["windows"] + [closed])[-keep:] if keep else []
        self.state["closed_total"] = add_counts(self.state["closed_total"], w["counts"])
        self.state["window"] = {"index": w["index"] + 1, "counts": new_counts(), "keys": []}
        self.keys = set()
        write_summary(self.state, self.cfg, self.baseline, self.state_dir)

    def place(self, t: float) -> dict:
        """The counts of the window a transcript at time ``t`` belongs to (closing windows as needed)."""
        wc, counts = self.cfg.window, self.state["window"]["counts"]
        if wc.seconds and counts["start_time"] is not None and t >= counts["start_time"] + wc.seconds:
            self.close_window()
            counts = self.state["window"]["counts"]
        if counts["start_time"] is None:
            counts["start_time"] = t
        counts["end_time"] = max(t, counts["end_time"] or t)
        return counts

    def record_malformed(self, item: dict) -> None:
        """A rejected line (unreadable, or one a detector failed on): counted, listed in the state
        (the first ``max_malformed_recorded``) and appended to rejects.jsonl with the batch."""
        self.state["malformed_total"] += 1
        self.state["window"]["counts"]["malformed"] += 1
        if len(self.state["malformed"]) < self.cfg.max_malformed_recorded:
            self.state["malformed"].append(item)
        self.pending_rejects.append(item)

    def detect(self, batch: list[Observed]) -> list[tuple[Observed, str, dict]]:
        """(transcript, its digest, its verdict) for each transcript the detectors could read. When
        the batch raises one of LINE_ERRORS, each transcript is run alone and the ones that still
        raise are rejected; the rest of the batch is counted as usual."""
        kept = []
        for obs in batch:
            try:
                kept.append((obs, transcript_digest(obs)))
            except LINE_ERRORS as exc:
                self.reject(obs, exc)
        try:
            return [(o, d, v) for (o, d), v in zip(kept, self.tripwires.run([o for o, _ in kept]))]
        except LINE_ERRORS:
            pass
        out = []
        for obs, digest in kept:
            try:
                out.append((obs, digest, self.tripwires.run([obs])[0]))
            except LINE_ERRORS as exc:
                self.reject(obs, exc)
        return out

    def reject(self, obs: Observed, exc: Exception) -> None:
        log.warning("[monitor] %s line %d (byte %d): a detector failed on it (%s: %s); skipped, see rejects.jsonl",
                    obs.input, obs.line, obs.offset, type(exc).__name__, str(exc)[:200])
        self.record_malformed({"input": obs.input, "line": obs.line, "offset": obs.offset, "id": obs.id,
                               "reason": f"detector failed: {type(exc).__name__}: {str(exc)[:200]}"})

    def process(self, batch: list[Observed]) -> list[dict]:
        """Detectors over a batch, counted into windows; returns the alerts to log. A transcript
        already seen in the open window (same id and same content) is counted as a duplicate only."""
        new = []
        for obs, digest, verdict in self.detect(batch):
            counts = self.place(obs.time if obs.time is not None else time.time())
            if digest in self.keys:
                counts["duplicates"] += 1
                continue
            self.keys.add(digest)
            counts["transcripts"] += 1
            for det, res in verdict["detectors"].items():
                c = counts["detectors"][det]
                if failed(res):
                    c["errors"] += 1
                    continue
                c["n"] += 1
                c["k"] += bool(res["flag"])
                if det == "grader" and res.get("family"):
                    kn = counts["grader_families"].setdefault(res["family"], {}).setdefault(res.get("cue") or "all",
                                                                                           [0, 0])
                    kn[0] += bool(res["flag"])
                    kn[1] += 1
            fired = {f.rule: f for f in verdict["findings"]}
            for rule in self.tripwires.rules:
                if rule.name not in verdict["applicable"]:
                    continue
                rc = counts["rules"].setdefault(rule.name, {"n": 0, "k": 0, "errors": 0})
                res = verdict["detectors"].get(rule.detector)
                if failed(res):
                    rc["errors"] += 1
                    continue
                rc["n"] += 1
                f = fired.get(rule.name)
                if f is None:
                    continue
                rc["k"] += 1
                key = alert_key(obs.id, f.rule, digest)
                counts["alerts"] += 1
                self.state["alert_log"]["alerts"] += 1
                if (obs.input, obs.offset, f.rule) in self.log.replayed:  # logged before a kill
                    continue
                new.append({"type": "alert", "key": key, "time": now(), "model": self.cfg.model,
                            "transcript_id": obs.id, "input": obs.input, "offset": obs.offset, "line": obs.line,
                            "rule": f.rule, "detector": f.detector, "severity": f.severity, "score": f.score,
                            "threshold": f.threshold, "evidence": f.evidence, "family": obs.family,
                            "window": self.state["window"]["index"]})
            if self.cfg.window.transcripts and counts["transcripts"] >= self.cfg.window.transcripts:
                self.close_window()
        return new

    def flush(self, batch: list[Observed], entry: dict, offset: int, line: int) -> None:
        """Run a batch and commit: alerts to the log first, then the state that covers them."""
        alerts = self.process(batch) if batch else []
        if self.pending_rejects:  # logged before the state that covers them, like the alerts
            rows = sorted(self.pending_rejects, key=lambda r: (r["input"], r["offset"]))  # in file order
            self.rejects_size = append_lines(self.rejects_path, rows)
            self.pending_rejects = []
        offsets = self.log.append(alerts)
        entry["offset"], entry["line"] = offset, line
        entry["transcripts"] += len(batch)
        if self.hook:
            self.state["outbox"] += [o for o, a in zip(offsets, alerts) if self.hook.wants(a)]
        self.commit()
        if self.hook and self.state["outbox"]:
            flush_outbox(self.state, self.log, self.hook)
            self.commit()
        if batch:
            self.release()

    def read(self, path: Path, bar: Progress | None = None) -> int:
        """Stream one input from its committed offset; returns the transcripts read. ``bar`` counts
        them, with the position in the input (MiB of a JSONL file, samples of an Inspect log)."""
        key = str(path)
        entry = check_input(path, self.state["inputs"].get(key))
        self.state["inputs"][key] = entry
        kind = input_kind(path, self.cfg.format)
        items = (iter_inspect(path, entry["offset"], self.cfg) if kind == "inspect"
                 else iter_jsonl(path, entry["offset"], entry["line"], self.cfg))
        bar = bar or Progress()
        size = f"/{path.stat().st_size / 2**20:.1f} MiB" if kind == "jsonl" else ""

        def flush_batch(batch: list[Observed], pos: int, line: int) -> None:
            self.flush(batch, entry, pos, line)
            bar.set_postfix(at=f"{path.name} {pos / 2**20:.1f}{size}" if size else f"{path.name} sample {pos}")
            bar.update(len(batch))

        batch: list[Observed] = []
        pos, line, seen, n = entry["offset"], entry["line"], 0, 0
        for what, item, pos, line in items:
            seen += 1
            if what == "transcript":
                batch.append(item)
            elif what == "malformed":
                self.record_malformed(item)
            if len(batch) >= self.cfg.batch_size or seen >= 16 * self.cfg.batch_size:
                n += len(batch)
                flush_batch(batch, pos, line)
                batch, seen = [], 0
        if seen:
            n += len(batch)
            flush_batch(batch, pos, line)
        return n

    def finish(self, started: float, read: int, nbytes: int) -> dict:
        if self.hook:
            flush_outbox(self.state, self.log, self.hook, final=True)
        self.state["runs"].append({"finished": now(), "transcripts": read, "bytes": nbytes,
                                   "seconds": round(time.time() - started, 3), "peak_rss_mb": round(peak_rss_mb(), 1),
                                   "classifiers": self.tripwires.describe()})
        self.commit()
        return write_summary(self.state, self.cfg, self.baseline, self.state_dir)

    def close(self) -> None:
        self.log.close()
        if self.hook:
            self.hook.close()


def transcript_digest(obs: Observed) -> str:
    """What makes two transcripts the same one: the client's id and everything the detectors read
    (not where or when it was read). 16 hex digits of sha256."""
    body = json.dumps([obs.id, obs.reasoning, obs.calls, obs.final_message, obs.family, obs.cue, obs.scenario,
                       obs.outcome], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def trim_log(path: Path, committed: int) -> int:
    """An append-only log's size after dropping what a killed run wrote past the committed size
    (the re-read batch writes those lines again); returns the size."""
    if not path.is_file():
        return 0
    size = path.stat().st_size
    if size > committed:
        with open(path, "rb+") as f:
            f.truncate(committed)
        return committed
    if size < committed:
        log.warning("[monitor] %s is shorter than the state says (%d < %d bytes): truncated or rotated; appending",
                    path, size, committed)
    return size


def append_lines(path: Path, rows: list[dict]) -> int:
    """Append JSON lines, flushed and fsynced; returns the new size."""
    with open(path, "ab") as f:
        f.write(b"".join((json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n").encode() for r in rows))
        f.flush()
        os.fsync(f.fileno())
        return f.tell()


def _lock(state_dir: Path) -> contextlib.ExitStack:
    """The state folder's lock (deliberate/provenance.py: PID and host of the holder; a second
    monitor is refused with them; a dead holder's lock is taken over); ``close()`` releases it."""
    stack = contextlib.ExitStack()
    stack.enter_context(output_lock(state_dir))
    return stack


def main(cfg: MonitorConfig, state_dir: str | Path | None = None, inputs: list[str] | None = None, *,
         tune_malloc: bool = False) -> dict:
    """Read every input from where the state left it, fire tripwires, write and return the summary.
    ``tune_malloc``: set glibc's allocator and page out file-backed mappings between batches
    (:func:`release_file_pages`), for a long-running monitor (the CLI does; both act on the whole
    process, so callers inside another program leave it off)."""
    if tune_malloc:
        _tune_malloc()
    from deliberate.envs.declarative import load_family_path

    for p in cfg.env_paths:
        load_family_path(p)
    state_dir = Path(state_dir or cfg.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    paths = expand_inputs(inputs if inputs else cfg.inputs)
    if not paths:
        raise MonitorError("no inputs: list them in monitor.inputs or pass --input FILE")
    baseline = load_baseline(cfg.baseline, cfg.model) if cfg.baseline else None
    lock = _lock(state_dir)
    try:
        run = Run(cfg, state_dir, baseline, release=release_when_large if tune_malloc else None)
        try:
            started, read, nbytes = time.time(), 0, 0
            with show_progress(None, "[monitor] reading", unit="transcript") as bar:  # a stream: no total
                for path in paths:
                    before = run.state["inputs"].get(str(path), {}).get("offset", 0)
                    read += run.read(path, bar)
                    if input_kind(path, cfg.format) == "jsonl":
                        nbytes += run.state["inputs"][str(path)]["offset"] - before
            summary = run.finish(started, read, nbytes)
        finally:
            run.close()
    finally:
        lock.close()
    last = run.state["runs"][-1]
    log.info("[monitor] %d transcripts (%.1f MiB) in %.1f s; %d alerts in all, %d malformed or rejected lines%s; "
             "peak RSS %.0f MB; summary: %s", read, nbytes / 2**20, last["seconds"], summary["total"]["alerts"],
             summary["malformed_total"], f" (listed in {run.rejects_path})" if summary["malformed_total"] else "",
             last["peak_rss_mb"], state_dir / "summary.md")
    if cfg.webhook and summary["undelivered"]:
        log.warning("[monitor] webhook: %d alerts not delivered yet (kept in the state; retried next run); last "
                    "error: %s", summary["undelivered"], run.state["webhook"]["last_error"])
    return summary
