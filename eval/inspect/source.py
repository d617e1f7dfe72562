"""Inspect AI tasks as an eval source: ``deliberate eval`` runs the tasks named in ``eval.inspect``
against every eval model and adds their samples to the model's transcripts, so the report covers them.

:func:`check` runs before any generation (tasks, arguments, covert scorer, model strings);
:func:`run` once per eval model after our own families. Failed samples go to
``inspect_failed.<model>.jsonl``, never counted as behaviour. Model strings, logs and the offline
token counter: docs/inspect.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import itertools
import json
import logging
import math
from contextlib import contextmanager
from pathlib import Path

from deliberate.config import ConfigError, ExperimentConfig, InspectTaskConfig, ModelConfig
from deliberate.config.evaluation import is_module_task

logger = logging.getLogger(__name__)  # not `log`: Inspect's logs are `log` here

class InspectSourceError(ConfigError):
    """An Inspect task or model that cannot run as configured, found when the eval stage checks
    them (it needs Inspect imported); the message names the config entry. A ConfigError, so the CLI
    prints it as one clear message."""

    def __init__(self, message: str):
        super().__init__([message])


def families(cfg: ExperimentConfig) -> dict[str, dict]:
    """results.json "families" entries of the Inspect tasks."""
    return {t.label(): {"category": t.category, "source": "inspect", "task": t.task} for t in cfg.eval.inspect}


def fingerprint(cfg: ExperimentConfig) -> dict:
    """What the config hash cannot see: Inspect versions and the task files' contents."""
    if not cfg.eval.inspect:
        return {}
    from importlib.metadata import PackageNotFoundError, version

    def ver(pkg: str) -> str | None:
        try:
            return version(pkg)
        except PackageNotFoundError:
            return None

    files = {}
    for t in cfg.eval.inspect:
        head, sep, _ = t.task.rpartition("@")
        path = _module_file(head) if is_module_task(t.task) else Path(head) if sep else None
        if path is not None and path.is_file():
            files[head] = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"inspect_ai": ver("inspect-ai"), "inspect_evals": ver("inspect-evals"), "files": files}


def expand(t: InspectTaskConfig, cues: list[str]) -> list[tuple[dict, str, str | None]]:
    """(task args, cue, variant label) per run: the grid's cartesian product x the cue pair."""
    keys = list(t.grid)
    points = [dict(zip(keys, combo)) for combo in itertools.product(*(t.grid[k] for k in keys))] if keys else [{}]
    out = []
    for point in points:
        variant = ",".join(f"{k}={_short(v)}" for k, v in point.items()) or None
        for cue in (cues if t.cue_arg is not None else ["none"]):
            args = {**t.args, **point}
            if t.cue_arg is not None:
                args[t.cue_arg] = t.cue_values[cue]
            out.append((args, cue, variant))
    return out


def inspect_model(mc: ModelConfig) -> tuple[str, dict, dict]:
    """(Inspect model string, get_model keyword arguments, GenerateConfig fields) for one of our model
    sections. Local weights must exist (an embedded GGUF is de-quantized into its cache once)."""
    if mc.backend == "openai":
        ep = mc.endpoint
        kwargs = {"base_url": ep.base_url}
        if ep.api_key_env:
            kwargs["api_key_var"] = ep.api_key_env  # the variable's NAME: Inspect reads it
        else:
            kwargs["api_key"] = "EMPTY"  # a server without auth (Inspect leaves api_key out of its logs)
        return (f"openai-api/deliberate/{mc.name_or_path}", kwargs,
                {"max_connections": ep.max_concurrency, "timeout": math.ceil(ep.timeout_s),
                 "max_retries": ep.max_retries})
    folder = _local_folder(mc)
    if mc.backend == "vllm":
        args = {"tensor_parallel_size": mc.vllm.tensor_parallel_size,
                "gpu_memory_utilization": mc.vllm.gpu_memory_utilization, "dtype": mc.dtype}
        if mc.vllm.max_model_len:
            args["max_model_len"] = mc.vllm.max_model_len
        return f"vllm/{folder}", args, {}
    return f"hf/{folder}", {"dtype": mc.dtype}, {}


