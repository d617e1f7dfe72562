"""The monitor's outputs that must not be lost or doubled: the append-only alert log (replayed
after a kill so every alert is in it exactly once) and webhook delivery (retries, backoff,
idempotency key; a failed delivery stays in the state's outbox and is logged)."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import random
import time
from pathlib import Path

from deliberate.eval.monitor.config import MonitorError, WebhookConfig
from deliberate.eval.monitor.tripwires import SEVERITIES

log = logging.getLogger(__name__)


def now() -> str:
    """The current UTC time, as the state, alerts and summaries write it."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


class AlertLog:
    """Append-only JSONL of alerts (and webhook delivery failures). ``committed`` is the size the
    state covers; lines past it were written by a run killed before its state caught up."""

    def __init__(self, path: Path, committed: int):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
        size = path.stat().st_size
        self.replayed: set[tuple[str, int, str]] = set()  # (input, offset, rule) already in the log
        self.tail_alerts: list[int] = []  # log offsets of the alert lines past the commit
        if size < committed:
            log.warning("[monitor] %s is shorter than the state says (%d < %d bytes): it was truncated or "
                        "rotated; appending", path, size, committed)
            committed = 0 if size == 0 else size
        with open(path, "rb+") as f:
            f.seek(committed)
            pos = committed
            for raw in f:
                if not raw.endswith(b"\n"):  # a torn last line (killed mid-write): drop it
                    f.truncate(pos)
                    break
                try:
                    row = json.loads(raw)
                except ValueError:
                    pos += len(raw)
                    continue
                if row.get("type") == "alert" and {"input", "offset", "rule"} <= row.keys():
                    self.replayed.add((row["input"], row["offset"], row["rule"]))
                    self.tail_alerts.append(pos)
                pos += len(raw)
        self.file = open(path, "ab")
        self.size = path.stat().st_size

    def append(self, rows: list[dict]) -> list[int]:
        """Write ``rows``, flushed to the OS (and fsynced) before returning their offsets."""
        offsets = []
        if not rows:
            return offsets
        blob = bytearray()
        for r in rows:
            offsets.append(self.size + len(blob))
            blob += (json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n").encode()
        self.file.write(blob)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.size += len(blob)
        return offsets

    def read(self, offset: int) -> dict:
        with open(self.path, "rb") as f:
            f.seek(offset)
            return json.loads(f.readline())

    def close(self) -> None:
        self.file.close()


def alert_key(transcript_id: str, rule: str, digest: str | None = None) -> str:
    """The alert's idempotency key: transcript id, its content digest (two transcripts that reuse an
    id get different keys; a re-send of the same one the same key) and rule, joined by 0x1f."""
    return "\x1f".join([transcript_id, *([digest] if digest else []), rule])


class Webhook:
    """POST alerts with retries and backoff; a delivery that fails is reported, never raised."""

    def __init__(self, cfg: WebhookConfig):
        import httpx

        missing = [env for env in cfg.headers_env.values() if env not in os.environ]
        if missing:
            raise MonitorError("webhook.headers_env names environment variables that are not set: "
                               + ", ".join(missing))
        self.cfg = cfg
        self.headers = {h: os.environ[env] for h, env in cfg.headers_env.items()}
        self.client = httpx.Client(timeout=cfg.timeout_s)
        self.min_rank = SEVERITIES.index(cfg.min_severity)

    def wants(self, alert: dict) -> bool:
        return SEVERITIES.index(alert["severity"]) >= self.min_rank

    def deliver(self, alert: dict) -> tuple[bool, int, str | None]:
        """(delivered, attempts, error)."""
        import httpx

        c = self.cfg
        error = None
        for attempt in range(c.retries + 1):
            if attempt:
                time.sleep(random.uniform(0, min(c.backoff_max_s, c.backoff_initial_s * 2 ** (attempt - 1))))
            try:
                r = self.client.post(c.url, json=alert, headers={**self.headers, "Idempotency-Key": alert["key"]})
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            if r.status_code < 300:
                return True, attempt + 1, None
            error = f"HTTP {r.status_code}: {r.text[:200]}"
            if r.status_code < 500 and r.status_code != 429:
                return False, attempt + 1, error
        return False, c.retries + 1, error

    def close(self) -> None:
        self.client.close()


def flush_outbox(state: dict, alerts: AlertLog, hook: Webhook, final: bool = False) -> None:
    """Deliver the outbox in order; on a failure, log it and wait retry_interval_s before the next try."""
    wh = state["webhook"]
    if not state["outbox"] or (time.time() < wh["next_try"] and not final):
        return
    while state["outbox"]:
        offset = state["outbox"][0]
        alert = alerts.read(offset)
        ok, attempts, error = hook.deliver(alert)
        if ok:
            state["outbox"].pop(0)
            wh["delivered"] += 1
            continue
        wh["failures"] += 1
        wh["last_error"] = error
        wh["next_try"] = time.time() + hook.cfg.retry_interval_s
        alerts.append([{"type": "delivery_failed", "key": alert["key"], "alert_offset": offset, "attempts": attempts,
                        "error": error, "pending": len(state["outbox"]), "time": now()}])
        return
