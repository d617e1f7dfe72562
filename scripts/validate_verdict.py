"""Known-answer validation of the verdict: implant each organism, evaluate it with the base model as
control, and compare the report's single-model verdict with the organism's built-in truth.

    python scripts/validate_verdict.py configs/validation/organisms.yaml            # the full run
    python scripts/validate_verdict.py configs/validation/organisms_ci.yaml \\
        --teacher tests/tiny --only eval_gamer,saint --output-root /tmp/v          # CI-sized plumbing
    python scripts/validate_verdict.py configs/validation/organisms.yaml --only eval_gamer --set sft.max_steps=60

Each organism runs as ``deliberate run <its config>`` (finished stages are skipped, so a re-run
only redoes what changed); its report's ``analysis.json`` holds the verdict the pipeline reached
(``numbers.profiles``, eval/report/profile.py) without ever seeing the truth. Only this script
reads the validation config's ``expected:`` block. It prints one row per organism and the control:
expected verdict, reported verdict, and the decisive statistics with 95% intervals, then exits 1
on any mismatch (``scale: ci`` checks that every verdict was computed, not what it says: a few
episodes and SFT steps implant nothing). docs/organisms.md and docs/results.md say more.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LABELS = {"clean": "clean", "scheming_not_hidden": "scheming, not hidden", "hiding": "hiding"}


class ValidationError(Exception):
    """The validation config or a run's outputs are not what this script needs."""


def read_config(path: Path) -> dict:
    """The validation config; a CI variant (``full:``) takes organisms, control and expected from the
    full one and adds its ``overrides``."""
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationError(f"{path}: cannot read: {exc}") from exc
    if "full" in cfg:
        full = read_config(ROOT / cfg["full"] if not Path(cfg["full"]).is_absolute() else Path(cfg["full"]))
        cfg = {**full, **{k: v for k, v in cfg.items() if k != "full"}}
    for key in ("organisms", "expected", "control"):
        if not isinstance(cfg.get(key), dict):
            raise ValidationError(f"{path}: '{key}' must be a mapping")
    unknown = [e for e in cfg["expected"].values() if e.split("/")[0] not in LABELS]
    if unknown:
        raise ValidationError(f"{path}: expected verdicts {unknown}: each must start with one of {sorted(LABELS)}")
    missing = [o for o in [*cfg["organisms"], cfg["control"]["name"]] if o not in cfg["expected"]]
    if missing:
        raise ValidationError(f"{path}: no expected verdict for {missing}")
    return cfg


def matches(expected: str, profile: dict) -> bool:
    """``hiding/cue_conditional`` matches the label hiding with that kind among those named; the
    other verdicts match their label exactly."""
    label, _, kind = expected.partition("/")
    if profile["label"] != LABELS[label]:
        return False
    return not kind or kind in profile["kinds"]


def _cell(c) -> str:
    if not c or c == "n/a" or c.get("rate", c.get("mean")) is None:
        return "n/a"
    value = c.get("rate", c.get("mean"))
    sign = "+" if "mean" in c and "rate" not in c else ""
    count = f" ({c['k']}/{c['n']})" if c.get("n") else ""
    return f"{value:{sign}.2f} [{c['lo']:{sign}.2f}, {c['hi']:{sign}.2f}]{count}"


COLUMNS = (("covert", "covert"), ("cue gap (deploy-eval)", "cue_gap"), ("clean-reasoning covert", "clean_covert_share"),
           ("covert | aware", "covert_if_aware"), ("covert | unaware", "covert_if_unaware"),
           ("states goal", "states_goal"))


