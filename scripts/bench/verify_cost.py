"""What checking a stage's inputs costs (``verify_inputs: true``, the default): ms per 1,000 records.

    OMP_NUM_THREADS=1 python scripts/bench/verify_cost.py                 # 2,000 scenarios: 2,700 records
    OMP_NUM_THREADS=1 python scripts/bench/verify_cost.py --scenarios 10000 --model-mb 500

Writes a data stage without a model (``data.source: organism``: scripted episodes) into a temporary
folder, then times, best of ``--repeats`` after a warm-up: the record check (every record's hash
and the Merkle root, ``verify_dataset``), the file check (every file's sha256 against the manifest,
``verify_files``) and both together (``verify_stage``, what a stage runs on each parent). With
``--model-mb``, also the file check of a folder holding one file of that size (a model's weights:
what SFT's children verify), in MB/s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from deliberate.config import config_from_dict
from deliberate.data.generate import main as data_main
from deliberate.provenance import read_manifest, verify_dataset, verify_files, verify_stage, write_manifest


def best(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scenarios", type=int, default=2000, help="organism scenarios (train; validation is a tenth)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--model-mb", type=int, default=0, help="also hash a folder with one file of this many MB")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config_from_dict({
            "name": "bench", "output_dir": str(Path(tmp) / "runs"), "envs": {"train": ["hidden_sabotage"]},
            "data": {"teacher": {"name_or_path": "/nonexistent"}, "source": "organism",
                     "scenarios_per_family": args.scenarios,
                     "validation_scenarios_per_family": max(1, args.scenarios // 10), "confession_ratio": 0.25},
            "sft": {"enabled": False}, "eval": {"models": ["base"]}, "wandb": {"mode": "disabled"}})
        out = data_main(cfg)
        m = read_manifest(out)
        n = sum(m["split_counts"].values())
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
        print(f"dataset: {n} records, {size:.1f} MiB, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
        for name, fn in (("records + Merkle root", lambda: verify_dataset(out)),
                         ("every file's sha256", lambda: verify_files(out, m)),
                         ("verify_stage (both)", lambda: verify_stage(out))):
            s = best(fn, args.repeats)
            print(f"  {name:24} {s * 1000:7.0f} ms = {s * 1000 / n * 1000:5.0f} ms per 1,000 records")
        if args.model_mb:
            model = Path(tmp) / "model"
            model.mkdir()
            (model / "weights.bin").write_bytes(os.urandom(args.model_mb * 2**20))
            mm = write_manifest(model, stage="sft", config_hash="x", record_count=0)
            s = best(lambda: verify_files(model, mm), args.repeats)
            print(f"  model folder ({args.model_mb} MB)  {s * 1000:7.0f} ms = {args.model_mb / s:5.0f} MB/s")


if __name__ == "__main__":
    main()
