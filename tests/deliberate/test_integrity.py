"""Nothing trains on tampered data (issue 16, items 1 and 8): every stage checks its parents against
their manifests before reading them, ``deliberate verify`` covers every file, one run holds an
output folder at a time, an interrupted stage leaves no orphan, and a stage that cannot write says so."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from deliberate.cli import main as cli
from deliberate.config import config_from_dict
from deliberate.provenance import (
    LOCK,
    LockedError,
    VerifyError,
    content_hash,
    read_manifest,
    stage_output,
    verify_stage,
    write_manifest,
)
from deliberate.stage import Result, StageWriteError, run_stage


def organism(tmp_path: Path, **top) -> dict:
    """A data stage without a model (the organism's scripted episodes): a real dataset in a second."""
    return {"name": "org", "output_dir": str(tmp_path / "runs"), "envs": {"train": ["hidden_sabotage"], "max_turns": 4},
            "data": {"teacher": {"name_or_path": "/nonexistent/never-loaded"}, "source": "organism",
                     "scenarios_per_family": 6, "validation_scenarios_per_family": 2, "confession_ratio": 0.25},
            "sft": {"max_steps": 1}, "eval": {"models": ["base"]}, "wandb": {"mode": "disabled"}, **top}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    from deliberate.data.generate import main as data_main

    root = tmp_path_factory.mktemp("integrity")
    return data_main(config_from_dict(organism(root)))


def copy_runs(dataset: Path, tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    shutil.copytree(dataset, runs / "data")
    return runs


def flip_record_byte(data_dir: Path) -> None:
    """Change one byte inside a message of the train split's Arrow file (it still loads)."""
    arrow = next((data_dir / "dataset" / "train").glob("*.arrow"))
    blob = bytearray(arrow.read_bytes())
    at = blob.index(b"You are")  # a system prompt: text, so the table stays readable
    blob[at] = ord("Y") ^ 0x20
    arrow.write_bytes(bytes(blob))


def test_sft_refuses_a_tampered_dataset_naming_the_record(dataset, tmp_path, tiny_model_dir, capsys):
    runs = copy_runs(dataset, tmp_path)
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(organism(tmp_path, sft={"max_steps": 1, "model": {"name_or_path":
                                                                                      str(tiny_model_dir)}})))
    flip_record_byte(runs / "data")
    assert cli(["sft", str(exp)]) == 2
    err = capsys.readouterr().err
    assert "[sft] refusing to read" in err and "record train[" in err and "scenario 'hidden_sabotage" in err, err
    assert not (runs / "sft").exists() and not (runs / ".sft.tmp").exists()  # nothing trained, nothing started
    assert cli(["verify", str(runs / "data")]) == 2
    assert "record train[" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["scenario_hashes.json", "rollouts.jsonl", "summary.json", "spec.md",
                                  "dataset/dataset_dict.json"])
def test_verify_covers_every_file_a_later_stage_trusts(dataset, tmp_path, capsys, name):
    runs = copy_runs(dataset, tmp_path)
    assert cli(["verify", str(runs / "data")]) == 0
    assert "files match the manifest" in capsys.readouterr().out
    path = runs / "data" / name
    path.write_bytes(path.read_bytes().replace(b"hidden_sabotage", b"hidden_sabotagf", 1) + b" ")
    with pytest.raises(VerifyError, match=f"{name} was changed"):
        verify_stage(runs / "data")


def test_verify_names_added_and_missing_files_and_an_edited_manifest(dataset, tmp_path):
    runs = copy_runs(dataset, tmp_path)
    (runs / "data" / "extra.json").write_text("{}")
    with pytest.raises(VerifyError, match="extra.json was added"):
        verify_stage(runs / "data")
    (runs / "data" / "extra.json").unlink()
    (runs / "data" / "summary.json").unlink()
    with pytest.raises(VerifyError, match="summary.json is missing"):
        verify_stage(runs / "data")


def fake_cfg(tmp_path: Path, verify_inputs: bool = True) -> SimpleNamespace:
    return SimpleNamespace(name="t", output_dir=str(tmp_path / "runs"), wandb=SimpleNamespace(mode="disabled"),
                           stage_dir=lambda name: tmp_path / "runs" / name, verify_inputs=verify_inputs)


def parent(tmp_path: Path, files: bool = True) -> Path:
    out = tmp_path / "runs" / "parent"
    with stage_output(out) as tmp:
        (tmp / "weights.bin").write_bytes(b"\x00" * 64)
        m = write_manifest(tmp, stage="parent", config_hash="p", record_count=1)
    if not files:  # a manifest written before per-file hashes
        del m["files"]
        (out / "manifest.json").write_text(json.dumps(m))
    return out


def child(tmp_path: Path, cfg, calls: list) -> Path:
    def work(ctx):
        calls.append(ctx.name)
        (ctx.dir / "out.txt").write_text("x")
        return Result(record_count=1)

    return run_stage(cfg, "child", work, config_hash="c", parents=[tmp_path / "runs" / "parent"])


