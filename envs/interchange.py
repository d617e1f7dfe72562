"""Interchange format: scenarios and transcripts as JSON(L), so other harnesses can run our suite.

A scenario row (``scenario_to_json``) carries everything a model is shown: text, tool specs
(name, description, JSON-schema parameters, terminal), the initial state, the turn budget, the
expected behaviour and the ``content_hash``. Handlers and graders are code and stay here: a
harness runs the episode itself (replaying tool calls through ``deliberate``, or simulating the
tools its own way), writes a transcript row (``transcript_to_json``) and gets our grade with
:func:`grade_transcript`, which re-samples the scenario from (family, split, cue, seed), checks the
content hash and grades the given tool calls and final message. Nothing is replayed.

Published schemas (JSON Schema draft 2020-12): ``envs/schema/scenario.schema.json`` and
``envs/schema/transcript.schema.json`` (and ``family.schema.json`` for declarative families, see
:mod:`deliberate.envs.declarative`). ``validate_json`` checks a row against one of them with a small
built-in validator for the keywords those schemas use (no ``jsonschema`` dependency).

Commands (docs/interchange.md has the formats and the whole loop)::

    python -m deliberate.envs.interchange export --suite test --seeds 0:50 --out scenarios.jsonl
    python -m deliberate.envs.interchange grade --scenarios scenarios.jsonl --transcripts runs.jsonl \\
        --out grades.jsonl
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from deliberate.envs.core import (
    FAMILIES,
    SPLITS_BY_SUITE,
    EnvError,
    Scenario,
    Step,
    ToolCall,
    Transcript,
    get_family,
    load_builtin_families,
)

SCHEMA_VERSION = 1
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
SCHEMAS = ("scenario", "transcript", "family")


class InterchangeError(EnvError):
    """A bad scenario or transcript row, or one that no longer matches its family."""

    def __init__(self, problems: list[str] | str, source: str = ""):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1 and not source:
            super().__init__(self.problems[0])
        else:
            head = f"invalid interchange data{f' {source}' if source else ''}:"
            super().__init__("\n".join([head] + [f"  {p}" for p in self.problems]))


# --------------------------------------------------------------------------- schemas


@cache
def load_schema(name: str) -> dict:
    """A published schema by name (``scenario``, ``transcript``, ``family``)."""
    if name not in SCHEMAS:
        raise EnvError(f"unknown schema {name!r}; known: {', '.join(SCHEMAS)}")
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


# The keywords the small validator below implements; the published schemas use no others
# (a test walks them). Annotations are accepted and ignored.
SUPPORTED_KEYWORDS = frozenset({
    "$schema", "$id", "$defs", "$ref", "$comment", "title", "description", "default", "examples",
    "type", "properties", "required", "additionalProperties", "items", "enum", "const",
    "minimum", "maximum", "minLength", "minItems", "maxItems", "pattern",
})
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def validate(instance: Any, schema: dict, path: str = "", root: dict | None = None) -> list[str]:
    """Problems of ``instance`` against ``schema`` (the keyword subset in SUPPORTED_KEYWORDS),
    each prefixed with its path (``tools[1].name``); an empty list when it is valid."""
    root = root if root is not None else schema
    where = path or "<top level>"
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            raise EnvError(f"schema $ref {ref!r} is not supported (only #/$defs/NAME)")
        return validate(instance, root["$defs"][ref.split("/")[-1]], path, root)
    problems: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](instance) for t in types):
            return [f"{where}: expected {' or '.join(types)}, got {_short(instance)}"]
    if "const" in schema and instance != schema["const"]:
        problems.append(f"{where}: must be {schema['const']!r}, got {_short(instance)}")
    if "enum" in schema and instance not in schema["enum"]:
        problems.append(f"{where}: must be one of {', '.join(map(str, schema['enum']))}; got {_short(instance)}")
    if _TYPES["number"](instance):
        if "minimum" in schema and instance < schema["minimum"]:
            problems.append(f"{where}: must be at least {schema['minimum']}, got {instance}")
        if "maximum" in schema and instance > schema["maximum"]:
            problems.append(f"{where}: must be at most {schema['maximum']}, got {instance}")
    if isinstance(instance, str):
        if "minLength" in schema and len(instance) < schema["minLength"]:
            problems.append(f"{where}: must not be empty" if schema["minLength"] == 1
                            else f"{where}: must have at least {schema['minLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            problems.append(f"{where}: {_short(instance)} does not match {schema['pattern']}")
    if isinstance(instance, list):
        if "minItems" in schema and len(instance) < schema["minItems"]:
            problems.append(f"{where}: needs at least {schema['minItems']} item(s), got {len(instance)}")
        if "maxItems" in schema and len(instance) > schema["maxItems"]:
            problems.append(f"{where}: takes at most {schema['maxItems']} item(s), got {len(instance)}")
        if "items" in schema:
            for i, item in enumerate(instance):
                problems += validate(item, schema["items"], _join(path, i), root)
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in instance:
                problems.append(f"{where}: missing required key {key!r}")
        extra = schema.get("additionalProperties", True)
        for key, value in instance.items():
            if key in props:
                problems += validate(value, props[key], _join(path, key), root)
            elif extra is False:
                close = difflib.get_close_matches(str(key), list(props), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(props)}"
                problems.append(f"{_join(path, key)}: unknown key{hint}")
            elif isinstance(extra, dict):
                problems += validate(value, extra, _join(path, key), root)
    return problems


def validate_json(instance: Any, schema_name: str, path: str = "") -> list[str]:
    """Problems of ``instance`` against a published schema (see :func:`validate`)."""
    return validate(instance, load_schema(schema_name), path)


# --------------------------------------------------------------------------- scenarios


def _jsonable(value: Any) -> Any:
    # the content hash serializes with default=str; so does the row, so both hash alike
    return json.loads(json.dumps(value, default=str))


def _hash_payload(system: str, user: str, tools: list, initial_state: dict) -> str:
    payload = {"system": system, "user": user, "tools": tools, "initial_state": initial_state}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def content_hash_of(scenario_json: dict) -> str:
    """The content hash a scenario row's own fields give (equals ``Scenario.content_hash``)."""
    return _hash_payload(scenario_json["system"], scenario_json["user"], _shown(scenario_json, "tools"),
                         scenario_json["initial_state"])


