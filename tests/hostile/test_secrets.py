"""A canary key never reaches a file, a log line or W&B, even from a server that echoes request headers
(tests/stub_openai.py ``echo_headers``), and a key in an endpoint URL is refused at validation."""

import json

import pytest
import yaml
from stub_openai import StubOpenAI

from deliberate.cli import main as cli

CANARY = "sk-canary-3f9b2c71d05e4a68aa"


def experiment(tmp_path, url, **data):
    return {
        "name": "canary", "output_dir": str(tmp_path / "canary"),
        "envs": {"train": ["covert_rule_violation", "covert_rule_violation_twin"], "max_turns": 3},
        "data": {"teacher": {"name_or_path": "stub-model", "backend": "openai",
                             "endpoint": {"base_url": url, "api_key_env": "CANARY_TEST_KEY", "max_concurrency": 4,
                                          "timeout_s": 0.4, "max_retries": 1, "backoff_initial_s": 0.001,
                                          "backoff_max_s": 0.01}},
                 "generation": {"max_new_tokens": 64}, "scenarios_per_family": 4, "samples_per_scenario": 2,
                 "validation_scenarios_per_family": 1, "min_score": 0.0, "min_kept": 1, "few_shot": False,
                 "shard_size": 2, "judge": {"kind": "llm", "k": 1}, **data},
        "sft": {"enabled": False}, "eval": {"models": ["base"]}, "wandb": {"mode": "offline", "project": "canary"},
    }


def test_canary_key_is_in_no_file_log_or_wandb_run_when_the_server_echoes_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CANARY_TEST_KEY", CANARY)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    with StubOpenAI(timeout_sleep=0.6, api_key=CANARY, echo_headers=True) as stub:
        path = tmp_path / "canary.yaml"
        path.write_text(yaml.safe_dump(experiment(tmp_path, stub.base_url)))
        code = cli(["-v", "data", str(path)])
    printed = capsys.readouterr()
    assert code == 0, printed.err[-2000:]
    assert stub.auth_headers == {f"Bearer {CANARY}"}  # the server did get (and echo) the key
    rollouts = [json.loads(line) for line in (tmp_path / "canary" / "data" / "rollouts.jsonl").read_text().splitlines()]
    echoed = [r["error"] for r in rollouts if r["error"] and "request_headers" in r["error"]]
    assert echoed and all("[REDACTED]" in e for e in echoed)  # the echo was stored, masked
    quoted = [t["reasoning"] for r in rollouts for t in r["turns"] if "request came with" in (t["reasoning"] or "")]
    assert quoted and all("[REDACTED]" in q for q in quoted)  # and the key quoted in a reply too
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert any("wandb" in f.parts for f in files)  # the offline W&B run is among the files searched
    leaked = [str(f) for f in files if CANARY.encode() in f.read_bytes() or CANARY[3:19].encode() in f.read_bytes()]
    assert not leaked
    assert CANARY[3:19] not in printed.out + printed.err


@pytest.mark.parametrize("url", [f"https://api.example.com/v1?api_key={CANARY}", f"https://api.example.com/v1?key={CANARY}",
                                 f"https://api.example.com/v1?x={CANARY}", f"https://user:{CANARY}@api.example.com/v1",
                                 f"https://api.example.com/v1#access_token={CANARY}"])
def test_a_key_in_the_endpoint_url_is_refused_at_validation_without_echoing_it(tmp_path, capsys, url):
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(experiment(tmp_path, url)))
    assert cli(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "base_url" in err and "api_key_env" in err and CANARY[3:19] not in err


def test_wandb_gets_a_redacted_config(tmp_path, monkeypatch):
    import wandb

    from deliberate.config import config_from_dict
    from deliberate.tracking import stage_run

    cfg = config_from_dict(experiment(tmp_path, "http://127.0.0.1:9/v1"))
    cfg.data.teacher.endpoint.base_url = f"http://127.0.0.1:9/v1?api_key={CANARY}"  # past validation somehow
    seen = {}
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setattr(wandb, "init", lambda **kw: seen.update(kw) or object())
    monkeypatch.setattr(wandb, "finish", lambda: None)
    with stage_run(cfg, "data"):
        pass
    assert seen and CANARY not in json.dumps(seen["config"])
    assert seen["config"]["data"]["teacher"]["endpoint"]["api_key_env"] == "CANARY_TEST_KEY"
