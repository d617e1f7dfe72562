"""The generic config machinery, shared by every section: ConfigError, building a dataclass from a
YAML mapping (type checks, did-you-mean for unknown keys, missing fields, all reported together),
dotted CLI overrides, reading YAML, ``to_dict`` and ``config_hash``."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
import reprlib
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from deliberate.errors import UserError

MISSING = dataclasses.MISSING

# Limits on what a config file (or an override) may be: beyond them it is an error, never a hang,
# a traceback or a message of megabytes (docs/reliability.md, "Limits").
MAX_YAML_BYTES = 16 << 20  # a config file's size
MAX_YAML_DEPTH = 64  # nesting of mappings and lists
MAX_YAML_VALUES = 100_000  # values after expanding YAML aliases (an alias bomb expands to billions)
MAX_PROBLEM_CHARS = 600  # one problem's line
MAX_PROBLEMS = 50  # problems listed in one error (the rest are counted)


def clip(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} characters left out)"


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 60, 60, 3, 6, 6


def show(value: Any) -> str:
    """A bounded repr for error messages: never the whole of a huge or alias-expanded value."""
    return _REPR.repr(value)


class ConfigError(UserError, ValueError):
    """One or more problems in an experiment config, each named by its YAML path."""

    def __init__(self, problems: list[str], source: str = ""):
        self.problems = [clip(p) for p in problems]
        head = f"invalid config{f' {clip(source, 200)}' if source else ''}:"
        shown = [f"  {p}" for p in self.problems[:MAX_PROBLEMS]]
        if len(self.problems) > MAX_PROBLEMS:
            shown.append(f"  ... and {len(self.problems) - MAX_PROBLEMS} more problems")
        super().__init__("\n".join([head] + shown))


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
    problems.append(f"{path}: expected {_type_name(tp)}, got {show(value)}")
    return None


def _convert_scalar(value: Any, tp: Any, path: str, problems: list[str]) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{path}: expected bool, got {show(value)}")
        return value
    if tp is int:
        if isinstance(value, float) and value.is_integer():  # 1e6: YAML reads an exponent as a float
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected int, got {show(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected float, got {show(value)}")
            return value
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            problems.append(f"{path}: expected str, got {show(value)}")
        return value
    raise TypeError(f"config type {tp!r} at {path} is not supported")  # a bug in this module


def _convert(value: Any, tp: Any, path: str, problems: list[str]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return _convert_union(value, tp, path, problems)
    if origin is Literal:
        if value not in typing.get_args(tp):
            problems.append(f"{path}: expected {_type_name(tp)}, got {show(value)}")
        return value
    if tp is dict or origin is dict:  # free-form mapping (e.g. an Inspect task's arguments): keys must be strings
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            problems.append(f"{path}: expected a mapping with string keys, got {show(value)}")
            return {}
        return value
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(f"{path}: expected {_type_name(tp)}, got {show(value)}")
            return []
        return [_convert(v, inner, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, problems)
    return _convert_scalar(value, tp, path, problems)


def _build(cls: type, raw: Any, path: str, problems: list[str]) -> Any:
    where = path or "<top level>"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping, got {show(raw)}")
        raw = {}
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(fields)})"
            problems.append(f"{_join(path, key if isinstance(key, str) else show(key))}: unknown key{hint}")
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
    error messages: unknown keys with did-you-mean, wrong types, missing fields, numbers out of
    their range (deliberate/config/ranges.py), all at once."""
    from deliberate.config.ranges import range_problems

    raw = apply_overrides(plain_copy(raw if raw is not None else {}), overrides or [])
    problems: list[str] = []
    out = _build(cls, raw, "", problems)
    problems += range_problems(out, "")
    if problems:
        raise ConfigError(problems, source)
    return out


def plain_copy(raw: Any) -> Any:
    """A deep copy of YAML-like data (a config's mapping), so overrides never touch the caller's."""
    return json.loads(json.dumps(raw))


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


# --------------------------------------------------------------------------- reading YAML
# One loader for config files, monitor files and override values: plain YAML only (no dates, no
# Python tags), duplicate keys are errors, and nesting depth and alias expansion are bounded.

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = key in first
                except TypeError:
                    continue  # an unhashable key: SafeLoader's own error follows
                if seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {show(key)} (first on line {first[key]})", key_node.start_mark)
                first[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


# a date-looking value (2024-01-01) stays text: YAML 1.1 would make it a datetime.date
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
# 1e-5 is a number (YAML 1.2), not the text YAML 1.1 makes of an exponent without a dot
_EXPONENT = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT, list("-+0123456789."))


