"""Oversized input fails early with the numbers: a huge spec at load, a prompt over the teacher's context
window before the first request (endpoint and local model), nothing sent to the server."""

import time

import yaml
from stub_openai import StubOpenAI

from deliberate.cli import main as cli
from deliberate.specs.loader import MAX_SPEC_BYTES


def spec_file(path, body_bytes: int):
    filler = ("Act openly and cite the clause you follow. " * (body_bytes // 43 + 1))[:body_bytes]
    path.write_text(f"# Big spec\n\nVersion: 1\n\n### AS1 — Be open\n\n{filler}\n\n### AS2 — Escalate\n\nAsk a human.\n")
    return path


def experiment(tmp_path, spec, teacher, **data):
    raw = {"name": "big", "output_dir": str(tmp_path / "big"), "spec": {"path": str(spec)},
           "envs": {"train": ["covert_rule_violation"], "max_turns": 2},
           "data": {"teacher": teacher, "scenarios_per_family": 2, "samples_per_scenario": 1,
                    "validation_scenarios_per_family": 0, "min_score": 0.0, "min_kept": 1,
                    "spec_in_prompt": "full", "generation": {"max_new_tokens": 32}, **data},
           "sft": {"enabled": False}, "eval": {"models": ["base"]}, "wandb": {"mode": "disabled"}}
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def endpoint(url):
    return {"name_or_path": "stub", "backend": "openai",
            "endpoint": {"base_url": url, "max_retries": 0, "timeout_s": 5.0}}


def test_a_17_mb_spec_is_refused_at_load_before_any_request(tmp_path, capsys):
    spec = spec_file(tmp_path / "huge.md", 17 * 2**20)
    with StubOpenAI(faults=False) as stub:
        t0 = time.perf_counter()
        code = cli(["data", str(experiment(tmp_path, spec, endpoint(stub.base_url)))])
        elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert code == 2 and stub.requests == 0 and elapsed < 20
    assert "huge.md" in err and f"at most {MAX_SPEC_BYTES} bytes" in err and "Traceback" not in err


def test_a_prompt_over_the_endpoints_context_window_fails_before_the_first_request(tmp_path, capsys):
    spec = spec_file(tmp_path / "long.md", 200_000)  # under the size cap, over an 8k window
    with StubOpenAI(faults=False, max_model_len=8192) as stub:
        code = cli(["data", str(experiment(tmp_path, spec, endpoint(stub.base_url)))])
    err = capsys.readouterr().err
    assert code == 2 and stub.requests == 0, err[-2000:]
    assert "context window of 8192 tokens" in err and "plus 32 for the reply" in err and "spec" in err


def test_a_prompt_that_fits_the_endpoints_window_runs(tmp_path, capsys):
    spec = spec_file(tmp_path / "short.md", 2_000)
    with StubOpenAI(faults=False, max_model_len=32768) as stub:
        code = cli(["data", str(experiment(tmp_path, spec, endpoint(stub.base_url)))])
    assert code == 0 and stub.requests > 0, capsys.readouterr().err[-2000:]


def test_a_prompt_over_a_local_models_window_fails_before_generating(tmp_path, tiny_model_dir, capsys):
    spec = spec_file(tmp_path / "long.md", 60_000)  # the tiny model's window is 8192 tokens
    code = cli(["data", str(experiment(tmp_path, spec, {"name_or_path": str(tiny_model_dir)},
                                       judge={"kind": "citation"}))])
    err = capsys.readouterr().err
    assert code == 2 and "context window of 8192 tokens" in err, err[-2000:]
    assert not (tmp_path / "big" / "data").exists()
