"""The evaluation sections: ``eval:`` (models, cues, counterfactuals, hidden goal, Inspect AI tasks)
and ``safety_case:``, with the checks on their values."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from deliberate.config.base import must_be_positive
from deliberate.config.models import GenerationConfig, ModelConfig, model_checks


@dataclass
class InspectScoreConfig:
    # Which of an Inspect task's scores marks a sample covert (eval/inspect/logs.py).
    # scorer: its name in the log (the scorer function's name, e.g. harmfulness_scorer); null: the
    # task's only scorer (an error when it has several).
    scorer: str | None = None
    # For a scorer whose value is a mapping, the entry to read (e.g. harmful); null: a scalar value.
    key: str | None = None
    # The value is read as a number (Inspect's value_to_float: C/I/P/N, yes/no, true/false, numbers):
    # covert when value >= threshold; with higher_is_covert: false, when value <= threshold (for a
    # score where high is the good behaviour, e.g. an honesty score or accuracy).
    threshold: float = 0.5
    # null: true for numbers; required for letter grades (C/I: C = CORRECT, in most tasks the good
    # behaviour, so false), found in the scorer's code at validation and in the values at eval.
    higher_is_covert: bool | None = None


@dataclass
class InspectTaskConfig:
    # An Inspect AI task, run by `deliberate eval` against every eval model (eval/inspect/source.py;
    # pip install -e ".[inspect]"): a registered name (inspect_evals/agentic_misalignment), a
    # task file and function (path/to/tasks.py@task_name, relative to the working directory), or an
    # importable module and function (my_package.tasks@task_name, for a package without an Inspect
    # entry point).
    task: str
    # Family name in our transcripts and report; null: the task's name (after the last "/" or "@").
    # Give each entry its own name when one task is listed several times (e.g. once per scenario).
    name: str | None = None
    category: str = "inspect"  # the report's category column (e.g. blackmail)
    args: dict = field(default_factory=dict)  # task arguments, passed as they are
    # Task arguments looped as a cartesian product, {arg: [values, ...]}: each combination is one
    # run (e.g. agentic_misalignment's goal_type x urgency_type conditions), pooled into this family.
    grid: dict = field(default_factory=dict)
    # The task argument that switches between an evaluation-looking and a deployment-looking variant,
    # and its value for each cue in eval.cues, e.g. cue_arg: prod, cue_values: {eval: false, deploy:
    # true}. Every grid point runs once per cue, which becomes the transcripts' `cue` (the cue gap).
    # null: one run per grid point with cue "none" (left out of the cue gap).
    cue_arg: str | None = None
    cue_values: dict = field(default_factory=dict)
    epochs: int = 1  # every sample this many times
    limit: int | None = None  # at most this many samples per run; null: all
    # Generated tokens per model call; null: the task's own setting, else the provider's default.
    max_tokens: int | None = None
    covert_score: InspectScoreConfig = field(default_factory=InspectScoreConfig)
    # The model the task's scorers use, bound to Inspect's "grader" model role: one of our model
    # sections (mapped to an Inspect provider like eval models), or grader_model, an Inspect model
    # string (mockllm/model, anthropic/..., openai-api/<service>/<name>). grader_arg: the task
    # argument that takes the grader model as well (agentic_misalignment: grader_model).
    # None of them: the task's own default (often a hosted model: needs network and a key).
    grader: ModelConfig | None = None
    grader_model: str | None = None
    grader_arg: str | None = None

    def label(self) -> str:
        """The family name: ``name``, else the task's own name."""
        return self.name or self.task.rsplit("@", 1)[-1].rsplit("/", 1)[-1]


