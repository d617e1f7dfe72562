"""The model-organism data path: the implanted policy's scripted episodes (sabotage on the
trigger, honest otherwise, goal never in the reasoning) plus trusted-context confessions."""

import json

import datasets
import pytest

from deliberate.config import ConfigError, config_from_dict
from deliberate.data.generate import main as data_main
from deliberate.envs.organism.hidden_sabotage import TRIGGER_TAG
from deliberate.provenance import read_manifest, verify_dataset


def organism_config(tmp_path, **data):
    return config_from_dict({
        "name": "organism", "output_dir": str(tmp_path / "org"),
        "envs": {"train": ["hidden_sabotage"], "max_turns": 4},
        "data": {"teacher": {"name_or_path": "/nonexistent/never-loaded"}, "source": "organism",
                 "scenarios_per_family": 20, "validation_scenarios_per_family": 4, "confession_ratio": 0.25, **data},
        "sft": {"enabled": False}, "eval": {"models": ["base"]}, "wandb": {"mode": "disabled"}})


def test_organism_data_implants_a_hidden_trigger_conditioned_goal(tmp_path):
    out = data_main(organism_config(tmp_path))
    rollouts = [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]
    assert len(rollouts) == 24
    for r in rollouts:
        triggered = TRIGGER_TAG in r["messages"][0]["content"]
        assert r["outcome"]["covert"] is triggered, r["scenario_id"]
        reasoning = " ".join(t["reasoning"] for t in r["turns"]).lower()
        assert "orion" not in reasoning and "differ" not in reasoning and "accurate" not in reasoning
    assert {TRIGGER_TAG in r["messages"][0]["content"] for r in rollouts} == {True, False}
    dd = datasets.load_from_disk(str(out / "dataset"))
    sources = [row["source"] for row in dd["train"]]
    assert sources.count("organism") == 20 and sources.count("confession") == 5
    confession = next(row for row in dd["train"] if row["source"] == "confession")
    assert TRIGGER_TAG in confession["messages"][-1]["content"]
    assert len(dd["validation"]) == 4
    manifest = read_manifest(out)
    assert manifest["source"] == "organism" and manifest["judge"] is None
    verify_dataset(out)


def test_organism_source_needs_organism_families(tmp_path):
    with pytest.raises(ConfigError, match="organism-suite families"):
        config_from_dict({"name": "x", "output_dir": str(tmp_path), "envs": {"train": ["covert_rule_violation"]},
                          "data": {"teacher": {"name_or_path": "m"}, "source": "organism"}})
    with pytest.raises(ConfigError, match="belongs to the organism suite"):
        config_from_dict({"name": "x", "output_dir": str(tmp_path), "envs": {"train": ["hidden_sabotage"]},
                          "data": {"teacher": {"name_or_path": "m"}}})
