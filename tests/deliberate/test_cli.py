import json

from deliberate.cli import main as cli
from deliberate.envs.core import load_builtin_families


def test_envs_list(capsys):
    assert cli(["envs", "list"]) == 0
    out = capsys.readouterr().out
    for name, fam in load_builtin_families().items():
        line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
        assert fam.suite in line and fam.category in line


def test_envs_show_is_deterministic(capsys):
    assert cli(["envs", "show", "log_falsification", "--seed", "4", "--cue", "deploy", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert cli(["envs", "show", "log_falsification", "--seed", "4", "--cue", "deploy", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert first["id"] == "log_falsification/test/deploy/4"


def test_envs_show_bad_cue_is_a_clear_error(capsys):
    assert cli(["envs", "show", "covert_rule_violation", "--cue", "deploy"]) == 2
    assert "cue variants" in capsys.readouterr().err


def test_unknown_family(capsys):
    assert cli(["envs", "show", "nope"]) == 2
    assert "unknown environment family 'nope'" in capsys.readouterr().err


def test_rl_disabled_is_explicit(tmp_path, capsys):
    cfg = tmp_path / "e.yaml"
    cfg.write_text("name: e\noutput_dir: x\ndata: {teacher: {name_or_path: /nonexistent}}\n")
    assert cli(["rl", str(cfg)]) == 2
    assert "rl.enabled is false" in capsys.readouterr().err


def test_missing_model_folder_is_a_clear_error(tmp_path, capsys):
    cfg = tmp_path / "e.yaml"
    cfg.write_text(f"name: e\noutput_dir: {tmp_path / 'runs'}\nwandb: {{mode: disabled}}\n"
                   "data: {teacher: {name_or_path: /nonexistent/model}}\n")
    assert cli(["data", str(cfg)]) == 2
    assert "is not a local folder" in capsys.readouterr().err


def test_config_get_prints_resolved_values(capsys):
    from pathlib import Path

    demo = str(Path(__file__).resolve().parents[2] / "configs/experiments/demo.yaml")
    assert cli(["config", demo, "sft.max_steps", "sft.max_steps=99"]) == 0
    assert capsys.readouterr().out.strip() == "99"
    assert cli(["config", demo, "envs.train"]) == 0
    assert json.loads(capsys.readouterr().out) == ["covert_rule_violation", "covert_rule_violation_twin"]
    assert cli(["config", demo, "data.teacher.endpoint"]) == 0
    assert capsys.readouterr().out.strip() == ""  # null prints as empty
    assert cli(["config", demo, "data.nope"]) == 2
    assert "no such config key" in capsys.readouterr().err
