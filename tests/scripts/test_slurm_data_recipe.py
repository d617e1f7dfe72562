"""The documented cluster recipe, run on this machine: a stand-in `vllm serve` (the stub
OpenAI server) started by scripts/slurm/data_vllm_server.sbatch, and `deliberate data` as
its client; every value comes from the config through `deliberate config`."""

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sbatch_recipe_serves_and_generates(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "vllm"
    fake.write_text(f"#!/bin/sh\n[ \"$1\" = serve ] || exit 2\nshift\nshift\n"
                    f"exec {sys.executable} {TESTS / 'stub_openai.py'} \"$@\"\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    exp = {
        "name": "recipe", "output_dir": str(tmp_path / "recipe"),
        "envs": {"train": ["covert_rule_violation", "covert_rule_violation_twin"], "max_turns": 3},
        "data": {"teacher": {"name_or_path": "stub-model", "backend": "openai",
                             "endpoint": {"base_url": "http://placeholder:1/v1", "api_key_env": "RECIPE_KEY"}},
                 "scenarios_per_family": 3, "samples_per_scenario": 2, "validation_scenarios_per_family": 0,
                 "min_score": 0.5, "few_shot": False, "shard_size": 2},
        "sft": {"enabled": False}, "eval": {"models": ["base"]}, "wandb": {"mode": "disabled"},
    }
    cfg = tmp_path / "recipe.yaml"
    cfg.write_text(yaml.safe_dump(exp))
    env = {**os.environ, "PATH": f"{bindir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
           "VLLM_PORT": str(free_port()), "VLLM_HOST": "127.0.0.1", "VLLM_WAIT_INTERVAL": "1",
           "RECIPE_KEY": "sk-recipe-0000", "WANDB_MODE": "disabled"}
    proc = subprocess.run(["bash", str(ROOT / "scripts/slurm/data_vllm_server.sbatch"), str(cfg), "data.seed=3"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "recipe" / "data" / "manifest.json").is_file()
    assert f"127.0.0.1:{env['VLLM_PORT']}" in proc.stdout
    assert "sk-recipe-0000" not in proc.stdout + proc.stderr
