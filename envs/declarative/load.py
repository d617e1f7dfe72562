"""Load family files (YAML, JSON or JSONL; one file or a folder), check them and register them
with ``envs.core.family`` so they appear in ``FAMILIES`` / ``get_family`` like Python families.

Check files without registering them::

    python -m deliberate.envs.declarative check envs/examples/refund_override.yaml
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from deliberate.envs.core import FAMILIES, EnvError, Family, family
from deliberate.envs.declarative.build import build_family, check_family
from deliberate.envs.declarative.compile import DeclarativeError, Spec, compile_family

SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")
# Bounds on one family file: its size, how deep its values nest and how many values it holds once
# YAML aliases are expanded (an alias bomb is small on disk and billions of values in memory).
MAX_FILE_BYTES = 2 * 2**20
MAX_DEPTH = 40
MAX_NODES = 200_000


def _check_shape(raw: Any, source: str) -> None:
    """Walk the parsed value without recursion; refuse it past MAX_DEPTH levels or MAX_NODES values."""
    stack, nodes = [(raw, 1)], 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise DeclarativeError([f"<top level>: more than {MAX_NODES} values (YAML aliases expanding?); "
                                    "a family file is far smaller"], source)
        if depth > MAX_DEPTH:
            raise DeclarativeError([f"<top level>: values nested more than {MAX_DEPTH} levels deep"], source)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def read_family_file(path: str | Path) -> Any:
    """The raw mapping of a family file: YAML, JSON, or JSONL (a header line with the family keys,
    then one ``cases`` entry per line)."""
    path = Path(path)
    if not path.is_file():
        raise DeclarativeError([f"{path}: no such file"])
    if path.suffix not in SUFFIXES:
        raise DeclarativeError([f"{path}: unknown file type; expected {', '.join(SUFFIXES)}"])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DeclarativeError([f"<top level>: {size} bytes; a family file is at most {MAX_FILE_BYTES} bytes"],
                               str(path))
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeclarativeError([f"<top level>: not UTF-8 text (byte {exc.start}: {exc.reason})"], str(path)) from None
    try:
        raw = _parse(path, text)
    except RecursionError:
        raise DeclarativeError([f"<top level>: values nested too deeply (over {MAX_DEPTH} levels)"],
                               str(path)) from None
    _check_shape(raw, str(path))
    return raw


def _parse(path: Path, text: str) -> Any:
    try:
        if path.suffix == ".jsonl":
            rows = [(i, json.loads(line)) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
            if not rows:
                raise DeclarativeError(["<top level>: empty file"], str(path))
            bad = [f"line {i}: expected a JSON object" for i, row in rows if not isinstance(row, dict)]
            if bad:
                raise DeclarativeError(bad, str(path))
            header = dict(rows[0][1])
            if "cases" in header:
                raise DeclarativeError(["line 1.cases: in a JSONL family the cases are the lines after the "
                                        "header"], str(path))
            if len(rows) < 2:
                raise DeclarativeError(["<top level>: a JSONL family needs a header line and at least one "
                                        "case line"], str(path))
            header["cases"] = [row for _, row in rows[1:]]
            header["__lines__"] = [i for i, _ in rows[1:]]
            return header
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise DeclarativeError([f"not valid {path.suffix[1:].upper()}: {exc}"], str(path)) from exc


def _compile_path(path: Path) -> Spec:
    raw = read_family_file(path)
    lines = raw.pop("__lines__", None) if isinstance(raw, dict) else None
    try:
        return compile_family(raw, str(path))
    except DeclarativeError as exc:
        if lines is None:
            raise
        # JSONL: name case lines by their line number
        fixed = []
        for p in exc.problems:
            m = re.match(r"^cases\[(\d+)\]\.?(.*)$", p)
            if m:
                rest = m.group(2)
                fixed.append(f"line {lines[int(m.group(1))]}: {rest[2:] if rest.startswith(': ') else rest}")
            else:
                fixed.append(f"line 1 (header): {p}")
        raise DeclarativeError(fixed, str(path)) from None


# name -> (Family, sha256 of the file's content, source path): loading the same file twice is a no-op
_LOADED: dict[str, tuple[Family, str, str]] = {}


def family_source(name: str) -> dict | None:
    """Where a loaded declarative family came from: {"path", "sha256"} (None for Python families)."""
    entry = _LOADED.get(name)
    if entry is None or FAMILIES.get(name) is not entry[0]:
        return None
    return {"path": entry[2], "sha256": entry[1]}


def _prepare(path: Path, check_seeds: int) -> tuple[Spec, Family]:
    spec = _compile_path(path)
    fam = build_family(spec)
    if check_seeds:
        problems = check_family(fam, check_seeds)
        if problems:
            raise DeclarativeError(problems, str(path))
    return spec, fam


def _register(spec: Spec, fam: Family, path: Path) -> Family:
    current = FAMILIES.get(spec.name)
    loaded = _LOADED.get(spec.name)
    if current is not None:
        if loaded is not None and loaded[0] is current and loaded[1] == spec.sha256:
            return current  # the same file, loaded again
        where = f"loaded from {loaded[2]}" if loaded is not None and loaded[0] is current else "a Python family"
        raise DeclarativeError([f"name: family {spec.name!r} is already registered ({where})"], str(path))
    family(spec.name, suite=spec.suite, category=spec.category, description=spec.description,
           schemer=fam.schemer, saint=fam.saint)(fam.sampler)
    _LOADED[spec.name] = (FAMILIES[spec.name], spec.sha256, str(path))
    return FAMILIES[spec.name]


def load_family_file(path: str | Path, *, register: bool = True, check_seeds: int = 5) -> Family:
    """Load one family file (YAML, JSON or JSONL), check it, and register it (unless
    ``register=False``). Loading the same unchanged file again returns the registered family."""
    from deliberate.envs.core import load_builtin_families

    load_builtin_families()  # so a clash with a shipped family is caught now, not later
    path = Path(path)
    spec, fam = _prepare(path, check_seeds)
    return _register(spec, fam, path) if register else fam


def load_family_dir(path: str | Path, *, register: bool = True, check_seeds: int = 5) -> list[Family]:
    """Load every family file in a folder (not recursive, sorted by name). All files are checked
    first, and all their problems reported together; nothing is registered unless all are valid."""
    from deliberate.envs.core import load_builtin_families

    load_builtin_families()
    path = Path(path)
    if not path.is_dir():
        raise DeclarativeError([f"{path}: no such folder"])
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
    prepared, errors, names = [], [], {}
    for file in files:
        try:
            spec, fam = _prepare(file, check_seeds)
        except DeclarativeError as exc:
            errors.append(exc)
            continue
        if spec.name in names:
            errors.append(DeclarativeError([f"name: {spec.name!r} is also defined in {names[spec.name]}"], str(file)))
            continue
        names[spec.name] = file
        prepared.append((spec, fam, file))
    if errors:
        raise DeclarativeError([f"{e.source}: {p}" for e in errors for p in e.problems], str(path),
                               message="\n".join(str(e) for e in errors))
    if not register:
        return [fam for _, fam, _ in prepared]
    return [_register(spec, fam, file) for spec, fam, file in prepared]


def load_family_path(path: str | Path, **kw) -> list[Family]:
    """A family file or a folder of them."""
    path = Path(path)
    return load_family_dir(path, **kw) if path.is_dir() else [load_family_file(path, **kw)]


def main(argv: list[str] | None = None) -> int:
    """``check PATH...``: one ``ok`` line per valid family on stdout, problems on stderr (exit status 2)."""
    p = argparse.ArgumentParser(prog="python -m deliberate.envs.declarative",
                                description="Check declarative environment family files.")
    sub = p.add_subparsers(dest="command", required=True)
    ck = sub.add_parser("check", help="validate files and run the scripted policies through the grader")
    ck.add_argument("paths", nargs="+")
    ck.add_argument("--seeds", type=int, default=50, help="seeds per variant for the self-check")
    args = p.parse_args(argv)
    status = 0
    for path in args.paths:
        try:
            fams = load_family_path(path, register=False, check_seeds=args.seeds)
        except EnvError as exc:
            print(exc, file=sys.stderr)
            status = 2
            continue
        for fam in fams:
            print(f"ok  {fam.name}  ({fam.suite}, {fam.category}, cues {','.join(fam.cues)})  {path}")
    return status