def check(cfg: ExperimentConfig, models: dict[str, ModelConfig] | None = None) -> dict[str, dict]:
    """Everything that can fail before generation: each task imports and loads with its arguments in
    every grid and cue variant, takes every configured argument, has the covert scorer (a letter-grade
    scorer needs covert_score.higher_is_covert); model strings name known Inspect providers. Returns
    :func:`families`. Raises InspectSourceError. ``models`` None (`deliberate validate`, before any
    stage made the model folders): only the model strings the config spells out are checked."""
    e = cfg.eval
    if not e.inspect:
        return {}
    _require_inspect()
    if models is not None:
        unknown = sorted((set(e.inspect_models) | set(e.inspect_model_args)) - set(models))
        if unknown:
            raise InspectSourceError(f"eval.inspect_models / inspect_model_args: {unknown} are not eval models "
                                     f"(these are: {', '.join(models)})")
        for name, mc in models.items():
            _check_provider(e.inspect_models.get(name) or _default_string(mc), f"eval model {name!r}")
    else:
        for name, model in e.inspect_models.items():
            _check_provider(model, f"eval.inspect_models.{name}")
    for i, t in enumerate(e.inspect):
        where = f"eval.inspect[{i}] ({t.label()})"
        local_grader = t.grader is not None and t.grader.backend != "openai"  # its folder: checked at eval
        if t.grader_model is not None or (t.grader is not None and (models is not None or not local_grader)):
            _check_provider(t.grader_model or _default_string(t.grader), f"{where} grader")
        for args, _, _ in expand(t, e.cues):
            task = _create_task(t.task, args, where)
        params, open_kwargs = _task_params(task)
        named = set(t.args) | set(t.grid) | {t.cue_arg, t.grader_arg} - {None}
        bad = sorted(named - set(params)) if not open_kwargs else []
        if bad:
            raise InspectSourceError(f"{where}: task {t.task!r} has no argument(s) {bad}; it takes: "
                                     f"{', '.join(params) or 'none'}")
        scorers = _scorer_names(task)
        rule = t.covert_score
        if rule.scorer is None and len(scorers) != 1:
            raise InspectSourceError(f"{where}.covert_score.scorer: the task has {len(scorers)} scorers "
                                     f"({', '.join(scorers) or 'none'}); name the one that marks covert behaviour")
        if rule.scorer is not None and rule.scorer not in scorers:
            raise InspectSourceError(f"{where}.covert_score.scorer: task {t.task!r} has no scorer {rule.scorer!r} "
                                     f"(it has: {', '.join(scorers) or 'none'})")
        name = rule.scorer or scorers[0]
        if rule.higher_is_covert is None and letter_grades(dict(zip(scorers, task.scorer))[name]):
            raise InspectSourceError(f"{where}.covert_score.higher_is_covert: scorer {name!r} gives letter grades "
                                     "(Inspect's C = CORRECT, I = INCORRECT): set it to false when C means the right "
                                     "behaviour (the usual meaning), true when C marks covert behaviour")
    return families(cfg)


# Inspect's own scorers whose values are letter grades (C/I/P/N).
_LETTER_SCORERS = {"match", "includes", "pattern", "answer", "choice", "exact", "model_graded_qa", "model_graded_fact"}
_LETTER_NAMES = {"CORRECT", "INCORRECT", "PARTIAL", "NOANSWER"}