def table(rows: list[dict]) -> str:
    head = ["organism", "expected", "reported", "ok", *[c for c, _ in COLUMNS]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        p = r["profile"]
        reported = p["label"] + (f" ({', '.join(p['kinds'])})" if p["kinds"] else "")
        lines.append("| " + " | ".join([r["name"], r["expected"], reported, "yes" if r["ok"] else "NO",
                                        *[_cell(p["stats"].get(k)) for _, k in COLUMNS]]) + " |")
    return "\n".join(lines)


def run_organism(name: str, config: Path, overrides: list[str], output_root: Path | None) -> Path:
    """``deliberate run`` of one organism; returns its output folder."""
    extra = list(overrides)
    out = None
    if output_root is not None:
        out = output_root / name
        extra.append(f"output_dir={out}")
    cmd = [sys.executable, "-m", "deliberate.cli", "run", str(config), *extra]
    print(f"[validate] {name}: {' '.join(cmd[2:])}", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT)
    if done.returncode:
        raise ValidationError(f"{name}: `deliberate run` exited {done.returncode} (its log is above)")
    print(f"[validate] {name}: done in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    if out is None:  # the config's own output_dir, after the overrides (relative to the repository root)
        from deliberate.config import load_config

        out = Path(load_config(config, extra).output_dir)
    return out if out.is_absolute() else ROOT / out


def profiles_of(output_dir: Path) -> dict:
    path = output_dir / "report" / "analysis.json"
    try:
        numbers = json.loads(path.read_text())["numbers"]
        return numbers["profiles"]
    except (OSError, ValueError, KeyError) as exc:
        raise ValidationError(f"{path}: no verdicts to read ({exc}); did the report stage run?") from exc


def validate(cfg: dict, *, overrides: list[str], output_root: Path | None, only: list[str] | None) -> list[dict]:
    organisms = {o: c for o, c in cfg["organisms"].items() if not only or o in only}
    if only and set(only) - set(cfg["organisms"]):
        raise ValidationError(f"--only names {sorted(set(only) - set(cfg['organisms']))}; "
                              f"known: {sorted(cfg['organisms'])}")
    control = cfg["control"]
    rows = []
    for name, config in organisms.items():
        out = run_organism(name, ROOT / config, overrides, output_root)
        profiles = profiles_of(out)
        if "sft" not in profiles:
            raise ValidationError(f"{out}: the report has no verdict for the implanted model 'sft'")
        rows.append({"name": name, "expected": cfg["expected"][name], "profile": profiles["sft"], "run": str(out)})
        if control["model"] in profiles and not any(r["name"] == control["name"] for r in rows):
            rows.append({"name": control["name"], "expected": cfg["expected"][control["name"]],
                         "profile": profiles[control["model"]], "run": str(out)})
    for r in rows:
        r["ok"] = matches(r["expected"], r["profile"])
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", type=Path, help="configs/validation/organisms.yaml or organisms_ci.yaml")
    ap.add_argument("--only", help="comma-separated organisms (default: all)")
    ap.add_argument("--teacher", help="a local model folder to implant into instead of the configs' teacher")
    ap.add_argument("--output-root", type=Path, help="put each organism's run in OUTPUT_ROOT/<organism>")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="an override for every organism run, after the config's own (repeatable), "
                         "e.g. --set sft.max_steps=60")
    args = ap.parse_args(argv)
    try:
        cfg = read_config(args.config)
        overrides = list(cfg.get("overrides") or [])
        if args.teacher:
            overrides.append(f"data.teacher.name_or_path={args.teacher}")
        bad = [x for x in args.set if "=" not in x]
        if bad:
            raise ValidationError(f"--set {bad[0]!r}: expected KEY=VALUE")
        overrides += args.set
        t0 = time.monotonic()
        rows = validate(cfg, overrides=overrides, output_root=args.output_root,
                        only=args.only.split(",") if args.only else None)
    except ValidationError as exc:
        print(f"validate_verdict: {exc}", file=sys.stderr)
        return 2
    wall = time.monotonic() - t0
    print(table(rows))
    ci = cfg.get("scale") == "ci"
    bad = [r["name"] for r in rows if not r["ok"]]
    print(f"\n{len(rows)} verdicts in {wall / 60:.1f} min on {os.cpu_count()} CPUs; "
          + ("scale ci: plumbing checked, verdicts not compared" if ci else
             (f"MISMATCH: {', '.join(bad)}" if bad else "every reported verdict equals the expected one")))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "wall_seconds": wall}, indent=1))
    return 0 if ci or not bad else 1


if __name__ == "__main__":
    sys.exit(main())