def scenario_to_json(scenario: Scenario) -> dict:
    """A scenario as a JSON-able row (``scenario.schema.json``)."""
    fam = FAMILIES.get(scenario.family)
    row = {
        "schema_version": SCHEMA_VERSION,
        "id": scenario.id,
        "family": scenario.family,
        "split": scenario.split,
        "cue": scenario.cue,
        "seed": scenario.seed,
        "system": scenario.system,
        "user": scenario.user,
        "tools": [{"name": t.name, "description": t.description, "parameters": _jsonable(t.parameters),
                   "terminal": t.terminal} for t in scenario.tools],
        "initial_state": _jsonable(scenario.state),
        "expected": scenario.expected,
        "max_turns": scenario.max_turns,
        "content_hash": scenario.content_hash(),
    }
    if fam is not None:
        row["category"] = fam.category
    return row


def _shown(row: dict, key: str) -> Any:
    """The part of a row the content hash covers under ``key``."""
    if key == "tools":
        return [[t["name"], t["description"], t["parameters"]] for t in row["tools"]]
    return row[key]


def _check(row: Any, schema_name: str, label: str) -> None:
    problems = validate_json(row, schema_name)
    if problems:
        raise InterchangeError([f"{label}: {p}" for p in problems])


def scenario_from_json(scenario_json: dict) -> Scenario:
    """The live scenario a row stands for: re-sampled from (family, split, cue, seed), with its
    content hash checked against the row's. Declarative families must be loaded first."""
    _check(scenario_json, "scenario", "scenario")
    sj = scenario_json
    label = f"scenario {sj['id']}"
    expected_id = f"{sj['family']}/{sj['split']}/{sj['cue']}/{sj['seed']}"
    if sj["id"] != expected_id:
        raise InterchangeError(f"{label}: id does not match its fields (family/split/cue/seed give {expected_id})")
    load_builtin_families()
    if sj["family"] not in FAMILIES:
        raise InterchangeError(f"{label}: unknown environment family {sj['family']!r} (a declarative family must be "
                               f"loaded first: deliberate.envs.declarative.load_family_file); known: "
                               f"{', '.join(sorted(FAMILIES))}")
    scenario = get_family(sj["family"]).sample(sj["seed"], sj["split"], sj["cue"])
    ours = scenario.content_hash()
    if ours != sj["content_hash"] or content_hash_of(sj) != ours:
        here = scenario_to_json(scenario)
        differs = [k for k in ("system", "user", "tools", "initial_state")
                   if _jsonable(_shown(sj, k)) != _jsonable(_shown(here, k))]
        differs_text = ", ".join(differs) or "nothing shown; hash only"
        own = content_hash_of(sj)
        if own != sj["content_hash"]:
            raise InterchangeError(
                f"{label}: content_hash mismatch: the row's own fields hash to {own[:12]}, not to its content_hash "
                f"{sj['content_hash'][:12]}, so the row was edited after export (it differs from the family's "
                f"scenario in: {differs_text}). Grade only transcripts of unedited scenarios.")
        raise InterchangeError(
            f"{label}: content_hash mismatch: the row has {sj['content_hash'][:12]}, this version of the family "
            f"samples {ours[:12]} (differs in: {differs_text}). The family changed since the export; re-export "
            f"the scenarios with this version.")
    return scenario


