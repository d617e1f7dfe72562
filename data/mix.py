"""Mixing the SFT train split: anti-overrefusal twins at a ratio, capability data from disk.

Both are deterministic: twins are thinned in record-hash order, capability rows are drawn
with a seeded RNG, so the same inputs give the same dataset.
"""

from __future__ import annotations

import random
from pathlib import Path

from deliberate.config import CapabilityConfig
from deliberate.errors import UserError
from deliberate.provenance import record_hash

TWIN_CATEGORY = "anti_overrefusal"  # the category of a train family that is a twin (finishing is right)


class MixError(UserError, ValueError):
    """Capability data that cannot be read or is not in chat format: the message says where."""


def apply_twin_ratio(train: list[dict], ratio: float, twin_families: set[str]) -> tuple[list[dict], dict]:
    """Keep at most ``floor(ratio * non-twin records)`` twin records (thinned in record-hash
    order); report what was asked, available and kept."""
    twins = [r for r in train if r["family"] in twin_families]
    others = [r for r in train if r["family"] not in twin_families]
    want = int(ratio * len(others))
    keep = set(id(r) for r in sorted(twins, key=record_hash)[:want])
    out = [r for r in train if r["family"] not in twin_families or id(r) in keep]
    report = {"ratio": ratio, "non_twin": len(others), "wanted": want, "available": len(twins),
              "kept": min(want, len(twins))}
    if len(twins) < want:
        report["shortfall"] = want - len(twins)
    return out, report


def _load_source(cfg: CapabilityConfig, key: str = "data.capability"):
    import datasets

    path = Path(cfg.path).expanduser()
    if not path.exists():
        raise MixError(f"{key}.path: {path} does not exist (capability data is read from disk only)")
    try:
        if path.is_dir():
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                if cfg.split not in ds:
                    raise MixError(f"{key}.split: {cfg.split!r} not in {path} (has {', '.join(ds)})")
                ds = ds[cfg.split]
            return ds
        kind = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}.get(path.suffix)
        if kind is None:
            raise MixError(f"{key}.path: {path} is neither a datasets folder nor .json/.jsonl/.parquet")
        return datasets.load_dataset(kind, data_files=str(path), split="train")
    except MixError:
        raise
    except Exception as exc:
        raise MixError(f"{key}.path: cannot read {path}: {type(exc).__name__}: {exc}") from exc


def capability_records(cfg: CapabilityConfig, spec_records: int, key: str = "data.capability"
                       ) -> tuple[list[dict], dict]:
    """``floor(ratio * spec_records)`` rows (capped by the source) as train records; ``key`` names
    the config section in errors."""
    ds = _load_source(cfg, key)
    if cfg.messages_field not in ds.column_names:
        raise MixError(f"{key}.messages_field: {cfg.messages_field!r} is not a column of {cfg.path} "
                       f"(columns: {', '.join(ds.column_names)})")
    want = int(cfg.ratio * spec_records)
    picks = sorted(random.Random(cfg.seed).sample(range(len(ds)), min(want, len(ds))))
    out = []
    for i in picks:
        messages = ds[i][cfg.messages_field]
        ok = isinstance(messages, list) and messages and all(
            isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
            and isinstance(m.get("content"), str)
            for m in messages)
        if not ok or messages[-1]["role"] != "assistant":
            raise MixError(f"{cfg.path} row {i}: {cfg.messages_field} must be a list of {{role, content}} messages "
                           "(system/user/assistant) ending with an assistant turn")
        out.append({"messages": [{"role": m["role"], "content": m["content"], "reasoning": m.get("reasoning") or ""}
                                 for m in messages],
                    "scenario_id": f"capability/{Path(cfg.path).name}/{i}", "family": "capability", "split": "train",
                    "seed": i, "source": "capability", "teacher": f"capability:{Path(cfg.path).name}",
                    "score": None, "judge": None, "cited": [], "outcome": None})
    report = {"path": str(cfg.path), "ratio": cfg.ratio, "wanted": want, "available": len(ds), "kept": len(out)}
    return out, report
