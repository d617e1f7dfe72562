"""Pass-through mappings to library configs (``sft.trainer`` -> TRL ``SFTConfig``, ``rl.trainer`` ->
``GRPOConfig``, ``*.lora.extra`` -> PEFT ``LoraConfig``, ``*.vllm.engine_args`` -> vLLM's engine): every
key is checked against the library's own field names and types before any work starts. An unknown key
is an error with its YAML path and a did-you-mean; a key that one of our first-class fields already sets
is an error naming both places (one setting, one place)."""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from typing import Any, Literal, Union


def library_fields(cls: type) -> dict[str, Any]:
    """A library config dataclass's fields and their types (``Any`` where a hint cannot be resolved)."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - a hint that names a type not importable here: check names only
        hints = {}
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def fits(value: Any, tp: Any) -> bool:
    """Whether a YAML value can be given for a field of type ``tp`` (types we cannot check pass)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(fits(value, a) for a in typing.get_args(tp))
    if origin is Literal:
        return value in typing.get_args(tp)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if tp is dict or origin is dict:
        return isinstance(value, dict)
    if tp is list or origin in (list, tuple) or tp is tuple:
        if not isinstance(value, list):
            return False
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return len(args) != 1 or all(fits(v, args[0]) for v in value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return value in {m.value for m in tp} or value in tp.__members__
    return True  # a class we cannot build from YAML here (the library reports it when it builds its config)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def check_mapping(mapping: dict, where: str, fields: dict[str, Any], library: str, *,
                  owned: dict[str, str] | None = None, renamed: dict[str, str] | None = None) -> list[str]:
    """Problems with a pass-through ``mapping`` at YAML path ``where`` for ``library`` (its ``fields``
    name -> type). ``owned``: library key -> the YAML path of our field that sets it. ``renamed``: an old
    library key -> its current name, accepted when only the current name exists (e.g. ``warmup_ratio``)."""
    owned, renamed = owned or {}, renamed or {}
    out = []
    for key, value in mapping.items():
        path = f"{where}.{key}"
        name = renamed.get(key, key) if key not in fields else key
        if name in owned:
            out.append(f"{path}: already set by {owned[name]}; set it there (one place per setting)")
        elif name not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append(f"{path}: not a field of {library}{hint}")
        elif name != key and name in mapping:
            out.append(f"{path}: {library} calls it {name!r}, which {where} also sets; keep one")
        elif not fits(value, fields[name]):
            out.append(f"{path}: expected {_type_name(fields[name])} ({library}.{name}), got {value!r}")
    return out