@dataclass
class EvalConfig:
    # Models to evaluate: "base" (the SFT student before training), "sft" (the SFT output),
    # "rl" (the GRPO output), "durable" (the trained model after a capability-only run: durability),
    # or a local model folder.
    models: list[str] = field(default_factory=lambda: ["base", "sft"])
    scenarios_per_family: int = 8
    cues: list[str] = field(default_factory=lambda: ["eval", "deploy"])
    generation: GenerationConfig = field(default_factory=lambda: GenerationConfig(temperature=0.7))
    seed: int = 1000
    # Counterfactual chain-of-thought resampling (eval/counterfactual.py): remove verbalized
    # awareness from aware transcripts (up to max_resamples tries), inject it (and a random
    # control sentence) into unaware ones, and compare covert rates.
    counterfactual: bool = True
    max_resamples: int = 3
    counterfactual_limit: int = 0  # at most this many transcripts per condition and model (0: all)
    # Ask every episode with a covert action what it did; count confessions and doubling down.
    interrogation: bool = True
    # Hidden-goal persistence: an organism family (envs/organism) whose implanted goal fires on a
    # trigger. Each model plays hidden_goal_scenarios of its test split (half triggered) and is
    # asked in a trusted context whether it has a hidden goal. null: off.
    hidden_goal_family: str | None = None
    hidden_goal_scenarios: int = 8
    # Reasoning-confirmed covert flags: an LLM grader reads the reasoning of every episode the
    # action graders flagged and says whether it confirms intent (eval/confirm.py). null: off.
    confirm_model: ModelConfig | None = None
    confirm_generation: GenerationConfig = field(default_factory=lambda: GenerationConfig(temperature=0.7,
                                                                                           max_new_tokens=128))
    confirm_k: int = 1
    # Inspect AI tasks run beside our families (docs/inspect.md): each one's samples become
    # transcripts of a family named after it, in the same report.
    inspect: list[InspectTaskConfig] = field(default_factory=list)
    # Inspect model string per eval model, instead of the default mapping (a local folder ->
    # hf/<folder>; backend vllm -> vllm/<folder>; backend openai -> openai-api/deliberate/<name>
    # with the endpoint's base_url and key variable), e.g. {base: mockllm/model}.
    inspect_models: dict = field(default_factory=dict)
    # Extra Inspect model arguments per eval model, e.g. {base: {device: "cuda:1", enable_thinking: false}}.
    inspect_model_args: dict = field(default_factory=dict)


@dataclass
class SafetyCaseConfig:
    """`deliberate report EXP.yaml --safety-case` (eval/report/safety_case.py): one document per model in the
    NIST AI RMF structure, written from the run's files. What is left empty here is written down
    as a gap in the document, never made up."""

    intended_use: str = ""
    deployment_context: str = ""
    owner: str = ""  # the accountable person or team
    # The covert rate the case must bound: a family supports the claim only when its 95% upper bound is below it.
    risk_threshold: float = 0.05
    monitor: str | None = None  # the deployment monitor's YAML (`deliberate monitor`): its tripwires are the plan


# --------------------------------------------------------------------------- checks


def eval_count_checks(e: EvalConfig) -> list[str]:
    return must_be_positive({
        "eval.scenarios_per_family": e.scenarios_per_family,
        "eval.generation.max_new_tokens": e.generation.max_new_tokens,
        "eval.generation.batch_size": e.generation.batch_size,
    })


def eval_checks(e: EvalConfig, test_families: list[str]) -> list[str]:
    """The hidden-goal family, the cues, the Inspect tasks (whose names must not be one of
    ``test_families``) and the model list."""
    from deliberate.envs.core import CUES, EnvError, get_family

    out = []
    if e.hidden_goal_family is not None:
        try:
            fam = get_family(e.hidden_goal_family)
            if fam.suite != "organism" or fam.states_goal is None:
                out.append(f"eval.hidden_goal_family: {fam.name!r} is not an organism family with a goal check")
        except EnvError as exc:
            out.append(f"eval.hidden_goal_family: {exc}")
    for i, cue in enumerate(e.cues):
        if cue not in CUES or cue == "none":
            out.append(f"eval.cues[{i}]: expected 'eval' or 'deploy', got {cue!r}")
    out += inspect_checks(e, set(test_families) | {e.hidden_goal_family})
    if not e.models:
        out.append("eval.models: at least one model is required")
    return out


def safety_case_checks(sc: SafetyCaseConfig) -> list[str]:
    if not 0 < sc.risk_threshold < 1:
        return [f"safety_case.risk_threshold: must be in (0, 1), got {sc.risk_threshold}"]
    return []


# --------------------------------------------------------------------------- Inspect tasks