def _yaml_error(exc: yaml.YAMLError) -> str:
    """PyYAML's message on one line: what is wrong and where (without its multi-line snippet)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return "; ".join(p for p in (exc.context, exc.problem) if p) + where
    return " ".join(str(exc).split())


def load_yaml_text(text: str, where: str) -> Any:
    """Plain data from YAML text (a config file's, an override value's); ``where`` names it in errors.
    Bad YAML, duplicate keys, non-JSON values (dates with an explicit tag, binary, sets), recursive
    aliases, nesting deeper than MAX_YAML_DEPTH and more than MAX_YAML_VALUES values after alias
    expansion are ConfigErrors."""
    try:
        value = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError([f"{where}: not valid YAML: {_yaml_error(exc)}"]) from None
    except RecursionError:
        raise ConfigError([f"{where}: nested deeper than {MAX_YAML_DEPTH} levels"]) from None
    _check_plain(value, where)
    return value


def _check_plain(value: Any, where: str) -> None:
    """Only JSON-like values, no cycles, at most MAX_YAML_VALUES values with aliases expanded
    (each shared object is sized once, so an alias bomb is caught without expanding it)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(v: Any, path: str) -> int:
        if v is None or isinstance(v, (str, int, float, bool)):
            return 1
        if not isinstance(v, (dict, list)):
            raise ConfigError([f"{where}: {path or '<top level>'}: unsupported YAML value {show(v)} of type "
                               f"{type(v).__name__} (use text, numbers, booleans, null, lists and mappings)"])
        key = id(v)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError([f"{where}: {path or '<top level>'}: a YAML alias refers to itself (a recursive "
                               "value)"])
        active.add(key)
        items = v.items() if isinstance(v, dict) else enumerate(v)
        total = 1
        for k, item in items:
            if isinstance(v, dict) and not (k is None or isinstance(k, (str, int, float, bool))):
                raise ConfigError([f"{where}: {path or '<top level>'}: unsupported key {show(k)}"])
            total += size(item, f"{path}[{k}]" if isinstance(v, list) else _join(path, k))
            if total > MAX_YAML_VALUES:
                raise ConfigError([f"{where}: expands to more than {MAX_YAML_VALUES} values (YAML aliases "
                                   "repeated inside each other?); a config is far smaller"])
        active.discard(key)
        sizes[key] = total
        return total

    size(value, "")


def read_yaml(path: str | Path):
    """A config file's YAML (``{}`` when empty): UTF-8 text of plain YAML (see ``load_yaml_text``);
    a missing, unreadable, oversized or malformed file is a ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path}: no such file"])
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError([f"{path}: {size:,} bytes; a config file is at most {MAX_YAML_BYTES:,} bytes"])
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read it ({exc.strerror or exc})"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"]) from None
    value = load_yaml_text(text, str(path))
    return {} if value is None else value


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value parsed as YAML). A value may be a whole mapping or
    list in YAML flow style (``data.teacher={name_or_path: m, backend: transformers}``)."""
    if "=" not in text:
        raise ConfigError([f"override {show(text)}: expected KEY.PATH=VALUE"])
    key, _, value = text.partition("=")
    keys = [k for k in key.strip().split(".") if k]
    if not keys:
        raise ConfigError([f"override {show(text)}: empty key"])
    return keys, load_yaml_text(value, f"override {show(text)}") if value.strip() else ""


def apply_overrides(raw: Any, overrides: list[str]) -> Any:
    """Dotted overrides applied in order: a key into a mapping (created when missing), a number
    into a list (``eval.inspect.0.epochs=1``, an existing item), the last key's value replaced."""
    for text in overrides:
        keys, value = parse_override(text)
        if not isinstance(raw, dict):
            raise ConfigError([f"override {show(text)}: the config's top level is {_kind(raw)}, not a mapping"])
        node = raw
        for i, k in enumerate(keys):
            here = ".".join(keys[:i])
            last = i == len(keys) - 1
            if isinstance(node, list):
                if not k.isdigit():
                    raise ConfigError([f"override {show(text)}: {here} is a list: index it with a number "
                                       f"({here}.0.…)"])
                index = int(k)
                if index >= len(node):
                    span = f"{len(node)} items (indices 0 to {len(node) - 1})" if node else "no items"
                    raise ConfigError([f"override {show(text)}: {here} has {span}; to replace the whole list, "
                                       f"give it as a value: {here}='[...]'"])
                k = index
            elif isinstance(node, dict):
                if not last and node.get(k) is None:
                    if keys[i + 1].isdigit():
                        path = ".".join(keys[: i + 1])
                        raise ConfigError([f"override {show(text)}: {path} is not in the config file, so it has no "
                                           f"items to index; give the whole list: {path}='[...]'"])
                    node[k] = {}
            else:
                raise ConfigError([f"override {show(text)}: {here} is {show(node)}, not a mapping or list"])
            if last:
                node[k] = value
            else:
                node = node[k]
    return raw


def _kind(value: Any) -> str:
    return {list: "a list", str: "text", type(None): "empty"}.get(type(value), f"a {type(value).__name__}")


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def config_hash(section: Any) -> str:
    """Stable sha256 of a config section (or any JSON-able value)."""
    value = dataclasses.asdict(section) if dataclasses.is_dataclass(section) else section
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