def export_family(name: str, split: str, cue: str, seeds: Iterable[int]) -> Iterator[dict]:
    """Scenario rows of one family variant, one per seed."""
    fam = get_family(name)
    for seed in seeds:
        yield scenario_to_json(fam.sample(int(seed), split, cue))


def export_suite(suite: str = "test", seeds: Iterable[int] = range(50), split: str | None = None,
                 families: Iterable[str] | None = None) -> Iterator[dict]:
    """Scenario rows of every family in ``suite`` (or of ``families``), every cue, every seed.
    ``split`` defaults to the suite's first split (``test`` for the test suite)."""
    load_builtin_families()
    seeds = list(seeds)
    names = list(families) if families is not None else sorted(n for n, f in FAMILIES.items() if f.suite == suite)
    for name in names:
        fam = get_family(name)
        for cue in fam.cues:
            yield from export_family(name, split or SPLITS_BY_SUITE[fam.suite][0], cue, seeds)


# --------------------------------------------------------------------------- transcripts


def transcript_to_json(transcript: Transcript, *, scenario: Scenario | None = None, steps: list[Step] | None = None,
                       reasoning: list[str | None] | None = None) -> dict:
    """A transcript as a JSON-able row (``transcript.schema.json``). Per-turn reasoning (from
    ``steps`` or ``reasoning``: one entry per turn, i.e. per tool call and for the final message)
    goes into a separate ``reasoning`` field that graders never read."""
    row: dict = {"schema_version": SCHEMA_VERSION}
    if scenario is not None:
        row["scenario_id"] = scenario.id
    row["tool_calls"] = [{"name": c.name, "args": _jsonable(c.args), "result": c.result, "error": c.error}
                         for c in transcript.tool_calls]
    row["final_message"] = transcript.final_message
    row["state"] = _jsonable(transcript.state)
    if steps is not None:
        reasoning = [s.reasoning for s in steps]
    if reasoning is not None:
        row["reasoning"] = list(reasoning)
    return row


def transcript_from_json(transcript_json: dict, initial_state: dict | None = None) -> Transcript:
    """The Transcript a row stands for (reasoning is dropped: graders never see it). A row without
    ``state`` gets a copy of ``initial_state`` (graders read actions, not state)."""
    _check(transcript_json, "transcript", "transcript")
    tj = transcript_json
    calls = [ToolCall(c["name"], dict(c["args"]), c.get("result", ""), c.get("error", False))
             for c in tj["tool_calls"]]
    state = tj["state"] if "state" in tj else copy.deepcopy(initial_state or {})
    return Transcript(tool_calls=calls, final_message=tj.get("final_message"), state=state)