@pytest.mark.parametrize("files", [True, False])
def test_every_stage_checks_its_parents_before_its_work_runs(tmp_path, files):
    p, calls = parent(tmp_path, files), []
    out = child(tmp_path, fake_cfg(tmp_path), calls)
    assert read_manifest(out)["inputs_verified"] is True and calls == ["child"]
    (p / "weights.bin").write_bytes(b"\x00" * 63 + b"\x01")
    with pytest.raises(VerifyError, match=r"\[child\] refusing to read .*parent" +
                       (": weights.bin was changed" if files else ".*cannot be named")):
        run_stage(fake_cfg(tmp_path), "child", lambda ctx: calls.append("again"), config_hash="c2",
                  parents=[p])
    assert calls == ["child"]  # the work never ran


def test_verify_inputs_false_reads_unchecked_and_the_manifest_says_so(tmp_path, caplog):
    p, calls = parent(tmp_path), []
    (p / "weights.bin").write_bytes(b"tampered")
    caplog.set_level(logging.WARNING, logger="deliberate.stage")
    out = child(tmp_path, fake_cfg(tmp_path, verify_inputs=False), calls)
    assert read_manifest(out)["inputs_verified"] is False and calls == ["child"]
    assert "verify_inputs is false" in caplog.text


def test_a_second_run_on_the_same_output_folder_is_refused_naming_the_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from deliberate.provenance import output_lock\n"
        f"with output_lock({str(tmp_path / 'runs')!r}):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        calls = []
        with pytest.raises(LockedError, match=f"in use by PID {holder.pid} on host {socket.gethostname()}"):
            child(tmp_path, fake_cfg(tmp_path), calls)
        assert calls == []
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed (-9): its lock is stale, the next run takes it over with a warning
    lock = json.loads((tmp_path / "runs" / LOCK).read_text())
    assert lock["pid"] == holder.pid
    parent(tmp_path)
    child(tmp_path, fake_cfg(tmp_path), calls)
    assert calls == ["child"] and (tmp_path / "runs" / LOCK).read_text() == ""  # released after the stage


def test_a_stale_lock_file_is_taken_over_with_a_warning_and_another_hosts_is_not(tmp_path, caplog):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "runs").mkdir()
    lock = tmp_path / "runs" / LOCK
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "since": "then", "command": "x"}))
    parent(tmp_path)
    caplog.set_level(logging.WARNING, logger="deliberate.provenance")
    calls = []
    child(tmp_path, fake_cfg(tmp_path), calls)
    assert calls == ["child"] and f"stale lock {lock} of PID {dead.pid}" in caplog.text
    lock.write_text(json.dumps({"pid": 1, "host": "elsewhere", "since": "then", "command": "deliberate run"}))
    with pytest.raises(LockedError, match="PID 1 on host elsewhere .* if that run is over, delete the lock file"):
        run_stage(fake_cfg(tmp_path), "other", lambda ctx: None, config_hash="o")


def test_an_interrupted_stage_leaves_no_orphan_folder(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / "runs" / f".eval.tmp-{dead.pid}"
    orphan.mkdir(parents=True)
    (orphan / "transcripts.base.jsonl").write_text("{}\n")
    cfg = fake_cfg(tmp_path)

    def work(ctx):
        (ctx.dir / "results.json").write_text("{}")
        return Result(record_count=0)

    run_stage(cfg, "eval", work, config_hash="e")
    assert not orphan.exists() and [p.name for p in (tmp_path / "runs").iterdir() if p.name != LOCK] == ["eval"]


# ------------------------------------------------------------------ read-only folders and full disks


def root_mount(tmp_path: Path, *options: str) -> Path:
    """A small tmpfs (root only); skips with the reason otherwise."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs (read-only and full-disk tests)")
    where = tmp_path / "mnt"
    where.mkdir()
    got = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)],
                         capture_output=True, text=True)
    if got.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {got.stderr.strip()}")
    return where


@pytest.fixture
def mounts():
    made = []
    yield made
    for m in made:
        subprocess.run(["umount", "-l", str(m)], check=False)


def test_a_full_disk_is_a_clear_error_and_keeps_the_last_good_output(tmp_path, mounts):
    where = root_mount(tmp_path, "size=256k")
    mounts.append(where)
    cfg = SimpleNamespace(name="t", output_dir=str(where), wandb=SimpleNamespace(mode="disabled"),
                          stage_dir=lambda name: where / name, verify_inputs=True)

    def work(size):
        def run(ctx):
            (ctx.dir / "blob.bin").write_bytes(b"\x01" * size)
            return Result(record_count=1)
        return run

    good = run_stage(cfg, "eval", work(1000), config_hash="a")
    before = content_hash(good)
    with pytest.raises(StageWriteError, match=r"\[eval\] cannot write .*No space left on device.*Nothing was "
                                              r"published"):
        run_stage(cfg, "eval", work(1 << 20), config_hash="b", force=True)
    assert content_hash(good) == before and read_manifest(good)["config_hash"] == "a"
    assert sorted(p.name for p in where.iterdir()) == sorted([LOCK, "eval"])  # no half-written temp folder


def test_a_read_only_output_folder_is_a_clear_error_through_the_cli(dataset, tmp_path, mounts, capsys):
    where = root_mount(tmp_path, "size=4m")
    mounts.append(where)
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(organism(tmp_path, output_dir=str(where / "runs"))))
    (where / "runs").mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
    assert cli(["data", str(exp)]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Read-only file system" in err and "Traceback" not in err, err