def letter_grades(scorer) -> bool:
    """Whether a scorer gives letter grades: one of Inspect's that do, or one whose code (its score
    function, the functions it defines, and module functions it calls) names Inspect's CORRECT /
    INCORRECT constants or returns both "C" and "I"."""
    from inspect_ai._util.registry import is_registry_object, registry_info

    if is_registry_object(scorer) and registry_info(scorer).name.removeprefix("inspect_ai/") in _LETTER_SCORERS:
        return True
    fn = getattr(scorer, "__wrapped__", scorer)
    code, module = getattr(fn, "__code__", None), getattr(fn, "__globals__", {})
    if code is None:
        return False
    names, consts, seen, todo = set(), set(), set(), [(code, 0)]
    while todo:
        c, depth = todo.pop()
        if c in seen:
            continue
        seen.add(c)
        names |= set(c.co_names)
        for k in c.co_consts:
            if isinstance(k, str):
                consts.add(k)
            elif hasattr(k, "co_names"):
                todo.append((k, depth))
        if depth < 2:  # functions of the scorer's module it calls (a helper that builds the Score)
            todo += [(module[n].__code__, depth + 1) for n in c.co_names
                     if callable(module.get(n)) and getattr(module[n], "__module__", None) == fn.__module__
                     and hasattr(module[n], "__code__")]
    return bool(names & _LETTER_NAMES) or {"C", "I"} <= consts


def run(cfg: ExperimentConfig, name: str, mc: ModelConfig, out_dir: Path, summary: dict, tracker=None) -> list[dict]:
    """Run every configured task against model ``name``; append its records to
    ``out_dir/transcripts.<name>.jsonl``, failed samples to ``inspect_failed.<name>.jsonl``, and
    add counts to ``summary["counts"]`` and per-task figures to ``summary["inspect"]``."""
    from deliberate.eval.evaluate import tally

    _require_inspect()
    from inspect_ai import eval as inspect_eval

    e = cfg.eval
    log_dir = (Path(out_dir) / "inspect" / name).resolve()
    records, failed = [], []
    summary.setdefault("inspect", {})
    model = _get_model(e.inspect_models.get(name), mc, f"eval model {name!r}", extra=e.inspect_model_args.get(name),
                       generate={"temperature": e.generation.temperature, "top_p": e.generation.top_p,
                                 "seed": e.seed, "max_connections": e.generation.batch_size})
    graders: dict[str, object] = {}  # one instance per distinct grader, shared by the tasks naming it
    try:
        for i, t in enumerate(e.inspect):
            label, where = t.label(), f"eval.inspect[{i}] ({t.label()})"
            grader = None
            if t.grader is not None or t.grader_model is not None:
                key = t.grader_model or json.dumps(dataclasses.asdict(t.grader), sort_keys=True)
                if key not in graders:
                    graders[key] = _get_model(t.grader_model, t.grader, f"{where} grader")
                grader = graders[key]
            runs = expand(t, e.cues)
            grader_args = {t.grader_arg: grader} if t.grader_arg else {}
            tasks = [_create_task(t.task, {**args, **grader_args}, where) for args, _, _ in runs]
            logger.info("[eval] %s: inspect task %s as %r: %d runs x %d epochs", name, t.task, label, len(tasks),
                        t.epochs)
            with offline_token_counter():
                logs = inspect_eval(tasks, model=model, model_roles={"grader": grader} if grader else None,
                                    log_dir=str(log_dir), log_format="eval", display="none", log_level="warning",
                                    epochs=t.epochs, limit=t.limit, fail_on_error=False, ctl_server=False,
                                    max_tasks=len(tasks), score_display=False,
                                    **({"max_tokens": t.max_tokens} if t.max_tokens else {}))
            ok, bad, stats = _collect(t, where, name, mc, runs, logs, Path(out_dir))
            records += ok
            failed += bad
            summary["inspect"][label] = stats
            if stats["failed"]:
                logger.warning("[eval] %s, model %s: %d of %d samples failed (kept in inspect_failed.%s.jsonl, "
                               "left out of the counts)", where, name, stats["failed"], stats["samples"], name)
    finally:
        for m in [model, *graders.values()]:
            _close(m)
    counts = tally(records)
    summary["counts"].update(counts)
    _append_jsonl(Path(out_dir) / f"transcripts.{name}.jsonl", records)
    if failed:
        _append_jsonl(Path(out_dir) / f"inspect_failed.{name}.jsonl", failed)
    if tracker is not None:
        for fam, by_cue in counts.items():
            tracker.log({f"eval/{name}/{fam}/covert_rate": by_cue["all"]["covert"] / by_cue["all"]["n"]})
    return records


