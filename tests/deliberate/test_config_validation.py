"""Config and override validation (issue 16 items 4-7, issue 17 item 6): bad input is one clear
ConfigError (never a traceback), every numeric field has a range, absurd sizes stop up front, the
paths a config names are checked before any work, and overrides reach list items."""

import dataclasses
import time
import typing
from pathlib import Path

import pytest
import yaml

from deliberate.cli import main as cli
from deliberate.config import ConfigError, ExperimentConfig, config_from_dict, load_config, read_yaml
from deliberate.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
BASE = {"name": "t", "output_dir": "runs/t", "data": {"teacher": {"name_or_path": "some/folder"}}}


def _problems(raw, overrides=()):
    with pytest.raises(ConfigError) as exc:
        config_from_dict(raw, list(overrides))
    return exc.value.problems


def _write(tmp_path, text, name="e.yaml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# --------------------------------------------------------------------------- reading YAML (item 4)


def test_non_utf8_config_is_a_config_error(tmp_path, capsys):
    path = _write(tmp_path, b"name: t\noutput_dir: \xff\xfe runs\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 0xff at offset 20\)"):
        read_yaml(path)
    assert cli(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "Traceback" not in err


def test_non_utf8_monitor_yaml_is_a_config_error(tmp_path):
    from deliberate.eval.monitor.config import load_monitor_config

    path = _write(tmp_path, b"monitor:\n  model: \xc3\x28\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_monitor_config(path)


def test_non_utf8_family_file_named_by_a_config_is_a_config_error(tmp_path):
    fam = _write(tmp_path, b"name: \xff\n", "fam.yaml")
    (p,) = _problems({**BASE, "envs": {"paths": [str(fam)]}})
    assert p.startswith("envs.paths[0]: ") and "not UTF-8 text" in p


def test_yaml_date_is_read_as_text_not_a_traceback(tmp_path):
    path = _write(tmp_path, "name: 2024-01-01\noutput_dir: runs/t\ndata: {teacher: {name_or_path: m}}\n"
                            "sft: {learning_rate: 2024-01-01}\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert exc.value.problems == ["sft.learning_rate: expected float, got '2024-01-01'"]
    assert load_config(path, ["sft.learning_rate=1e-5"]).name == "2024-01-01"


def test_explicit_yaml_types_outside_json_are_rejected(tmp_path):
    path = _write(tmp_path, "name: t\noutput_dir: !!binary aGVsbG8=\n")
    with pytest.raises(ConfigError, match="output_dir: unsupported YAML value .* of type bytes"):
        read_yaml(path)


def test_top_level_list_with_overrides(tmp_path):
    path = _write(tmp_path, "- name: t\n- output_dir: x\n")
    with pytest.raises(ConfigError, match="top level is a list, not a mapping"):
        load_config(path, ["sft.max_steps=3"])
    with pytest.raises(ConfigError, match="<top level>: expected a mapping"):
        load_config(path)


@pytest.mark.parametrize("override,message", [
    ("sft.max_steps=[1,", r"override 'sft.max_steps=\[1,': not valid YAML"),
    ("sft.max_steps={a: 1, a: 2}", "duplicate key 'a'"),
    ("sft.max_steps=!!python/object:os.system ls", "not valid YAML"),
    ("=3", "empty key"),
])
def test_malformed_override_is_a_config_error(override, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(BASE, [override])


def test_duplicate_yaml_keys_are_an_error(tmp_path):
    path = _write(tmp_path, "name: t\nsft: {max_steps: 3}\noutput_dir: x\nsft: {enabled: false}\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'sft' \(first on line 2\).*line 4"):
        read_yaml(path)
    merged = _write(tmp_path, "base: &b {max_steps: 3, seed: 1}\nsft: {<<: *b, max_steps: 4}\n", "m.yaml")
    assert read_yaml(merged)["sft"] == {"max_steps": 4, "seed": 1}  # a merge key's values may be overridden


def test_alias_bomb_is_rejected_quickly_with_a_short_message(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = _write(tmp_path, "\n".join(lines) + "\nname: *a8\n")
    start = time.perf_counter()
    with pytest.raises(ConfigError) as exc:
        read_yaml(path)
    assert time.perf_counter() - start < 2
    assert "expands to more than 100000 values" in str(exc.value) and len(str(exc.value)) < 1000


def test_recursive_and_deeply_nested_yaml_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="refers to itself"):
        read_yaml(_write(tmp_path, "a: &x [*x]\n"))
    with pytest.raises(ConfigError, match="nested deeper than"):
        read_yaml(_write(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml"))


def test_every_error_message_is_capped():
    huge = ConfigError(["x: " + "y" * 100_000] * 200)
    assert len(str(huge)) < 40_000 and "and 150 more problems" in str(huge)
    probs = _problems({**BASE, "sft": {"max_steps": "z" * 1_000_000}})
    assert len(probs[0]) < 200 and probs[0].startswith("sft.max_steps: expected int, got 'zzz")


def test_cli_caps_any_user_error(monkeypatch, capsys):
    import deliberate.cli as cli_mod

    def boom(args):
        raise UserError("bad " + "q" * 1_000_000)

    monkeypatch.setitem(cli_mod.COMMANDS, "verify", boom)
    assert cli(["verify", "x"]) == 2
    err = capsys.readouterr().err
    assert len(err) < 5000 and "characters left out" in err


# --------------------------------------------------------------------------- ranges (item 5)


def _numeric(tp) -> bool:
    args = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, __import__("types").UnionType) else (tp,)
    return any(a in (int, float) for a in args)


def _config_classes():
    from deliberate.eval.monitor.config import MonitorFile

    seen, todo = [], [ExperimentConfig, MonitorFile]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.append(cls)
        for tp in typing.get_type_hints(cls).values():
            for a in (tp, *typing.get_args(tp), *[x for t in typing.get_args(tp) for x in typing.get_args(t)]):
                if dataclasses.is_dataclass(a):
                    todo.append(a)
    return seen


def test_every_numeric_field_has_a_range():
    from deliberate.config.ranges import range_of

    missing = []
    for cls in _config_classes():
        for name, tp in typing.get_type_hints(cls).items():
            if _numeric(tp) and range_of(cls, name) is None:
                missing.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert not missing, f"numeric config fields without a range in deliberate/config/ranges.py: {missing}"


def test_every_default_is_in_its_range():
    from deliberate.config.ranges import range_problems

    for cls in _config_classes():
        fields = dataclasses.fields(cls)
        if all(f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING for f in fields):
            assert range_problems(cls(), cls.__name__) == [], cls


@pytest.mark.parametrize("override,message", [
    ("sft.learning_rate=.nan", "sft.learning_rate: must be a finite number, got nan"),
    ("rl.reward_right=.inf", "rl.reward_right: must be a finite number, got inf"),
    ("sft.learning_rate=-1e-5", "sft.learning_rate: must be > 0, got -1e-05"),
    ("rl.learning_rate=0", "rl.learning_rate: must be > 0, got 0.0"),
    ("eval.counterfactual_limit=-2", "eval.counterfactual_limit: must be >= 0, got -2"),
    ("data.judge.generation.max_new_tokens=-5", "data.judge.generation.max_new_tokens: must be > 0, got -5"),
    ("sft.num_train_epochs=0", "sft.num_train_epochs: must be > 0, got 0.0"),
    ("sft.max_steps=0", "sft.max_steps: must be > 0 or -1, got 0"),
    ("data.generation.top_p=1.5", "data.generation.top_p: must be in (0, 1], got 1.5"),
    ("sft.lora.dropout=1", "sft.lora.dropout: must be in [0, 1), got 1.0"),
    ("rl.vllm_server_port=70000", "rl.vllm_server_port: must be in [1, 65535], got 70000"),
    ("data.seed=-1", "data.seed: must be in [0, 2147483647], got -1"),
    ("eval.generation.batch_size=10000000000000", "eval.generation.batch_size: must be <= 2147483647"),
    ("data.teacher.vllm.gpu_memory_utilization=0", "gpu_memory_utilization: must be in (0, 1], got 0.0"),
    ("eval.confirm_generation.temperature=-1", "eval.confirm_generation.temperature: must be >= 0, got -1.0"),
])
def test_nonsense_numbers_are_rejected(override, message):
    assert message in "\n".join(_problems(BASE, [override]))


def test_ranges_reach_list_items_and_report_once():
    raw = {**BASE, "eval": {"inspect": [{"task": "a/b", "epochs": 0, "covert_score": {"threshold": float("nan")}}]}}
    probs = _problems(raw)
    assert probs.count("eval.inspect[0].epochs: must be > 0, got 0") == 1
    assert sum(p.startswith("eval.inspect[0].covert_score.threshold: must be a finite number") for p in probs) == 1
    assert _problems(BASE, ["rl.num_generations=1"]) == [  # the section's own message, not the range's as well
        "rl.num_generations: GRPO compares rollouts within a group; need >= 2, got 1"]
    assert config_from_dict(BASE, ["sft.max_steps=-1"]).sft.max_steps == -1


def test_monitor_numbers_are_ranged_too(tmp_path):
    from deliberate.eval.monitor.config import load_monitor_config

    path = _write(tmp_path, "monitor:\n  model: sft\n  tripwires: [{name: t, detector: grader}]\n"
                            "  webhook: {url: 'https://h/x', timeout_s: .nan}\n  baseline: {path: x, alpha: 2}\n")
    with pytest.raises(ConfigError) as exc:
        load_monitor_config(path)
    text = str(exc.value)
    assert "monitor.webhook.timeout_s: must be a finite number, got nan" in text
    assert "monitor.baseline.alpha: must be in (0, 1), got 2.0" in text


def test_absurd_sizes_stop_up_front_and_say_how_to_lift_the_cap(monkeypatch):
    start = time.perf_counter()
    probs = _problems(BASE, ["data.scenarios_per_family=1000000000"])
    assert time.perf_counter() - start < 5
    (p,) = [p for p in probs if p.startswith("data.scenarios_per_family:")]
    assert "8,000,000,016 teacher rollouts" in p and "DELIBERATE_MAX_ROLLOUTS" in p
    assert any("8,000,000,016 teacher rollouts" in p for p in _problems(BASE, ["data.scenarios_per_family=1e9"]))
    assert _problems(BASE, ["data.scenarios_per_family=2.5"]) == ["data.scenarios_per_family: expected int, got 2.5"]
    probs = _problems(BASE, ["eval.scenarios_per_family=10000000"])
    assert any(p.startswith("eval.scenarios_per_family:") and "120,000,000 episodes" in p for p in probs)
    monkeypatch.setenv("DELIBERATE_MAX_ROLLOUTS", "9000000000")
    assert config_from_dict(BASE, ["data.scenarios_per_family=1000000000"]).data.scenarios_per_family == 10**9
    monkeypatch.setenv("DELIBERATE_MAX_ROLLOUTS", "lots")
    assert any("DELIBERATE_MAX_ROLLOUTS" in p for p in _problems(BASE))


# --------------------------------------------------------------------------- paths (item 6)


def _paths_config(tmp_path, **sections):
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    raw = {"name": "p", "output_dir": str(tmp_path / "runs"), "wandb": {"mode": "disabled"},
           "data": {"teacher": {"name_or_path": str(model)}}}
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return raw


def test_path_checks_name_every_missing_file(tmp_path):
    from deliberate.config.paths import path_problems

    ok = config_from_dict(_paths_config(tmp_path))
    assert path_problems(ok) == []
    bad = config_from_dict(_paths_config(
        tmp_path, spec={"path": str(tmp_path / "nospec.md")},
        data={"teacher": {"name_or_path": str(tmp_path / "model")}, "capability": {"path": str(tmp_path / "cap")},
              "judge": {"kind": "llm", "prompt": str(tmp_path / "judge.md")}},
        sft={"model": {"name_or_path": str(tmp_path / "student")}},
        eval={"models": ["base", "sft", "durable", str(tmp_path / "other")]},
        rl={"judge": {"enabled": True, "prompt": "no_such_prompt"}},
        durability={"enabled": True, "dataset": {"path": str(tmp_path / "dur.jsonl")}},
        safety_case={"monitor": str(tmp_path / "mon.yaml")}))
    text = "\n".join(path_problems(bad))
    for want in ("spec.path:", "data.capability.path:", "data.judge.prompt:", "sft.model.name_or_path:",
                 "eval.models[3]:", "durability.dataset.path:", "safety_case.monitor:"):
        assert want in text, want
    assert "rl.judge.prompt" not in text  # rl is disabled: its inputs are not needed
    assert path_problems(bad, stages=("sft",)) == [p for p in path_problems(bad) if p.startswith("sft.model")]


def test_remote_endpoints_are_not_paths(tmp_path):
    from deliberate.config.paths import path_problems

    raw = _paths_config(tmp_path, sft={"model": {"name_or_path": str(tmp_path / "model")}})
    raw["data"]["teacher"] = {"name_or_path": "Qwen/Qwen3-8B", "backend": "openai",
                              "endpoint": {"base_url": "http://h:8000/v1"}}
    assert path_problems(config_from_dict(raw)) == []


def test_validate_checks_paths_unless_told_not_to(tmp_path, capsys):
    raw = _paths_config(tmp_path, data={"teacher": {"name_or_path": str(tmp_path / "model")},
                                        "capability": {"path": str(tmp_path / "cap.jsonl")}})
    path = _write(tmp_path, yaml.safe_dump(raw))
    assert cli(["validate", str(path)]) == 2
    assert "data.capability.path:" in capsys.readouterr().err
    assert cli(["validate", str(path), "--no-paths"]) == 0


def test_a_stage_checks_its_inputs_before_any_work(tmp_path, capsys, monkeypatch):
    import deliberate.cli as cli_mod

    raw = _paths_config(tmp_path, data={"teacher": {"name_or_path": str(tmp_path / "model")},
                                        "capability": {"path": str(tmp_path / "cap.jsonl")}})
    path = _write(tmp_path, yaml.safe_dump(raw))
    monkeypatch.setattr(cli_mod, "_stage_main", lambda stage: pytest.fail(f"stage {stage} started"))
    assert cli(["data", str(path)]) == 2
    assert "data.capability.path:" in capsys.readouterr().err


def test_unwritable_output_folder_is_reported_before_work(tmp_path, capsys, monkeypatch):
    import deliberate.cli as cli_mod

    blocker = tmp_path / "file"
    blocker.write_text("")
    raw = _paths_config(tmp_path)
    raw["output_dir"] = str(blocker / "runs")
    path = _write(tmp_path, yaml.safe_dump(raw))
    monkeypatch.setattr(cli_mod, "_stage_main", lambda stage: pytest.fail(f"stage {stage} started"))
    assert cli(["data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "output_dir:" in err and "not a folder" in err
    from deliberate.config.paths import output_dir_problems

    assert output_dir_problems(config_from_dict(raw)) and "not a folder" in output_dir_problems(
        config_from_dict(raw))[0]
    monkeypatch.setattr("os.access", lambda p, mode: False)  # a read-only folder (root ignores chmod)
    assert "cannot write in" in output_dir_problems(config_from_dict(_paths_config(tmp_path)))[0]


# --------------------------------------------------------------------------- overrides (issue 17 item 6)


def test_overrides_index_list_items():
    raw = {**BASE, "eval": {"inspect": [{"task": "a/b"}, {"task": "a/c"}]}, "envs": {"test": ["oversight_config"]}}
    cfg = config_from_dict(raw, ["eval.inspect.1.epochs=3", "envs.test.0=log_falsification"])
    assert cfg.eval.inspect[1].epochs == 3 and cfg.eval.inspect[0].epochs == 1
    assert cfg.envs.test[0] == "log_falsification"
    with pytest.raises(ConfigError, match=r"eval.inspect has 2 items \(indices 0 to 1\)"):
        config_from_dict(raw, ["eval.inspect.2.epochs=1"])
    with pytest.raises(ConfigError, match="eval.inspect is a list: index it with a number"):
        config_from_dict(raw, ["eval.inspect.first.epochs=1"])
    with pytest.raises(ConfigError, match=r"envs.train is not in the config file.*envs.train='\[...\]'"):
        config_from_dict(raw, ["envs.train.0=covert_rule_violation"])
    with pytest.raises(ConfigError, match=r"sft.max_steps is 7, not a mapping or list"):
        config_from_dict({**BASE, "sft": {"max_steps": 7}}, ["sft.max_steps.x=1"])


def test_a_whole_section_can_be_replaced_on_the_command_line():
    raw = {**BASE, "data": {"teacher": {"name_or_path": "served", "backend": "openai",
                                        "endpoint": {"base_url": "http://h:8000/v1"}}}}
    probs = _problems(raw, ["data.teacher.backend=transformers"])
    assert any(p.startswith("data.teacher.endpoint: only used with backend 'openai'") for p in probs)
    cfg = config_from_dict(raw, ["data.teacher={name_or_path: local/model, backend: transformers}"])
    assert cfg.data.teacher.backend == "transformers" and cfg.data.teacher.endpoint is None
    cfg = config_from_dict(raw, ["data.teacher.backend=transformers", "data.teacher.endpoint=null"])
    assert cfg.data.teacher.endpoint is None


def test_shipped_experiments_validate():
    for path in sorted((ROOT / "configs/experiments").glob("*.yaml")):
        load_config(path)


def test_long_local_generation_is_announced_before_it_starts(capsys):
    """Under the cap but hours on a CPU: validate (and every stage command) says so up front."""
    from deliberate.config.sizes import LARGE, size_notes

    demo = load_config("configs/experiments/demo.yaml")
    assert size_notes(demo) == []
    big = load_config("configs/experiments/demo.yaml", ["data.scenarios_per_family=5000"])
    (note,) = size_notes(big)
    assert note.startswith("data.scenarios_per_family: 40,") and " h or more" in note
    assert 5000 * 2 * 4 > LARGE
    assert cli(["validate", "--no-paths", "configs/experiments/demo.yaml", "data.scenarios_per_family=5000"]) == 0
    assert "data.scenarios_per_family: 40," in capsys.readouterr().err
