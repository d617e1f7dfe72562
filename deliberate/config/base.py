"""The generic config machinery, shared by every section: ConfigError, building a dataclass from a
YAML mapping (type checks, did-you-mean for unknown keys, missing fields, all reported together),
dotted CLI overrides, reading YAML, ``to_dict`` and ``config_hash``."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from deliberate.errors import UserError

MISSING = dataclasses.MISSING


class ConfigError(UserError, ValueError):
    """One or more problems in an experiment config, each named by its YAML path."""

    def __init__(self, problems: list[str], source: str = ""):
        self.problems = problems
        head = f"invalid config{f' {source}' if source else ''}:"
        super().__init__("\n".join([head] + [f"  {p}" for p in problems]))


def must_be_positive(values: dict[str, Any]) -> list[str]:
    """``PATH: must be > 0, got V`` for each value (keyed by its YAML path) that is not > 0."""
    return [f"{k}: must be > 0, got {v}" for k, v in values.items() if v <= 0]


# --------------------------------------------------------------------------- conversion


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if tp is dict or origin is dict:
        return "mapping"
    if origin is list:
        (inner,) = typing.get_args(tp)
        return f"list of {_type_name(inner)}"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "mapping"
    return getattr(tp, "__name__", str(tp))


def _convert_union(value: Any, tp: Any, path: str, problems: list[str]) -> Any:
    args = typing.get_args(tp)
    if value is None and type(None) in args:
        return None
    non_none = [a for a in args if a is not type(None)]
    if len(non_none) == 1:
        return _convert(value, non_none[0], path, problems)
    for a in non_none:
        sub: list[str] = []
        out = _convert(value, a, path, sub)
        if not sub:
            return out
    problems.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
    return None


def _convert_scalar(value: Any, tp: Any, path: str, problems: list[str]) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{path}: expected bool, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected int, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected float, got {value!r}")
            return value
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            problems.append(f"{path}: expected str, got {value!r}")
        return value
    raise TypeError(f"config type {tp!r} at {path} is not supported")  # a bug in this module


def _convert(value: Any, tp: Any, path: str, problems: list[str]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return _convert_union(value, tp, path, problems)
    if origin is Literal:
        if value not in typing.get_args(tp):
            problems.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
        return value
    if tp is dict or origin is dict:  # free-form mapping (e.g. an Inspect task's arguments): keys must be strings
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            problems.append(f"{path}: expected a mapping with string keys, got {value!r}")
            return {}
        return value
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
            return []
        return [_convert(v, inner, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, problems)
    return _convert_scalar(value, tp, path, problems)


def _build(cls: type, raw: Any, path: str, problems: list[str]) -> Any:
    where = path or "<top level>"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping, got {raw!r}")
        raw = {}
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(fields)})"
            problems.append(f"{_join(path, key)}: unknown key{hint}")
    kwargs = {}
    for name, f in fields.items():
        sub = _join(path, name)
        if name in raw:
            kwargs[name] = _convert(raw[name], hints[name], sub, problems)
        elif f.default is MISSING and f.default_factory is MISSING:
            problems.append(f"{sub}: required field missing")
    for name in fields:  # missing required fields were reported above; build what we can
        if name not in kwargs and fields[name].default is MISSING and fields[name].default_factory is MISSING:
            kwargs[name] = None
    return cls(**kwargs)


def build_dataclass(cls: type, raw: Any, source: str = "", overrides: list[str] | None = None) -> Any:
    """Any config dataclass (not only ExperimentConfig) from a mapping, with the same checks and
    error messages: unknown keys with did-you-mean, wrong types, missing fields, all at once."""
    raw = apply_overrides(json.loads(json.dumps(raw if raw is not None else {})), overrides or [])
    problems: list[str] = []
    out = _build(cls, raw, "", problems)
    if problems:
        raise ConfigError(problems, source)
    return out


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


# --------------------------------------------------------------------------- loading


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value parsed as YAML)."""
    if "=" not in text:
        raise ConfigError([f"override {text!r}: expected KEY.PATH=VALUE"])
    key, _, value = text.partition("=")
    keys = [k for k in key.strip().split(".") if k]
    if not keys:
        raise ConfigError([f"override {text!r}: empty key"])
    return keys, yaml.safe_load(value) if value.strip() else ""


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for text in overrides:
        keys, value = parse_override(text)
        node = raw
        for i, k in enumerate(keys[:-1]):
            child = node.get(k)
            if child is None:
                child = node[k] = {}
            if not isinstance(child, dict):
                raise ConfigError([f"override {text!r}: {'.'.join(keys[: i + 1])} is not a mapping"])
            node = child
        node[keys[-1]] = value
    return raw


def read_yaml(path: str | Path):
    """A config file's YAML (``{}`` when empty); a missing file or bad YAML is a ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path}: no such file"])
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from exc


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def config_hash(section: Any) -> str:
    """Stable sha256 of a config section (or any JSON-able value)."""
    value = dataclasses.asdict(section) if dataclasses.is_dataclass(section) else section
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
