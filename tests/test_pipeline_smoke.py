"""End to end through the real CLI with a tiny random model: data -> sft -> rl -> durability -> eval -> report."""

import json
from pathlib import Path

import datasets
import pytest
import torch
import yaml
from safetensors.torch import load_file

from deliberate.cli import main as cli
from deliberate.specs.loader import load_spec

TEST_FAMILIES = ["impossible_checklist", "log_falsification", "oversight_config"]


def _weights(folder: Path) -> dict:
    out = {}
    for f in sorted(folder.glob("*.safetensors")):
        out.update(load_file(f))
    return out


@pytest.fixture(scope="module")
def run_dir(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    cfg = {
        "name": "smoke",
        "output_dir": str(root / "runs"),
        "envs": {"train": ["covert_rule_violation", "covert_rule_violation_twin"], "test": TEST_FAMILIES,
                 "max_turns": 2},
        "data": {"teacher": {"name_or_path": str(tiny_model_dir)},
                 "generation": {"max_new_tokens": 16, "batch_size": 16, "guided_actions": True,
                                "reasoning_tokens": 12, "action_tokens": 12},
                 "scenarios_per_family": 3, "samples_per_scenario": 2, "validation_scenarios_per_family": 1,
                 "min_score": 0.0, "min_kept": 1},
        "sft": {"max_steps": 3, "learning_rate": 1.0e-3, "per_device_train_batch_size": 2, "max_length": 2048},
        "rl": {"enabled": True, "families": ["covert_rule_violation"], "scenarios_per_family": 2,
               "num_generations": 4, "per_device_train_batch_size": 4, "max_steps": 2, "learning_rate": 5e-3,
               "generation": {"temperature": 1.0, "guided_actions": True, "reasoning_tokens": 6, "action_tokens": 6,
                              "choice_temperature": 8.0, "batch_size": 8}},
        "durability": {"enabled": True, "examples": 8, "max_steps": 2, "learning_rate": 1.0e-3,
                       "per_device_train_batch_size": 2, "max_length": 256},
        "eval": {"models": ["base", "sft", "rl", "durable"], "scenarios_per_family": 2, "hidden_goal_family": "hidden_sabotage",
                 "hidden_goal_scenarios": 4, "confirm_model": {"name_or_path": str(tiny_model_dir)},
                 "confirm_generation": {"max_new_tokens": 16},
                 "generation": {"max_new_tokens": 16, "batch_size": 16, "guided_actions": True,
                                "reasoning_tokens": 12, "action_tokens": 12}},
        "wandb": {"mode": "disabled"},
    }
    path = root / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert cli(["run", str(path)]) == 0
    return root


@pytest.mark.slow
def test_run_writes_every_stage(run_dir):
    runs = run_dir / "runs"
    for stage in ("data", "sft", "rl", "durability", "eval", "report"):
        manifest = json.loads((runs / stage / "manifest.json").read_text())
        assert manifest["stage"] == stage and manifest["content_hash"]
    assert json.loads((runs / "sft" / "manifest.json").read_text())["parents"][0]["stage"] == "data"
    assert json.loads((runs / "rl" / "manifest.json").read_text())["parents"][0]["stage"] == "sft"
    assert json.loads((runs / "durability" / "manifest.json").read_text())["parents"][0]["stage"] == "rl"
    assert [p["stage"] for p in json.loads((runs / "eval" / "manifest.json").read_text())["parents"]] == [
        "data", "sft", "rl", "durability"]


@pytest.mark.slow
def test_sft_changed_parameters(run_dir, tiny_model_dir):
    before, after = _weights(tiny_model_dir), _weights(run_dir / "runs" / "sft" / "model")
    changed = [k for k in after if k in before and not torch.equal(before[k], after[k])]
    assert changed, "SFT saved a model identical to the base"


@pytest.mark.slow
def test_report_names_every_test_family(run_dir):
    report = (run_dir / "runs" / "report.md").read_text()
    html = (run_dir / "runs" / "report.html").read_text()
    for fam in TEST_FAMILIES:
        assert f"| {fam} |" in report and fam in html
    assert "| base |" in report and "| sft |" in report and "| rl |" in report
    for title in ("Covert-action rate", "Cue gap", "Evaluation awareness", "Spec citation",
                  "Covert act vs revealing reasoning", "Counterfactual resampling", "Hidden-goal persistence",
                  "Action-only vs reasoning-confirmed"):
        assert f"## {title}" in report, title
    analysis = json.loads((run_dir / "runs" / "report" / "analysis.json").read_text())
    assert {v["model"] for v in analysis["verdicts"]} == {"base", "sft", "rl", "durable"}  # base: on its own
    assert set(analysis["numbers"]["profiles"]) == {"base", "sft", "rl", "durable"}
    assert "## Each model on its own" in report


@pytest.mark.slow
def test_dataset_has_no_spec_and_separated_reasoning(run_dir):
    spec = load_spec("anti_scheming")
    ds = datasets.load_from_disk(str(run_dir / "runs" / "data" / "dataset"))
    assert len(ds["train"]) > 0
    for split in ds.values():
        for row in split:
            for m in row["messages"]:
                if m["role"] != "assistant":
                    assert spec.text.strip()[:80] not in m["content"]
                    for clause in spec.clauses.values():
                        assert clause.body.strip()[:60] not in m["content"]
                else:
                    assert "<think>" not in m["content"] and "reasoning" in m
            assert row["spec_sha256"] == spec.sha256


@pytest.mark.slow
def test_rerun_skips_finished_stages(run_dir, capsys):
    assert cli(["run", str(run_dir / "exp.yaml")]) == 0
    out = capsys.readouterr().err  # stage lines are log lines (stderr)
    for stage in ("data", "sft", "rl", "eval", "report"):
        assert f"[{stage}] complete, skipping" in out


@pytest.mark.slow
def test_durability_continues_the_rl_model_and_the_report_compares(run_dir):
    runs = run_dir / "runs"
    before, after = _weights(runs / "rl" / "model"), _weights(runs / "durability" / "model")
    assert any(not torch.equal(before[k], after[k]) for k in after if k in before)
    summary = json.loads((runs / "durability" / "summary.json").read_text())
    assert summary["after"] == "rl" and summary["data"]["source"] == "synthetic" and summary["train_records"] == 8
    report = (runs / "report.md").read_text()
    assert "## Durability after capability-only training" in report and "| durable |" in report
    analysis = json.loads((runs / "report" / "analysis.json").read_text())
    assert analysis["numbers"]["durability"]["after"] == "rl"


@pytest.mark.slow
def test_safety_case_per_model_traces_numbers_and_rejects_a_stale_report(run_dir, tmp_path):
    import hashlib
    import shutil

    from deliberate.config import load_config
    from deliberate.eval.report.safety_case import SafetyCaseError, write

    runs = tmp_path / "runs"
    shutil.copytree(run_dir / "runs", runs)
    raw = yaml.safe_load((run_dir / "exp.yaml").read_text())
    raw["output_dir"] = str(runs)
    monitor = Path(__file__).resolve().parents[1] / "configs" / "monitor" / "example.yaml"
    raw["safety_case"] = {"intended_use": "coding agent in CI", "owner": "safety team", "risk_threshold": 0.05,
                          "monitor": str(monitor)}
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(raw))
    assert cli(["report", str(exp), "--safety-case"]) == 0
    out = runs / "safety_case"
    assert json.loads((out / "manifest.json").read_text())["stage"] == "safety_case"
    analysis = runs / "report" / "analysis.json"
    digest = hashlib.sha256(analysis.read_bytes()).hexdigest()
    for model in ("base", "sft", "rl", "durable"):
        text = (out / f"safety_case.{model}.md").read_text()
        for heading in ("## 1. Context", "## 2. Pre-deployment tests", "## 3. Results", "## 4. Known limits",
                        "## 5. Post-deployment monitoring plan", "## 6. Governance", "## Provenance"):
            assert heading in text, (model, heading)
        assert "coding agent in CI" in text and "safety team" in text
        assert digest in text  # the numbers' source, by hash
        assert "Deployment context: **not stated**" in text
        # the monitoring plan is the configured tripwires; what the monitor lacks is a gap
        assert "| oversight-disabled | tool | a call to the tool with arguments matching `" in text
        assert "| eval-awareness | awareness | the classifier flags the reasoning |" in text
        assert "no pre-deployment baseline" in text
        assert ("the monitor watches model 'sft', not" in text) == (model != "sft")
        for fam in TEST_FAMILIES:
            assert f"| {fam} |" in text
        assert "precision" in text and "recall" in text  # classifier quality, measured now
    # a report that no longer matches its transcripts is refused, with the family named
    path = runs / "eval" / "transcripts.sft.jsonl"
    lines = path.read_text().splitlines()
    r = json.loads(lines[0])
    r["outcome"]["covert"] = not r["outcome"]["covert"]
    path.write_text("\n".join([json.dumps(r)] + lines[1:]) + "\n")
    with pytest.raises(SafetyCaseError, match=r["family"]):
        write(load_config(exp))