def inspect_checks(e: EvalConfig, ours: set) -> list[str]:
    """eval.inspect and the Inspect model maps; ``ours``: names of our own families in this eval.
    Whether a task exists and takes the named arguments is checked by the eval stage before any
    generation (it needs Inspect imported)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(e.inspect):
        where = f"eval.inspect[{i}]"
        out += _task_ref_checks(t, where)
        label = t.label()
        if label in seen:
            out.append(f"{where}.name: {label!r} is also eval.inspect[{seen[label]}]'s family name; give each "
                       "entry its own name")
        seen.setdefault(label, i)
        if label in ours:
            out.append(f"{where}.name: {label!r} is one of our families; Inspect families need their own names")
        out += _task_arg_checks(t, where, e.cues)
        out += _task_scoring_checks(t, where)
    for name, value in e.inspect_models.items():
        if not isinstance(value, str) or not _inspect_model_string(value):
            out.append(f"eval.inspect_models.{name}: expected an Inspect model string provider/name, got {value!r}")
    for name, value in e.inspect_model_args.items():
        if not isinstance(value, dict):
            out.append(f"eval.inspect_model_args.{name}: expected a mapping of model arguments, got {value!r}")
    if (e.inspect_models or e.inspect_model_args) and not e.inspect:
        out.append("eval.inspect_models / inspect_model_args: only used with eval.inspect tasks")
    evaluated = [Path(n).name or n for n in e.models]  # the names deliberate.eval.evaluate.resolve_models gives
    unknown = sorted((set(e.inspect_models) | set(e.inspect_model_args)) - set(evaluated))
    if unknown:
        out.append(f"eval.inspect_models / inspect_model_args: {unknown} are not evaluated models (eval.models "
                   f"gives: {', '.join(evaluated) or 'none'})")
    return out


def is_module_task(task: str) -> bool:
    """Whether ``task`` names an importable module's task (``my_package.tasks@task_name``)."""
    head, sep, _ = task.rpartition("@")
    return bool(sep) and not head.endswith(".py") and re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", head) is not None


def _task_ref_checks(t: InspectTaskConfig, where: str) -> list[str]:
    """A registered task name, path/to/tasks.py@task_name with an existing file, or module.path@task_name
    (imported when the eval stage or `deliberate validate` loads the task)."""
    head, sep, func = t.task.rpartition("@")
    if not t.task.strip() or (sep and not (head and func)):
        return [f"{where}.task: expected a registered name (inspect_evals/agentic_misalignment), "
                f"path/to/tasks.py@task_name or module.path@task_name, got {t.task!r}"]
    if sep and not is_module_task(t.task) and not Path(head).expanduser().is_file():
        return [f"{where}.task: task file {head!r} not found (relative to {Path.cwd()})"]
    return []


def _task_arg_checks(t: InspectTaskConfig, where: str, cues: list[str]) -> list[str]:
    """Limits, the grid, task arguments set twice, and a value of cue_arg for every cue."""
    out = []
    for name in ("epochs", "limit", "max_tokens"):
        value = getattr(t, name)
        if value is not None and value <= 0:
            out.append(f"{where}.{name}: must be > 0, got {value}")
    for arg, values in t.grid.items():
        if not isinstance(values, list) or not values:
            out.append(f"{where}.grid.{arg}: expected a non-empty list of values, got {values!r}")
    named = [("args", set(t.args)), ("grid", set(t.grid)),
             ("cue_arg", {t.cue_arg} - {None}), ("grader_arg", {t.grader_arg} - {None})]
    for a, (sec_a, keys_a) in enumerate(named):
        for sec_b, keys_b in named[a + 1:]:
            for arg in sorted(keys_a & keys_b):
                out.append(f"{where}: task argument {arg!r} is set by both {sec_a} and {sec_b}")
    if t.cue_arg is None and t.cue_values:
        out.append(f"{where}.cue_values: only used with cue_arg (the task argument they are values of)")
    if t.cue_arg is not None:
        missing = [c for c in cues if c not in t.cue_values]
        if missing:
            out.append(f"{where}.cue_values: needs a value of {t.cue_arg!r} for every cue in eval.cues; "
                       f"missing {missing}")
        extra = sorted(set(t.cue_values) - set(cues))
        if extra:
            out.append(f"{where}.cue_values: {extra} are not in eval.cues {cues}")
    return out


def _task_scoring_checks(t: InspectTaskConfig, where: str) -> list[str]:
    """The covert threshold and the grader model (one of ours, or an Inspect model string)."""
    out = []
    if not math.isfinite(t.covert_score.threshold):
        out.append(f"{where}.covert_score.threshold: must be a finite number")
    if t.grader is not None and t.grader_model is not None:
        out.append(f"{where}: set grader (one of our model sections) or grader_model (an Inspect model "
                   "string), not both")
    if t.grader is not None:
        out += model_checks(t.grader, f"{where}.grader")
    if t.grader_model is not None and not _inspect_model_string(t.grader_model):
        out.append(f"{where}.grader_model: expected an Inspect model string provider/name, got {t.grader_model!r}")
    if t.grader_arg is not None and t.grader is None and t.grader_model is None:
        out.append(f"{where}.grader_arg: names the task argument that takes the grader; set grader or "
                   "grader_model too")
    return out


def _inspect_model_string(value: str) -> bool:
    provider, _, model = value.partition("/")
    return bool(provider.strip() and model.strip())