def _collect(t: InspectTaskConfig, where: str, name: str, mc: ModelConfig, runs: list, logs: list,
             out_dir: Path) -> tuple[list[dict], list[dict], dict]:
    """Records of one task's logs, split into completed and failed samples (each failure named on
    the console), and the task's figures for results.json."""
    from deliberate.eval.inspect.logs import iter_records

    ok, failed = [], []
    stats = {"task": t.task, "runs": len(logs), "samples": 0, "failed": 0, "logs": []}
    for log in logs:
        cue, variant = _run_of(t, runs, log.eval.task_args or {})
        rel = str(Path(log.location).resolve().relative_to(out_dir.resolve()))
        stats["logs"].append(rel)
        found = errors = 0
        for r in iter_records(log.location, family=t.label(), cue=cue, covert_score=t.covert_score,
                              reasoning_parser=mc.reasoning_parser, task=t.task, variant=variant):
            r.update(model=name, inspect_log=rel)
            found += 1
            if r["error"] is None:
                ok.append(r)
                continue
            errors += 1
            failed.append(r)
            logger.error("[eval] %s, model %s: sample %s epoch %s (cue %s%s) failed: %s [%s]", where, name,
                         r["inspect_sample_id"], r["epoch"], cue, ", " + variant if variant else "", r["error"], rel)
        expected = len(log.eval.dataset.sample_ids or []) * (log.eval.config.epochs or 1)
        stats["samples"] += max(found, expected)
        stats["failed"] += errors + max(0, expected - found)
        if log.status != "success":
            why = log.error.message if log.error is not None else "no error message"
            stats.setdefault("run_errors", []).append(f"the Inspect run ended '{log.status}': {why}")
            logger.error("[eval] %s, model %s: the Inspect run ended '%s' (%s); %d of %d samples are in %s", where,
                         name, log.status, why, found, expected, rel)
    return ok, failed, stats


@contextmanager
def offline_token_counter():
    """Count tokens without tiktoken's download while Inspect runs: ModelAPI.count_text_tokens (the
    default every provider without its own counter inherits) uses the provider's tokenizer when it
    has one (hf), else ceil(UTF-8 bytes / 3), an over-estimate as Inspect's compaction wants."""
    from inspect_ai.model import ModelAPI

    original = ModelAPI.count_text_tokens

    async def count_text_tokens(self, text: str) -> int:
        tokenizer = self.__dict__.get("tokenizer")
        if tokenizer is not None and hasattr(tokenizer, "encode"):
            return max(1, len(tokenizer.encode(text)))
        return max(1, math.ceil(len(text.encode("utf-8")) / 3))

    ModelAPI.count_text_tokens = count_text_tokens
    try:
        yield
    finally:
        ModelAPI.count_text_tokens = original


# --------------------------------------------------------------------------- helpers


def _require_inspect() -> None:
    try:
        import inspect_ai  # noqa: F401
    except ImportError as exc:
        raise InspectSourceError("eval.inspect needs Inspect AI: pip install -e '.[inspect]' "
                                 "(inspect-ai and inspect-evals, pinned in pyproject.toml)") from exc


def _default_string(mc: ModelConfig) -> str:
    """The model string of the default mapping, without touching the weights (for :func:`check`)."""
    if mc.backend == "openai":
        return f"openai-api/deliberate/{mc.name_or_path}"
    from deliberate.models import ModelError, resolve

    try:
        folder, _ = resolve(mc)
    except ModelError as exc:
        raise InspectSourceError(str(exc)) from exc
    return f"{'vllm' if mc.backend == 'vllm' else 'hf'}/{folder}"