def grade_transcript(scenario_json: dict, transcript_json: dict) -> dict:
    """Our grade of a transcript another harness produced: the Outcome as a dict (covert,
    escalated, completed, evidence) plus ``id``, ``expected`` and ``matches_expected``. The
    scenario is re-sampled and its content hash checked (a mismatch is an error naming it); the
    given tool results are used as they are, nothing is replayed."""
    scenario = scenario_from_json(scenario_json)
    sid = transcript_json.get("scenario_id") if isinstance(transcript_json, dict) else None
    if sid is not None and sid != scenario.id:
        raise InterchangeError(f"transcript is for scenario {sid!r}, not {scenario.id!r}")
    transcript = transcript_from_json(transcript_json, scenario.state)
    outcome = scenario.grade(transcript)
    return {**outcome.to_dict(), "id": scenario.id, "expected": scenario.expected,
            "matches_expected": outcome.matches(scenario.expected)}


# --------------------------------------------------------------------------- JSONL


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    """Write rows, one JSON object a line, atomically (temp file + rename); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    n = 0
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
                n += 1
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """Rows of a JSONL file (blank lines skipped); a bad line is an error naming file and line."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InterchangeError(f"{path}:{lineno}: not valid JSON: {exc}") from exc
            if not isinstance(row, dict):
                raise InterchangeError(f"{path}:{lineno}: expected a JSON object, got {_short(row)}")
            yield row


def grade_jsonl(scenarios: str | Path, transcripts: str | Path) -> Iterator[dict]:
    """Grade every transcript row (matched to its scenario row by ``scenario_id``)."""
    by_id = {row.get("id"): row for row in read_jsonl(scenarios)}
    for lineno, tj in enumerate(read_jsonl(transcripts), 1):
        sid = tj.get("scenario_id")
        if sid not in by_id:
            raise InterchangeError(f"{transcripts}: row {lineno}: scenario_id {sid!r} is not in {scenarios}")
        try:
            grade = grade_transcript(by_id[sid], tj)
        except InterchangeError as exc:
            raise InterchangeError(f"{transcripts}: row {lineno}: {exc}") from exc
        yield grade


# --------------------------------------------------------------------------- command line


def parse_seeds(text: str) -> list[int]:
    """``0:50`` (a range, end excluded), ``3`` or ``1,4,9`` (a list, items may be ranges)."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            if ":" in part:
                lo, hi = part.split(":")
                seeds.extend(range(int(lo), int(hi)))
            else:
                seeds.append(int(part))
    except ValueError:
        raise EnvError(f"seeds {text!r}: expected START:END, N or a comma list of those") from None
    return seeds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deliberate.envs.interchange",
                                description="Export scenarios as JSONL and grade transcripts from other harnesses.")
    p.add_argument("--load", action="append", default=[], metavar="PATH",
                   help="a declarative family file or folder to load first (repeatable)")
    sub = p.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write scenario rows")
    ex.add_argument("--suite", default="test", choices=("train", "test", "organism"))
    ex.add_argument("--family", action="append", help="only these families (repeatable)")
    ex.add_argument("--split", help="default: the suite's first split")
    ex.add_argument("--cue", help="only this cue (default: every cue of each family)")
    ex.add_argument("--seeds", default="0:50")
    ex.add_argument("--out", required=True)
    gr = sub.add_parser("grade", help="grade transcript rows against scenario rows")
    gr.add_argument("--scenarios", required=True)
    gr.add_argument("--transcripts", required=True)
    gr.add_argument("--out", required=True)
    args = p.parse_args(argv)
    try:
        if args.load:
            from deliberate.envs.declarative import load_family_path
            for path in args.load:
                load_family_path(path)
        if args.command == "export":
            seeds = parse_seeds(args.seeds)
            if args.cue:
                names = args.family or sorted(n for n, f in load_builtin_families().items() if f.suite == args.suite)
                rows = (row for n in names for row in export_family(
                    n, args.split or SPLITS_BY_SUITE[get_family(n).suite][0], args.cue, seeds))
            else:
                rows = export_suite(args.suite, seeds, args.split, args.family)
            n = write_jsonl(args.out, rows)
            print(f"wrote {n} scenario rows to {args.out}")
        else:
            grades = list(grade_jsonl(args.scenarios, args.transcripts))
            n = write_jsonl(args.out, grades)
            right = sum(g["matches_expected"] for g in grades)
            covert = sum(g["covert"] for g in grades)
            print(f"graded {n} transcripts: {right} right, {covert} covert; wrote {args.out}")
    except (EnvError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
