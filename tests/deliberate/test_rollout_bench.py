"""scripts/bench/rollout_throughput.py on the tiny model: both loops run, cached and uncached agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_rollout_bench_runs_both_loops_and_checks_equality(tmp_path, tiny_model_dir):
    exp = yaml.safe_load((ROOT / "configs/experiments/demo.yaml").read_text())
    exp["data"]["teacher"] = {"name_or_path": str(tiny_model_dir)}
    exp["output_dir"] = str(tmp_path / "runs")
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(exp))
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/bench/rollout_throughput.py"), "--config", str(cfg),
                           "--scenarios", "1", "--require", "0", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "RATIO mean" in proc.stdout.splitlines()[-1]
    result = json.loads(out.read_text())
    assert [r["loop"] for r in result["rows"]] == ["data", "eval"]
    for row in result["rows"]:
        assert row["identical_outputs"] and row["episodes"] > 0 and row["ratio"] > 0