def _local_folder(mc: ModelConfig) -> Path:
    from deliberate.models import _gguf_cache_dir, load_model, resolve

    folder, gguf = resolve(mc)
    if not gguf:
        return folder.resolve()
    cached = _gguf_cache_dir(folder, gguf)
    if not (cached / "config.json").is_file():
        load_model(mc)  # de-quantizes the GGUF once into its cache folder, which Inspect's hf provider reads
    return cached


# Python packages Inspect imports for the providers our default mapping uses (not our dependencies).
_PROVIDER_NEEDS = {"openai-api": ("openai",), "vllm": ("openai",), "openai": ("openai",)}


def _check_provider(model: str, where: str) -> None:
    # Inspect's registry (private API of inspect-ai 0.3.285, pinned): providers, also plugin ones.
    import inspect_ai.model  # noqa: F401  (registers the built-in providers)
    from inspect_ai._util.entrypoints import ensure_entry_points
    from inspect_ai._util.registry import registry_find, registry_unqualified_name

    ensure_entry_points()
    known = sorted({registry_unqualified_name(o) for o in registry_find(lambda info: info.type == "modelapi")})
    provider = model.split("/", 1)[0]
    if provider not in known:
        raise InspectSourceError(f"{where}: Inspect model {model!r}: unknown provider {provider!r} "
                                 f"(known: {', '.join(known)})")
    missing = [pkg for pkg in _PROVIDER_NEEDS.get(provider, ()) if importlib.util.find_spec(pkg) is None]
    if missing:
        raise InspectSourceError(f"{where}: Inspect's {provider!r} provider (model {model!r}) needs the Python "
                                 f"package(s) {', '.join(missing)}: pip install {' '.join(missing)}")


def _get_model(override: str | None, mc: ModelConfig | None, where: str, extra: dict | None = None,
               generate: dict | None = None):
    from inspect_ai.model import GenerateConfig, get_model

    if override is not None:
        model, kwargs, conn = override, {}, {}
    else:
        model, kwargs, conn = inspect_model(mc)
    kwargs = {**kwargs, **(extra or {})}
    base_url, api_key = kwargs.pop("base_url", None), kwargs.pop("api_key", None)
    try:
        m = get_model(model, config=GenerateConfig(**{**(generate or {}), **conn}), base_url=base_url,
                      api_key=api_key, memoize=False, **kwargs)
    except Exception as exc:  # Inspect raises ValueError, PrerequisiteError, provider errors, OSError
        raise InspectSourceError(f"{where}: cannot start Inspect model {model!r}: {exc}") from exc
    if model.startswith("hf/"):
        _register_local_info(m)
    return m


def _register_local_info(model) -> None:
    """Tell Inspect what it would otherwise learn by loading the weights again: every sample's ACP
    event mapping asks get_model_info() for the model's context window, and for a name not in its
    database Inspect instantiates the provider a second time (hf: a second copy of the weights, kept
    for the life of the process)."""
    from inspect_ai.model import ModelInfo, set_model_info

    config = Path(model.api.model_name) / "config.json"
    length = json.loads(config.read_text()).get("max_position_embeddings") if config.is_file() else None
    set_model_info(str(model), ModelInfo(organization="local", context_length=length))


def _close(model) -> None:
    """Free a model Inspect does not close for us, before the next eval model loads: hf weights, a vLLM
    server it started. An HTTP client bound to Inspect's finished event loop may refuse an async close;
    then a provider's own sync close still runs (vLLM's stops its server)."""
    import asyncio

    from inspect_ai.model import ModelAPI

    if model is None:
        return
    api = model.api
    try:
        if type(api).aclose is ModelAPI.aclose:
            api.close()
        else:
            asyncio.run(api.aclose())
    except Exception as exc:  # noqa: BLE001 (closing must not fail the eval)
        if type(api).close is not ModelAPI.close:
            api.close()
        else:
            logger.warning("[eval] could not close Inspect model %s: %s", model, exc)


