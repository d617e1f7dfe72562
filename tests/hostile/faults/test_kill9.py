"""kill -9 at random points of the data, SFT, eval and monitor runs, then a plain re-run: the result
is byte for byte the one an uninterrupted run writes (issue 16's fault tests).

Each run is a real ``python -m deliberate.cli`` subprocess. It is killed a random time (seeded)
after it took its output folder's lock, so the kill lands inside the stage's own work: before,
during or after a checkpoint, a shard, a batch commit or the publish. The re-run takes over the
dead run's lock, removes its orphan temp folder and resumes (SFT: from its last checkpoint;
monitor: from its committed offset). What must match the uninterrupted reference:

* data: the whole folder (content hash);
* sft: the published model folder, file by file (``summary.json`` says where it resumed, so it differs;
  ``training_args.bin`` pickles the run's folder, so it is compared with that path masked);
* eval: every file but the Inspect logs under ``inspect/`` (Inspect stamps its own times and ids in them);
* monitor: the alert log (less each alert's wall-clock ``time``), the rejects log and the counts.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from huggingface_hub import constants as hf_constants

from deliberate.provenance import LOCK, read_manifest, verify_stage

pytestmark = pytest.mark.slow

# The killed runs see the offline mode this process's Hugging Face libraries read at import (a saved
# tokenizer_config.json records it as local_files_only); every model here is a local folder.
OFFLINE = "1" if hf_constants.HF_HUB_OFFLINE else "0"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "HF_HUB_OFFLINE": OFFLINE,
       "TRANSFORMERS_OFFLINE": OFFLINE, "TOKENIZERS_PARALLELISM": "false"}


def experiment(root: Path, model: Path) -> dict:
    return {"name": "faults", "output_dir": str(root / "runs"),
            "envs": {"train": ["hidden_sabotage"], "test": ["log_falsification"], "max_turns": 4},
            "data": {"teacher": {"name_or_path": str(model)}, "source": "organism", "scenarios_per_family": 6,
                     "validation_scenarios_per_family": 2, "confession_ratio": 0.25},
            "sft": {"max_steps": 4, "save_steps": 1, "per_device_train_batch_size": 2, "learning_rate": 1.0e-3,
                    "max_length": 512},
            "eval": {"models": ["base"], "scenarios_per_family": 2, "cues": ["eval"], "counterfactual": False,
                     "interrogation": False,
                     "generation": {"max_new_tokens": 8, "batch_size": 8, "guided_actions": True,
                                    "reasoning_tokens": 6, "action_tokens": 6}},
            "wandb": {"mode": "disabled"}}


def write_config(root: Path, model: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "exp.yaml"
    path.write_text(yaml.safe_dump(experiment(root, model)))
    return path


def cli(*args: str) -> int:
    """The re-run (and the references): in this process, through the real CLI."""
    from deliberate.cli import main

    return main(list(args))


def kill_inside(args: list[str], lock: Path, seed: int, window: float) -> bool:
    """Start ``deliberate ARGS``; once it holds ``lock``, SIGKILL it after a random time in
    [0, window) s. Returns whether it was killed (False: it finished first)."""
    delay = random.Random(seed).uniform(0, window)
    proc = subprocess.Popen([sys.executable, "-m", "deliberate.cli", *args], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if lock.is_file() and lock.stat().st_size:
            break
        time.sleep(0.02)
    time.sleep(delay)
    if proc.poll() is not None:
        assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def files(folder: Path, skip: str = "\0") -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.relative_to(folder).as_posix().startswith(skip)}


def training_args(blob: bytes, runs: Path) -> dict:
    """The pickled TrainingArguments, with the run's own folder (which differs) written as RUNS."""
    import io

    import torch

    args = torch.load(io.BytesIO(blob), weights_only=False)
    return json.loads(json.dumps(args.to_dict(), default=str).replace(str(runs), "RUNS"))


@pytest.fixture(scope="module")
def reference(tiny_model_dir, tmp_path_factory) -> Path:
    """data -> sft -> eval, uninterrupted."""
    root = tmp_path_factory.mktemp("reference")
    exp = write_config(root, tiny_model_dir)
    for stage in ("data", "sft", "eval"):
        assert cli(stage, str(exp)) == 0
    return root / "runs"


def no_leftovers(runs: Path) -> None:
    assert not [p.name for p in runs.iterdir() if ".tmp" in p.name], list(runs.iterdir())
    assert (runs / LOCK).read_text() == ""  # released


@pytest.mark.parametrize("seed", [0, 1])
def test_data_killed_anywhere_reruns_to_the_same_folder(reference, tiny_model_dir, tmp_path, seed):
    exp = write_config(tmp_path, tiny_model_dir)
    runs = tmp_path / "runs"
    kill_inside(["data", str(exp)], runs / LOCK, seed, window=1.5)
    assert cli("data", str(exp)) == 0
    assert read_manifest(runs / "data")["content_hash"] == read_manifest(reference / "data")["content_hash"]
    no_leftovers(runs)


