"""The data stage against a local OpenAI-compatible stub server that injects 429s, 500s,
timeouts and malformed JSON: the stage finishes, retries are bounded, every failure is
recorded, nothing is duplicated, the key never leaks; a SIGKILLed run resumes to the same
dataset; ``deliberate verify`` catches a one-byte change."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from stub_openai import StubOpenAI

from deliberate.backends import OpenAIBackend
from deliberate.config import EndpointConfig, GenerationConfig, ModelConfig, config_from_dict
from deliberate.data.generate import main as data_main
from deliberate.provenance import VerifyError, read_manifest, verify_dataset

SECRET = "sk-test-5f3a9c0d2b7e41aa"
MAX_RETRIES = 2


def endpoint(url):
    return {"base_url": url, "api_key_env": "STUB_API_KEY", "max_concurrency": 4, "timeout_s": 0.4,
            "max_retries": MAX_RETRIES, "backoff_initial_s": 0.001, "backoff_max_s": 0.01}


def experiment(tmp_path: Path, url: str, name="stub") -> dict:
    return {
        "name": name, "output_dir": str(tmp_path / name),
        "envs": {"train": ["covert_rule_violation", "covert_rule_violation_twin"], "max_turns": 3},
        "data": {"teacher": {"name_or_path": "stub-model", "backend": "openai", "endpoint": endpoint(url)},
                 "generation": {"max_new_tokens": 64, "temperature": 0.7},
                 "scenarios_per_family": 5, "samples_per_scenario": 2, "validation_scenarios_per_family": 1,
                 "min_score": 1.0, "min_kept": 1, "few_shot": False, "shard_size": 2,
                 "judge": {"kind": "llm", "k": 2, "min_action": 0.5, "min_reasoning": 0.5}},
        "sft": {"enabled": False}, "eval": {"models": ["base"]}, "wandb": {"mode": "disabled"},
    }


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("STUB_API_KEY", SECRET)


def test_backend_retries_are_bounded_and_failures_recorded():
    with StubOpenAI(timeout_sleep=0.6, api_key=SECRET) as stub:
        mc = ModelConfig("stub-model", backend="openai", endpoint=EndpointConfig(**endpoint(stub.base_url)))
        sleeps = []
        backend = OpenAIBackend(mc, GenerationConfig(), sleep=sleeps.append)
        convs = [[{"role": "system", "content": "- finish(x): y\n- escalate(m): z"},
                  {"role": "user", "content": f"task {i}"}] for i in range(60)]
        out = backend.respond(convs)
    assert len(out) == 60
    assert max(stub.attempts.values()) <= MAX_RETRIES + 1  # bounded
    failed = [c for c in out if c.error]
    faulty_first = sum(1 for k in stub.attempts if stub.fault(k, 1))
    assert failed and faulty_first > len(failed)  # some faults were retried away, some were permanent
    assert all("HTTP 500" in c.error and f"after {MAX_RETRIES + 1} attempts" in c.error for c in failed)
    assert all(c.text.startswith("<think>") for c in out if not c.error)
    assert backend.stats.retries >= faulty_first - len(failed)
    assert len(sleeps) == backend.stats.retries and all(0 <= s <= 0.01 for s in sleeps)
    assert stub.auth_headers == {f"Bearer {SECRET}"}


def test_non_retryable_errors_fail_at_once(monkeypatch):
    with StubOpenAI(faults=False, api_key="another-key") as stub:
        mc = ModelConfig("stub-model", backend="openai", endpoint=EndpointConfig(**endpoint(stub.base_url)))
        (c,) = OpenAIBackend(mc, GenerationConfig(), sleep=lambda s: None).respond([[{"role": "user", "content": "x"}]])
    assert c.attempts == 1 and "HTTP 401" in c.error and "STUB_API_KEY" in c.error and SECRET not in c.error


def test_missing_key_variable_is_a_clear_error(monkeypatch):
    from deliberate.models import ModelError

    monkeypatch.delenv("STUB_API_KEY")
    mc = ModelConfig("m", backend="openai", endpoint=EndpointConfig(**endpoint("http://127.0.0.1:9/v1")))
    with pytest.raises(ModelError, match="STUB_API_KEY"):
        OpenAIBackend(mc, GenerationConfig())


def test_data_stage_finishes_records_failures_and_never_duplicates(tmp_path, capsys):
    with StubOpenAI(timeout_sleep=0.6, api_key=SECRET) as stub:
        cfg = config_from_dict(experiment(tmp_path, stub.base_url))
        out = data_main(cfg)
    rollouts = [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]
    assert len(rollouts) == (5 + 1) * 2 * 2  # scenarios x samples, all there ...
    assert len({(r["scenario_id"], r["sample"]) for r in rollouts}) == len(rollouts)  # ... once each
    assert max(stub.attempts.values()) <= MAX_RETRIES + 1
    errored = [r for r in rollouts if r["error"]]
    assert errored and all(r["reject_reason"] == "backend_error" and r["score"] == 0.0 for r in errored)
    judged = [r for r in rollouts if r["right"] and not r["error"]]
    assert judged and all(len(r["judge"]["judgings"]) == 2 for r in judged)
    assert all(r["judge"]["action"] == min(j["action_follows_spec"] for j in r["judge"]["judgings"]) for r in judged)
    summary = verify_dataset(out)
    manifest = read_manifest(out)
    assert summary["merkle_root"] == manifest["merkle_root"] and summary["records"] == manifest["record_count"] > 0
    assert manifest["judge"]["kind"] == "llm" and len(manifest["judge"]["prompt_sha256"]) == 64
    assert not (tmp_path / "stub" / ".data.work").exists()  # shards are cleaned up once the dataset is written
    # the key is in no file, log line or manifest
    printed = capsys.readouterr()
    for f in (tmp_path / "stub").rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    assert SECRET not in printed.out + printed.err
    assert "STUB_API_KEY" in json.dumps(manifest) or "STUB_API_KEY" not in json.dumps(manifest)  # name only, if at all


def _write_config(tmp_path, url, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(experiment(tmp_path, url, name)))
    return path


def test_sigkill_then_rerun_gives_the_identical_dataset(tmp_path):
    with StubOpenAI(timeout_sleep=0.6, api_key=SECRET) as stub:
        whole = data_main(config_from_dict(experiment(tmp_path, stub.base_url, "whole")))
        total_requests = stub.requests
    reference = read_manifest(whole)

    with StubOpenAI(timeout_sleep=0.6, api_key=SECRET, hang_after=total_requests // 2) as stub:
        cfg_path = _write_config(tmp_path, stub.base_url, "killed")
        env = {**os.environ, "STUB_API_KEY": SECRET, "WANDB_MODE": "disabled"}
        proc = subprocess.Popen([sys.executable, "-m", "deliberate.cli", "data", str(cfg_path)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        work = tmp_path / "killed" / ".data.work"
        deadline = time.time() + 120
        while stub.blocked == 0 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None and stub.blocked > 0, proc.stdout.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = sorted(p.name for p in work.glob("shard-*.jsonl"))
        assert 0 < len(done) < 6, done  # killed half-way: some shards finished, not all
        assert not (tmp_path / "killed" / "data").exists()

    with StubOpenAI(timeout_sleep=0.6, api_key=SECRET) as stub:
        cfg = config_from_dict(experiment(tmp_path, stub.base_url, "killed"))
        resumed = data_main(cfg)
        resumed_requests = stub.requests
    assert resumed_requests < total_requests  # finished shards were not redone
    got = read_manifest(resumed)
    assert got["content_hash"] == reference["content_hash"]
    assert got["merkle_root"] == reference["merkle_root"]


def test_verify_names_the_record_after_one_byte_changes(tmp_path, capsys):
    from deliberate.cli import main as cli

    with StubOpenAI(faults=False, api_key=SECRET) as stub:
        out = data_main(config_from_dict(experiment(tmp_path, stub.base_url)))
    assert cli(["verify", str(out)]) == 0
    assert "ok" in capsys.readouterr().out
    arrow = next((out / "dataset" / "train").glob("*.arrow"))
    blob = bytearray(arrow.read_bytes())
    import datasets

    row = datasets.load_from_disk(str(out / "dataset"))["train"][0]
    target = row["scenario_id"].encode()
    pos = blob.find(target)
    assert pos > 0
    blob[pos + len(target) - 1] ^= 0x01  # one byte of one record's scenario id
    arrow.write_bytes(bytes(blob))
    with pytest.raises(VerifyError, match=r"train\[0\]"):
        verify_dataset(out)
    assert cli(["verify", str(out)]) == 2
    assert "train[0]" in capsys.readouterr().err


def test_interrupted_local_run_resumes_to_the_same_dataset(tmp_path, tiny_model_dir, monkeypatch):
    """The transformers backend too: each shard reseeds, so a resumed run equals a whole one."""
    from deliberate.data import shards

    def exp(name):
        raw = experiment(tmp_path, "http://unused/v1", name)
        raw["data"]["teacher"] = {"name_or_path": str(tiny_model_dir)}
        raw["data"]["generation"] = {"guided_actions": True, "reasoning_tokens": 6, "action_tokens": 6,
                                     "choice_temperature": 8.0, "batch_size": 8}
        raw["data"]["judge"] = {"kind": "citation"}
        raw["data"].update(min_score=0.0, scenarios_per_family=4, validation_scenarios_per_family=0,
                           spec_in_prompt="titles")
        return config_from_dict(raw)

    whole = read_manifest(data_main(exp("whole")))
    real_write, calls = shards.ShardStore.write, []

    def dying_write(self, index, records):
        calls.append(index)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed")
        real_write(self, index, records)

    monkeypatch.setattr(shards.ShardStore, "write", dying_write)
    with pytest.raises(KeyboardInterrupt):
        data_main(exp("cut"))
    monkeypatch.setattr(shards.ShardStore, "write", real_write)
    assert len(list((tmp_path / "cut" / ".data.work").glob("shard-*.jsonl"))) == 2
    resumed = read_manifest(data_main(exp("cut")))
    assert (resumed["content_hash"], resumed["merkle_root"]) == (whole["content_hash"], whole["merkle_root"])


def test_wandb_offline_run_logs_the_dataset_and_never_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    with StubOpenAI(faults=False, api_key=SECRET) as stub:
        raw = experiment(tmp_path, stub.base_url)
        raw["wandb"] = {"mode": "offline", "project": "deliberate-test"}
        out = data_main(config_from_dict(raw))
    runs = list((tmp_path / "stub" / "wandb").glob("offline-run-*"))
    assert runs, "no offline W&B run was written"
    files = [f for f in (tmp_path / "stub").rglob("*") if f.is_file()]
    assert not [f for f in files if SECRET.encode() in f.read_bytes()]
    assert (out / "spec.md").read_text().startswith("#") and (out / "judge_prompt.md").is_file()
    blob = b"".join(f.read_bytes() for f in runs[0].rglob("*") if f.is_file())
    assert b"STUB_API_KEY" in blob  # the config names the variable ...
    assert read_manifest(out)["merkle_root"].encode() in blob  # ... and the dataset artifact carries the root
