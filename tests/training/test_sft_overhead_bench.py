"""scripts/bench/sft_overhead.py in its smoke mode: our SFT stage and plain TRL both train, on the same
batches, for the same timed steps, and the script reports a positive ours/TRL ratio last."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bench" / "sft_overhead.py"


def test_smoke_run_times_both_sides_alike(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # sys.executable is the project venv's python when run as `.venv/bin/pytest`
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--json", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("ours / TRL steps/s: ")
    result = json.loads(out.read_text())
    assert [r["side"] for r in result["runs"]] == ["ours", "trl"]
    ours, trl = result["runs"]
    assert ours["global_step"] == trl["global_step"] == 3
    assert ours["timed_steps"] == trl["timed_steps"] == 2  # step 1 is warm-up
    assert all(r["steps_per_s"] > 0 and r["timed_seconds"] > 0 for r in result["runs"])
    assert result["same_train_loss"]  # the same model, data, template and seed: the same batches
    assert math.isfinite(result["ratio"]) and result["ratio"] > 0
    assert result["ratio"] == result["sides"]["ours"]["steps_per_s"] / result["sides"]["trl"]["steps_per_s"]