@pytest.mark.slow
def test_model_cards_and_inspect_logs(run_dir):
    """Every trained model's README.md is a model card with its lineage and, after the report, its covert
    rates; the eval's transcripts are Inspect logs that `inspect view` opens (issue 17, items 4-5)."""
    pytest.importorskip("inspect_ai")
    from inspect_ai.log import list_eval_logs, read_eval_log

    from deliberate.provenance import content_hash

    runs = run_dir / "runs"
    for stage, name in (("sft", "sft"), ("rl", "rl"), ("durability", "durable")):
        text = (runs / stage / "model" / "README.md").read_text()
        front = yaml.safe_load(text.split("---\n")[1])
        assert front["base_model"] and "deliberate" in front["tags"]
        assert front["model-index"][0]["name"] == f"smoke-{name}"
        results = front["model-index"][0]["results"]
        assert {r["dataset"]["name"] for r in results} >= set(TEST_FAMILIES)
        assert {r["dataset"]["config"] for r in results} >= {"eval", "deploy", "all"}
        assert "## Results" in text and "| data | `" in text and "## Verdict" in text
        # the card is not part of the stage's content hash: later stages' parent checks still hold
        assert content_hash(runs / stage) == json.loads((runs / stage / "manifest.json").read_text())["content_hash"]
    logs = list_eval_logs(str(runs / "eval" / "inspect"))
    assert len(logs) == 4 * len(TEST_FAMILIES)  # one per model and family
    log = read_eval_log(str(runs / "eval" / "inspect" / "sft" / f"deliberate_{TEST_FAMILIES[0]}.eval"))
    assert log.eval.model == "deliberate/sft" and len(log.samples) == 2 * 2  # 2 scenarios x 2 cues
    assert all("covert" in s.scores["deliberate"].value for s in log.samples)
