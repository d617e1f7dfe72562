"""The one command line: ``deliberate run|data|sft|rl|durability|eval|report|validate|verify|config|envs``.

    deliberate run configs/experiments/demo.yaml              # every stage; finished ones are skipped
    deliberate sft configs/experiments/demo.yaml sft.max_steps=20
    deliberate validate configs/experiments/demo.yaml          # check a config, run nothing
    deliberate plan EXP.yaml --gpus 8 --gpu-memory 80 --accelerate configs/accelerate/zero3.yaml  # will it fit?
    deliberate verify runs/demo/data                           # files, record hashes + Merkle root vs the manifest
    deliberate config configs/experiments/demo.yaml data.teacher.name_or_path   # one resolved value
    deliberate envs list
    deliberate envs show covert_rule_violation --seed 3
    deliberate monitor configs/monitor/example.yaml --input prod.jsonl   # tripwires over production transcripts
    deliberate classify reasoning.jsonl --out classified.jsonl   # awareness, covert intent, citation per record

Training stages run unchanged under ``accelerate launch -m deliberate.cli sft EXP.yaml``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

from deliberate.errors import UserError

log = logging.getLogger("deliberate")

# stage -> the module whose main(cfg, force) runs it, in pipeline order
STAGE_MODULES = {
    "data": "deliberate.data.generate",
    "sft": "deliberate.training.sft",
    "rl": "deliberate.training.rl",
    "durability": "deliberate.training.durability",
    "eval": "deliberate.eval.evaluate",
    "report": "deliberate.eval.report.report",
}
STAGES = tuple(STAGE_MODULES)
MAX_ERROR_CHARS = 4000  # an error printed by the CLI is cut here


def _stage_main(stage: str):
    return importlib.import_module(STAGE_MODULES[stage]).main


def _load(args):
    from deliberate.config import load_config

    return load_config(args.config, args.overrides)


def _check_inputs(cfg, stages, source: str, hint: str = "") -> None:
    """Every path the stages to run name, and the output folder, before any work (config/paths.py)."""
    from deliberate.config import ConfigError
    from deliberate.config.paths import output_dir_problems, path_problems

    problems = output_dir_problems(cfg) + path_problems(cfg, stages)
    if problems:
        raise ConfigError(problems + ([hint] if hint else []), source)


def _size_notes(cfg) -> None:
    from deliberate.config.sizes import size_notes

    for note in size_notes(cfg):
        log.warning("%s", note)


def cmd_stage(args) -> int:
    cfg = _load(args)
    _size_notes(cfg)
    stages = STAGES if args.command == "run" else (args.command,)
    _check_inputs(cfg, [s for s in stages if s not in ("sft", "rl", "durability") or getattr(cfg, s).enabled]
                  + (["safety_case"] if getattr(args, "safety_case", False) else []), args.config)
    for stage in stages:
        if stage in ("sft", "rl", "durability") and not getattr(cfg, stage).enabled:
            if args.command == stage:
                raise UserError(f"deliberate {stage}: {stage}.enabled is false in {args.config}; "
                                f"set {stage}.enabled=true")
            log.info("[%s] disabled (%s.enabled: false), skipping", stage, stage)
            continue
        _stage_main(stage)(cfg, force=args.force)
    if getattr(args, "safety_case", False):
        from deliberate.eval.report.safety_case import write

        write(cfg)
    return 0


def cmd_verify(args) -> int:
    from deliberate.provenance import verify_stage

    summary = verify_stage(args.directory)
    files = f"{summary['files']} files match the manifest"
    if "records" not in summary:
        print(f"{args.directory}: ok, {files}")
        return 0
    splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
    print(f"{args.directory}: ok, {summary['records']} records ({splits}), Merkle root {summary['merkle_root']}, "
          f"{files}")
    return 0


def cmd_config_get(args) -> int:
    """Print one resolved config value (for shell launchers: no grep/awk of YAML)."""
    from deliberate.config import to_dict

    node = to_dict(_load(args))
    for key in args.key.split("."):
        if not isinstance(node, dict) or key not in node:
            raise UserError(f"{args.key}: no such config key")
        node = node[key]
    print(json.dumps(node) if isinstance(node, (dict, list)) else ("" if node is None else node))
    return 0


def cmd_validate(args) -> int:
    cfg = _load(args)
    if not args.no_paths:
        _check_inputs(cfg, None, args.config, hint="(paths are checked on this machine; for a config meant for "
                      "another machine, `deliberate validate --no-paths` checks the config alone)")
    if cfg.eval.inspect:  # imports and loads each Inspect task: what the eval stage would refuse
        from deliberate.eval.inspect.source import check

        check(cfg)
    _size_notes(cfg)
    print(f"{args.config}: ok (experiment {cfg.name!r}, output {cfg.output_dir})")
    return 0


def cmd_plan(args) -> int:
    """Stages, tokens and GPU memory per stage, from config.json files only; exit 1 when it will not fit."""
    from deliberate.plan import make_plan

    plan = make_plan(_load(args), gpus=args.gpus, gpu_memory_gb=args.gpu_memory, accelerate=args.accelerate,
                     source=args.config)
    print(plan.render())
    return 0 if plan.fits else 1


def cmd_envs(args) -> int:
    from deliberate.envs.core import SPLITS_BY_SUITE, get_family, load_builtin_families
    from deliberate.rollout import protocol_text

    if args.load:
        from deliberate.envs.declarative import load_family_path

        for path in args.load:
            load_family_path(path)

    if args.envs_command == "export-inspect":
        import os

        try:
            from deliberate.eval.inspect.tasks import export_inspect
        except ImportError as exc:
            raise UserError(f"export-inspect needs Inspect AI ({exc}); pip install -e '.[inspect]'") from exc
        cues = [c for c in args.cues.split(",") if c]
        path = export_inspect(args.families, args.out, cues=cues, scenarios=args.scenarios, seed=args.seed)
        shown = os.path.relpath(path)  # Inspect globs a task file without @task relative to the cwd
        print(f"wrote {path}\n  inspect eval {shown} --model MODEL -T cue={cues[0] if cues else 'eval'}")
        return 0
    if args.envs_command == "list":
        from deliberate.envs.contamination import scenario_count

        fams = load_builtin_families()
        seeds = range(args.seeds)
        print(f"{'family':30} {'suite':8} {'splits':25} {'category':28} {'cues':12} scenarios (distinct of "
              f"{args.seeds} seeds)")
        for name in sorted(fams, key=lambda n: (fams[n].suite, n)):
            f = fams[name]
            split = SPLITS_BY_SUITE[f.suite][0]
            count = scenario_count(f, split, f.cues[0], seeds)
            print(f"{name:30} {f.suite:8} {','.join(SPLITS_BY_SUITE[f.suite]):25} {f.category:28} "
                  f"{','.join(f.cues):12} {count}")
        return 0
    fam = get_family(args.family)
    split = args.split or SPLITS_BY_SUITE[fam.suite][0]
    cue = args.cue or fam.cues[0]
    sc = fam.sample(args.seed, split, cue)
    if args.json:
        print(json.dumps({"id": sc.id, "system": sc.system, "user": sc.user, "expected": sc.expected,
                          "tools": [t.schema() for t in sc.tools], "state": sc.state, "max_turns": sc.max_turns,
                          "content_hash": sc.content_hash()}, indent=2, default=str))
        return 0
    print(f"# {sc.id}  (expected: {sc.expected}, max_turns: {sc.max_turns}, hash {sc.content_hash()[:12]})\n")
    print(f"## system\n{sc.system}\n\n{protocol_text(sc, 'json')}\n\n## user\n{sc.user}")
    return 0


def cmd_monitor(args) -> int:
    """Imports only what the configured detectors need (no torch unless a classifier runs)."""
    from deliberate.eval.monitor.config import load_monitor_config
    from deliberate.eval.monitor.run import main

    summary = main(load_monitor_config(args.config, args.overrides), state_dir=args.state_dir, inputs=args.input,
                   tune_malloc=True)
    print(summary["total"]["statement"])
    return 0


def cmd_classify(args) -> int:
    from deliberate.eval.classify import main

    return main(args)


COMMANDS = {"run": cmd_stage, **{stage: cmd_stage for stage in STAGES}, "validate": cmd_validate, "plan": cmd_plan,
            "verify": cmd_verify, "config": cmd_config_get, "envs": cmd_envs, "monitor": cmd_monitor,
            "classify": cmd_classify}


def setup_logging(verbosity: int) -> None:
    """One logging configuration for every command: INFO by default on stderr, ``-v`` DEBUG,
    ``-q`` WARNING only. Third-party libraries stay at WARNING unless ``-vv``."""
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    from deliberate.redact import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())  # no credential reaches a log line (deliberate/redact.py)
    handler.setFormatter(logging.Formatter("%(message)s" if verbosity < 1 else
                                           "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
    logging.getLogger("deliberate").setLevel(level)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deliberate", description=__doc__.split("\n")[0])
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log lines (-vv: libraries' too)")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    p.add_argument("--debug", action="store_true", help="a traceback for user errors too")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in [("run", "run every stage in order (finished stages are skipped)"),
                        ("data", "spec-conditioned teacher rollouts -> SFT dataset"),
                        ("sft", "supervised fine-tuning on the data stage's output"),
                        ("eval", "run models on the held-out test families"),
                        ("report", "write the Markdown report"),
                        ("rl", "GRPO in the train environments, rewarded by the environment grader"),
                        ("durability", "capability-only training after sft/rl; evaluated as model 'durable'"),
                        ("validate", "check a config without running anything")]:
        s = sub.add_parser(name, help=help_)
        s.add_argument("config", help="experiment YAML")
        s.add_argument("overrides", nargs="*", help="dotted overrides, e.g. sft.max_steps=20")
        if name != "validate":
            s.add_argument("--force", action="store_true", help="re-run even if the output is complete")
        else:
            s.add_argument("--no-paths", action="store_true",
                           help="skip checking the files and folders the config names (a config for another machine)")
        if name in ("report", "run"):
            s.add_argument("--safety-case", action="store_true",
                           help="also write a safety case per model (NIST AI RMF structure) from the run's files")
    pl = sub.add_parser("plan", help="stages, tokens and per-GPU memory of an experiment, and whether it fits "
                        "(no GPU, no weights)")
    pl.add_argument("config", help="experiment YAML")
    pl.add_argument("overrides", nargs="*", help="dotted overrides, e.g. sft.max_length=8192")
    pl.add_argument("--gpus", type=int, default=None, help="GPUs the training stages use (default: the accelerate "
                    "config's num_processes)")
    pl.add_argument("--gpu-memory", type=float, default=80.0, help="memory of each GPU in GB (default 80)")
    pl.add_argument("--accelerate", default=None, help="the accelerate config the training stages launch with "
                    "(default: configs/accelerate/single_gpu.yaml for one GPU, fsdp2.yaml for more)")
    v = sub.add_parser("verify", help="check a stage folder against its manifest: every file's hash, and a "
                                      "dataset's record hashes and Merkle root")
    v.add_argument("directory", help="a stage output folder (manifest.json beside it), e.g. runs/demo/data")
    g = sub.add_parser("config", help="print one resolved config value: deliberate config EXP.yaml KEY [overrides]")
    g.add_argument("config", help="experiment YAML")
    g.add_argument("key", help="dotted key, e.g. data.teacher.name_or_path")
    g.add_argument("overrides", nargs="*")
    e = sub.add_parser("envs", help="list, show or export (Inspect AI) environment families")
    esub = e.add_subparsers(dest="envs_command", required=True)
    lst = esub.add_parser("list", help="every family with suite, splits, category, cue variants and scenario count")
    lst.add_argument("--seeds", type=int, default=1000, help="count distinct scenarios over this many seeds")
    show = esub.add_parser("show", help="print one rendered scenario")
    show.add_argument("family")
    show.add_argument("--seed", type=int, default=0)
    show.add_argument("--cue", default=None)
    show.add_argument("--split", default=None)
    show.add_argument("--json", action="store_true")
    exp = esub.add_parser("export-inspect", help="write an Inspect AI task file, one @task per family")
    exp.add_argument("families", nargs="*", help="family names (default: every test-suite family)")
    exp.add_argument("--out", required=True, help="folder for deliberate_tasks.py")
    exp.add_argument("--cues", default="eval,deploy", help="comma-separated cue variants; the first is the default")
    exp.add_argument("--scenarios", type=int, default=8, help="default scenarios per task")
    exp.add_argument("--seed", type=int, default=1000, help="default first seed")
    exp.set_defaults(load=[])
    for sp in (lst, show):
        sp.add_argument("--load", action="append", default=[], metavar="PATH",
                        help="also load YAML/JSON/JSONL families from this file or folder (repeatable)")
    mon = sub.add_parser("monitor", help="tripwires and drift summaries over production transcripts (docs/monitor.md)")
    mon.add_argument("config", help="monitor YAML (top-level monitor:)")
    mon.add_argument("overrides", nargs="*", help="dotted overrides inside monitor:, e.g. window.transcripts=500")
    mon.add_argument("--input", action="append", default=None, metavar="FILE",
                     help="a JSONL or Inspect log to read (repeatable; replaces monitor.inputs)")
    mon.add_argument("--state-dir", default=None,
                     help="state, summary and default alert log (default: monitor.state_dir)")
    from deliberate.eval.classify import add_parser

    add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "monitor":  # dotted overrides may follow --input
        args.overrides += [x for x in extra if "=" in x and not x.startswith("-")]
        extra = [x for x in extra if x not in args.overrides]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    setup_logging(-1 if args.quiet else args.verbose)
    try:
        return COMMANDS[args.command](args)
    except (UserError, FileNotFoundError, PermissionError) as exc:  # a path the user gave is theirs to fix
        if args.debug:
            raise
        from deliberate.redact import redact

        text = redact(str(exc))  # before the cut, so no part of a key survives it
        if len(text) > MAX_ERROR_CHARS:  # e.g. a value echoed back: never megabytes on the terminal
            text = f"{text[:MAX_ERROR_CHARS]}... ({len(text) - MAX_ERROR_CHARS} characters left out; --debug shows all)"
        print(f"error: {text}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
