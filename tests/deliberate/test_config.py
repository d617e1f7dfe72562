"""Config errors name the YAML path; overrides and precedence; every shipped YAML parses."""

from pathlib import Path

import pytest
import yaml

from deliberate.cli import main as cli
from deliberate.config import ConfigError, config_from_dict, load_config

ROOT = Path(__file__).resolve().parents[2]
BASE = {"name": "t", "output_dir": "runs/t", "data": {"teacher": {"name_or_path": "some/folder"}}}


def _problems(raw, overrides=()):
    with pytest.raises(ConfigError) as exc:
        config_from_dict(raw, list(overrides))
    return exc.value.problems


def test_defaults_and_yaml_precedence():
    cfg = config_from_dict({**BASE, "sft": {"max_steps": 7}})
    assert cfg.sft.max_steps == 7
    assert cfg.sft.lora.rank == 8  # default
    assert cfg.student().name_or_path == "some/folder"


def test_cli_override_beats_yaml():
    cfg = config_from_dict({**BASE, "sft": {"max_steps": 7}}, ["sft.max_steps=20", "sft.lora.enabled=true"])
    assert cfg.sft.max_steps == 20 and cfg.sft.lora.enabled is True


def test_wrong_type_names_path():
    assert _problems({**BASE, "sft": {"lora": {"rank": "eight"}}}) == ["sft.lora.rank: expected int, got 'eight'"]


def test_unknown_key_names_path_and_suggests():
    (p,) = _problems({**BASE, "sft": {"lora": {"rnak": 4}}})
    assert p.startswith("sft.lora.rnak: unknown key") and "'rank'" in p


def test_missing_required_field():
    probs = _problems({"name": "t", "data": {"teacher": {}}})
    assert "output_dir: required field missing" in probs
    assert "data.teacher.name_or_path: required field missing" in probs


def test_all_problems_reported_together():
    probs = _problems({**BASE, "sft": {"max_steps": "x", "lr": 1}, "eval": {"cues": ["eval", "prod"]}})
    assert any(p.startswith("sft.max_steps:") for p in probs)
    assert any(p.startswith("sft.lr: unknown key") for p in probs)


def test_semantic_checks():
    probs = _problems({**BASE, "envs": {"train": ["impossible_checklist"], "test": ["nope"]},
                       "data": {**BASE["data"], "scenarios_per_family": 0}})
    assert "data.scenarios_per_family: must be > 0, got 0" in probs
    assert any(p.startswith("envs.train[0]: family 'impossible_checklist' belongs to the test suite") for p in probs)
    assert any(p.startswith("envs.test[0]: unknown environment family 'nope'") for p in probs)


def test_literal_and_bool_and_float():
    assert _problems({**BASE, "wandb": {"mode": "sometimes"}})[0].startswith("wandb.mode: expected one of")
    assert _problems({**BASE, "sft": {"assistant_only_loss": "yes"}}) == [
        "sft.assistant_only_loss: expected bool, got 'yes'"]
    assert config_from_dict({**BASE, "sft": {"learning_rate": 1}}).sft.learning_rate == 1.0


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match="expected KEY.PATH=VALUE"):
        config_from_dict(BASE, ["sft.max_steps"])


def test_validate_cli_misspelled_key(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    raw = yaml.safe_load((ROOT / "configs/experiments/demo.yaml").read_text())
    raw["sft"]["learning_rat"] = raw["sft"].pop("learning_rate")
    bad.write_text(yaml.safe_dump(raw))
    assert cli(["validate", str(bad)]) != 0
    assert "sft.learning_rat: unknown key (did you mean 'learning_rate'?)" in capsys.readouterr().err


def test_validate_cli_ok(capsys):
    assert cli(["validate", str(ROOT / "configs/experiments/demo.yaml")]) == 0
    assert "ok" in capsys.readouterr().out


@pytest.mark.parametrize("path", sorted((ROOT / "configs").rglob("*.yaml")), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_yaml_parses(path):
    raw = yaml.safe_load(path.read_text())
    assert isinstance(raw, dict)
    if path.parent.name == "experiments":
        load_config(path)  # fully validated
    if path.parent.name == "monitor" or "monitor" in raw:  # deployment monitor configs (docs/monitor.md)
        from deliberate.eval.monitor.config import load_monitor_config

        load_monitor_config(path)  # fully validated


def test_build_dataclass_checks_any_config_class_and_free_form_mappings():
    from dataclasses import dataclass, field

    from deliberate.config import ConfigError, build_dataclass

    @dataclass
    class Section:
        a: int
        args: dict = field(default_factory=dict)

    assert build_dataclass(Section, {"a": 1, "args": {"k": [1, 2]}}) == Section(1, {"k": [1, 2]})
    assert build_dataclass(Section, {"a": 1}, overrides=["args.x=3"]).args == {"x": 3}
    with pytest.raises(ConfigError) as err:
        build_dataclass(Section, {"a": "x", "args": [1], "b": 2}, source="mon.yaml")
    text = str(err.value)
    assert "mon.yaml" in text and "b: unknown key" in text and "a: expected int" in text
    assert "args: expected a mapping" in text


def test_durability_checks():
    assert _problems({**BASE, "eval": {"models": ["base", "durable"]}}) == [
        "eval.models[1]: 'durable' needs durability.enabled: true"]
    assert "durability.after: continues the 'rl' model, but rl.enabled is false" in _problems(
        {**BASE, "durability": {"enabled": True, "after": "rl"}, "eval": {"models": ["base", "rl", "durable"]}})
    assert _problems({**BASE, "durability": {"enabled": True}}) == [
        "eval.models: durability.enabled trains a 'durable' model; list it to evaluate it"]
    assert _problems({**BASE, "durability": {"max_steps": 0, "learning_rate": -1.0}}) == [
        "durability.max_steps: must be > 0, got 0", "durability.learning_rate: must be > 0, got -1.0"]
    cfg = config_from_dict({**BASE, "durability": {"enabled": True}, "eval": {"models": ["base", "sft", "durable"]}})
    assert cfg.durable_from() == "sft"
    cfg = config_from_dict({**BASE, "rl": {"enabled": True}, "durability": {"enabled": True},
                            "eval": {"models": ["base", "rl", "durable"]}})
    assert cfg.durable_from() == "rl"