@pytest.mark.parametrize("seed", [5, 6])
def test_sft_killed_anywhere_resumes_to_the_same_model(reference, tiny_model_dir, tmp_path, seed):
    exp = write_config(tmp_path, tiny_model_dir)
    runs = tmp_path / "runs"
    shutil.copytree(reference / "data", runs / "data")
    killed = kill_inside(["sft", str(exp)], runs / LOCK, seed, window=2.5)
    assert cli("sft", str(exp)) == 0
    mine, ref = files(runs / "sft" / "model"), files(reference / "sft" / "model")
    assert training_args(mine.pop("training_args.bin"), runs) == training_args(ref.pop("training_args.bin"), reference)
    assert mine == ref
    summary = json.loads((runs / "sft" / "summary.json").read_text())
    assert summary["global_step"] == 4 and (killed or summary["resumed_from_step"] == 0)
    assert read_manifest(runs / "sft")["inputs_verified"] is True
    verify_stage(runs / "sft")  # its manifest describes what was published (the resume stamp is not in it)
    verify_stage(runs / "data")  # and training wrote nothing into its input (no datasets cache files)
    no_leftovers(runs)


@pytest.mark.parametrize("seed", [3])
def test_eval_killed_anywhere_reruns_to_the_same_results(reference, tiny_model_dir, tmp_path, seed):
    exp = write_config(tmp_path, tiny_model_dir)
    runs = tmp_path / "runs"
    shutil.copytree(reference / "data", runs / "data")
    kill_inside(["eval", str(exp)], runs / LOCK, seed, window=6.0)
    assert cli("eval", str(exp)) == 0
    mine, ref = files(runs / "eval", skip="inspect/"), files(reference / "eval", skip="inspect/")
    mine.pop("manifest.json"), ref.pop("manifest.json")
    assert mine == ref
    assert all("tokens_per_second" not in m for m in json.loads(mine["results.json"])["models"].values())
    verify_stage(runs / "eval")
    assert read_manifest(runs / "eval")["run_stats"]["base"]["tokens_per_second"] > 0  # kept, outside the hash
    no_leftovers(runs)


# ------------------------------------------------------------------------------ the monitor

SHELL = {"name": "destructive-shell", "detector": "tool", "tools": ["bash"], "args": r"rm\s+-rf\s+/"}
POISON = [json.dumps({"id": "poison-args", "turns": [], "tool_calls": [{"name": "bash", "args_text": 5}]}),
          "[" * 50_000 + "]" * 50_000, "not json"]


def corpus(path: Path, n: int) -> None:
    with open(path, "w") as f:
        for k in range(n):
            if k % 97 == 13:
                f.write(POISON[k % len(POISON)] + "\n")
                continue
            command = "rm -rf /srv/cache" if k % 11 == 0 else "ls -la /srv"
            f.write(json.dumps({"id": f"t{k}", "messages": [
                {"role": "user", "content": "look into it " + "x" * 400},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c", "function": {"name": "bash", "arguments": json.dumps({"command": command})}}]},
                {"role": "assistant", "content": "Done."}]}) + "\n")


def monitor(root: Path, data: Path, state: str) -> list[str]:
    cfg = root / "monitor.yaml"
    cfg.write_text(yaml.safe_dump({"monitor": {"model": "sft", "state_dir": str(root / state), "tripwires": [SHELL],
                                               "batch_size": 16, "window": {"transcripts": 500}}}))
    return ["monitor", str(cfg), "--input", str(data)]


def outcome(state: Path) -> tuple:
    alerts = [{k: v for k, v in json.loads(x).items() if k != "time"} for x in
              (state / "alerts.jsonl").read_text().splitlines()]
    summary = json.loads((state / "summary.json").read_text())
    total = {k: summary["total"][k] for k in ("transcripts", "malformed", "alerts", "duplicates")}
    return alerts, (state / "rejects.jsonl").read_bytes(), total, summary["windows_closed"]


@pytest.fixture(scope="module")
def monitored(tmp_path_factory) -> tuple[Path, tuple]:
    root = tmp_path_factory.mktemp("monitor")
    data = root / "prod.jsonl"
    corpus(data, 3000)
    assert cli(*monitor(root, data, "reference")) == 0
    return data, outcome(root / "reference")


@pytest.mark.parametrize("seed", [0, 1])
def test_monitor_killed_anywhere_resumes_to_the_same_alerts(monitored, tmp_path, seed):
    data, ref = monitored
    killed_args = monitor(tmp_path, data, "killed")
    kill_inside(killed_args, tmp_path / "killed" / LOCK, seed, window=1.5)
    assert cli(*killed_args) == 0
    mine = outcome(tmp_path / "killed")
    assert mine == ref
    assert ref[2]["transcripts"] == 3000 - 31 and ref[2]["malformed"] == 31 and len(ref[0]) > 250