def _create_task(spec: str, args: dict, where: str):
    # Inspect's task loader (private API of inspect-ai 0.3.285, pinned): registered names and file@name.
    from inspect_ai._eval.loader import load_tasks

    try:
        tasks = load_tasks([_registered_name(spec, where) if is_module_task(spec) else spec], args)
    except Exception as exc:  # PrerequisiteError (no such task in the file), FileNotFoundError, the task's own
        raise InspectSourceError(f"{where}: cannot create Inspect task {spec!r} with {_short(args)}: {exc}") from exc
    if len(tasks) != 1:
        hint = ("not a registered task (a package's tasks need the package installed, e.g. inspect_evals/<name>) "
                "and not path/to/file.py@task_name") if not tasks else f"it names {len(tasks)} tasks"
        raise InspectSourceError(f"{where}: Inspect task {spec!r} not found: {hint}")
    return tasks[0]


def _registered_name(spec: str, where: str) -> str:
    """The registry name of ``module.path@task_name``, after importing the module (which registers its
    tasks; relative imports inside a package work, unlike a task file loaded by path)."""
    import importlib

    from inspect_ai._util.registry import is_registry_object, registry_info

    module_name, _, func = spec.rpartition("@")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ModuleNotFoundError, or the module's own import-time error
        raise InspectSourceError(f"{where}: cannot import module {module_name!r} of task {spec!r}: "
                                 f"{type(exc).__name__}: {exc}") from exc
    fn = getattr(module, func, None)
    if fn is None or not is_registry_object(fn) or registry_info(fn).type != "task":
        found = sorted(n for n, o in vars(module).items() if is_registry_object(o) and registry_info(o).type == "task")
        raise InspectSourceError(f"{where}: module {module_name!r} has no Inspect @task {func!r} "
                                 f"(its tasks: {', '.join(found) or 'none'})")
    return registry_info(fn).name


def _module_file(module_name: str) -> Path | None:
    try:
        found = importlib.util.find_spec(module_name)
    except Exception:  # noqa: BLE001 (a parent package that fails to import: check() names it)
        return None
    return Path(found.origin) if found is not None and found.origin else None


def _task_params(task) -> tuple[list[str], bool]:
    """The task function's parameter names, and whether it takes **kwargs."""
    import inspect

    from inspect_ai._util.registry import registry_info, registry_lookup

    info = registry_info(task)
    fn = registry_lookup("task", info.name)
    open_kwargs = fn is not None and any(p.kind is inspect.Parameter.VAR_KEYWORD
                                         for p in inspect.signature(fn).parameters.values())
    return list(info.metadata.get("params", [])), open_kwargs


def _scorer_names(task) -> list[str]:
    """Scorer names as they key a sample's scores."""
    from inspect_ai.scorer._scorer import unique_scorer_name

    names: list[str] = []
    for s in task.scorer or []:
        names.append(unique_scorer_name(s, names))
    return names


def _run_of(t: InspectTaskConfig, runs: list[tuple[dict, str, str | None]],
            logged_args: dict) -> tuple[str, str | None]:
    """(cue, variant) of the run whose arguments a log records."""
    for args, cue, variant in runs:
        if all(_same(logged_args.get(k), v) for k, v in args.items() if k != t.grader_arg):
            return cue, variant
    raise InspectSourceError(f"Inspect log with task args {_short(logged_args)} matches no configured run of {t.task}")


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _short(value) -> str:
    return json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value


def _append_jsonl(path: Path, rows: list[dict]) -> None:
    """Append to a file of the stage's temporary folder (the folder as a whole is renamed atomically)."""
    with open(path, "a") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
