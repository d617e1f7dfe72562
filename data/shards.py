"""Crash-safe shard store for the data stage.

Scenarios are processed in fixed shards; each finished shard's graded rollouts are written
at once (temp file, fsync, rename), so a shard file that exists is complete. A killed run
finds the finished shards under ``<output_dir>/.data.work/`` and redoes only the rest. The
work folder is tied to the stage's config hash: if the config changed, it is cleared.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

class ShardStore:
    def __init__(self, root: Path, config_hash: str):
        self.root = Path(root)
        stamp = self.root / "stage.json"
        if self.root.exists():
            try:
                old = json.loads(stamp.read_text())["config_hash"]
            except (OSError, ValueError, KeyError):
                old = None
            if old != config_hash:
                log.warning("[data] %s belongs to another config; starting over", self.root)
                shutil.rmtree(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        if not stamp.exists():
            stamp.write_text(json.dumps({"config_hash": config_hash}) + "\n")

    def path(self, index: int) -> Path:
        return self.root / f"shard-{index:05d}.jsonl"

    def done(self, index: int) -> bool:
        return self.path(index).is_file()

    def write(self, index: int, records: list[dict]) -> None:
        final = self.path(index)
        tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        with open(tmp, "w") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)

    def read(self, index: int) -> list[dict]:
        with open(self.path(index)) as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def read_all(self, count: int) -> list[dict]:
        """Every shard's records in shard order; a duplicate rollout is an error."""
        records, seen = [], set()
        for i in range(count):
            for r in self.read(i):
                key = (r["scenario_id"], r["sample"])
                if key in seen:
                    raise RuntimeError(f"rollout {key} appears twice in {self.root}; delete the folder and re-run")
                seen.add(key)
                records.append(r)
        return records

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
