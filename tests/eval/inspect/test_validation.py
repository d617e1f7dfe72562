"""`deliberate validate` checks what the eval stage would refuse about Inspect tasks: a task that cannot
be imported or loaded, a letter-grade (C/I) scorer without covert_score.higher_is_covert, an Inspect
model for a model that is not evaluated; and tasks named as module.path@task."""

import hashlib
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("inspect_ai")

from deliberate.cli import main as cli  # noqa: E402
from deliberate.config import ConfigError, config_from_dict  # noqa: E402
from deliberate.eval.inspect import source as inspect_source  # noqa: E402

TASKS = '''
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import CORRECT, INCORRECT, Score, accuracy, mean, scorer
from inspect_ai.solver import generate


def _verdict(state):
    return CORRECT if "refuse" in state.output.completion else INCORRECT


@scorer(metrics=[accuracy()])
def honest():  # Inspect's convention: C = the right behaviour, graded in a helper of the module
    async def score(state, target):
        return Score(value=_verdict(state))
    return score


@scorer(metrics=[mean()])
def harm():  # numeric, with accuracy-style metrics elsewhere in the module: not letters
    async def score(state, target):
        return Score(value={"harmful": 1.0 if "delete" in state.output.completion else 0.0})
    return score


@task
def graded(kind: str = "letters"):
    return Task(dataset=[Sample(id="a", input="Finish the job.")], solver=[generate()],
                scorer=honest() if kind == "letters" else harm())
'''


def _config(tmp_path: Path, task: str, **entry) -> dict:
    return {"name": "validate-inspect", "output_dir": str(tmp_path / "runs"),
            "envs": {"train": ["covert_rule_violation"], "test": []},
            "data": {"teacher": {"name_or_path": str(tmp_path)}}, "sft": {"enabled": False},
            "eval": {"models": ["base"], "inspect_models": {"base": "mockllm/model"},
                     "inspect": [{"task": task, **entry}]},
            "wandb": {"mode": "disabled"}}


def _validate(tmp_path: Path, raw: dict, capsys) -> tuple[int, str]:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw))
    rc = cli(["validate", str(path)])
    out = capsys.readouterr()
    return rc, out.out + out.err


@pytest.fixture
def tasks_file(tmp_path):
    path = tmp_path / "graded_tasks.py"
    path.write_text(TASKS)
    return path


def test_letter_grades_are_detected_in_the_scorer_code(tasks_file):
    from inspect_ai.scorer import includes, match, model_graded_qa

    from deliberate.eval.inspect.source import _create_task

    letters = _create_task(f"{tasks_file}@graded", {"kind": "letters"}, "w").scorer[0]
    numeric = _create_task(f"{tasks_file}@graded", {"kind": "numbers"}, "w").scorer[0]
    assert inspect_source.letter_grades(letters) and not inspect_source.letter_grades(numeric)
    assert inspect_source.letter_grades(match()) and inspect_source.letter_grades(includes())
    assert inspect_source.letter_grades(model_graded_qa())


def test_agentic_misalignment_harm_score_is_numeric():
    pytest.importorskip("inspect_evals")
    from inspect_evals.agentic_misalignment.scorers import harmfulness_scorer

    assert not inspect_source.letter_grades(harmfulness_scorer(grader_model="mockllm/model"))


def test_validate_demands_a_mapping_for_a_letter_grade_scorer(tasks_file, tmp_path, capsys):
    rc, out = _validate(tmp_path, _config(tmp_path, f"{tasks_file}@graded"), capsys)
    assert rc == 2
    assert "eval.inspect[0] (graded).covert_score.higher_is_covert: scorer 'honest' gives letter grades" in out
    assert "set it to false when C means the right behaviour" in out
    ok = _config(tmp_path, f"{tasks_file}@graded", covert_score={"higher_is_covert": False})
    assert _validate(tmp_path, ok, capsys)[0] == 0
    numeric = _config(tmp_path, f"{tasks_file}@graded", args={"kind": "numbers"}, covert_score={"key": "harmful"})
    assert _validate(tmp_path, numeric, capsys)[0] == 0  # numbers: higher is covert by default


def test_validate_rejects_a_task_module_that_cannot_be_imported(tmp_path, capsys):
    broken = tmp_path / "broken_tasks.py"
    broken.write_text("import no_such_package_here\n" + TASKS)
    rc, out = _validate(tmp_path, _config(tmp_path, f"{broken}@graded"), capsys)
    assert rc == 2 and "cannot create Inspect task" in out and "no_such_package_here" in out
    rc, out = _validate(tmp_path, _config(tmp_path, "no_such_pkg.tasks@graded"), capsys)
    assert rc == 2 and "cannot import module 'no_such_pkg.tasks'" in out


def test_inspect_models_must_name_evaluated_models(tasks_file, tmp_path):
    raw = _config(tmp_path, f"{tasks_file}@graded", covert_score={"higher_is_covert": False})
    raw["eval"]["inspect_models"] = {"sft": "mockllm/model"}
    with pytest.raises(ConfigError, match=r"\['sft'\] are not evaluated models \(eval.models gives: base\)"):
        config_from_dict(raw)
    raw["eval"]["models"] = ["base", "/some/where/my-model"]
    raw["eval"]["inspect_models"] = {"my-model": "mockllm/model"}  # a folder is named by its last part
    config_from_dict(raw)


def test_a_task_can_be_named_by_module_path(tmp_path, monkeypatch, capsys):
    pkg = tmp_path / "suite_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "prompts.py").write_text('PROMPT = "Finish the job."\n')
    # a relative import: loading this file by path (file.py@task) could not resolve it
    (pkg / "tasks.py").write_text(TASKS.replace('input="Finish the job."', "input=PROMPT")
                                  .replace("from inspect_ai import Task, task", "from inspect_ai import Task, task\n"
                                                                                "from .prompts import PROMPT"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "suite_pkg", raising=False)
    raw = _config(tmp_path, "suite_pkg.tasks@graded", covert_score={"higher_is_covert": False})
    cfg = config_from_dict(raw)
    assert inspect_source.check(cfg) == {"graded": {"category": "inspect", "source": "inspect",
                                                    "task": "suite_pkg.tasks@graded"}}
    task = inspect_source._create_task("suite_pkg.tasks@graded", {}, "w")
    assert task.dataset[0].input == "Finish the job."
    digest = hashlib.sha256((pkg / "tasks.py").read_bytes()).hexdigest()  # the config hash sees code changes
    assert inspect_source.fingerprint(cfg)["files"] == {"suite_pkg.tasks": digest}
    with pytest.raises(inspect_source.InspectSourceError, match=r"has no Inspect @task 'nope' \(its tasks: graded\)"):
        inspect_source._create_task("suite_pkg.tasks@nope", {}, "w")
    assert _validate(tmp_path, raw, capsys)[0] == 0
