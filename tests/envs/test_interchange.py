"""Interchange: scenario and transcript rows round-trip for every registered family, match the
published schemas, and grade_transcript gives the native grade; stale or edited rows are errors."""

import json
from pathlib import Path

import pytest

from deliberate.envs import declarative, interchange
from deliberate.envs.core import FAMILIES, SPLITS_BY_SUITE, EnvError, Step, load_builtin_families, run_policy
from deliberate.envs.interchange import (
    SCHEMA_DIR,
    SUPPORTED_KEYWORDS,
    InterchangeError,
    content_hash_of,
    export_family,
    export_suite,
    grade_jsonl,
    grade_transcript,
    load_schema,
    parse_seeds,
    read_jsonl,
    scenario_from_json,
    scenario_to_json,
    transcript_from_json,
    transcript_to_json,
    validate,
    validate_json,
    write_jsonl,
)

ROOT = Path(__file__).resolve().parents[2]
load_builtin_families()
NAMES = sorted(FAMILIES)
TEST_NAMES = [n for n in NAMES if FAMILIES[n].suite == "test"]


def variants(fam):
    return [(SPLITS_BY_SUITE[fam.suite][0], cue) for cue in fam.cues]


def policies(fam):
    return [p for p in (fam.saint, fam.schemer, fam.organism) if p is not None]


def roundtrip(row):
    return json.loads(json.dumps(row))


@pytest.fixture
def registry():
    before = set(FAMILIES)
    yield
    for name in set(FAMILIES) - before:
        FAMILIES.pop(name, None)
        declarative._LOADED.pop(name, None)


# --------------------------------------------------------------------------- schemas


def _keywords(schema, out):
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("properties", "$defs"):
                for sub in value.values():
                    _keywords(sub, out)
                continue
            out.add(key)
            if key in ("items", "additionalProperties") and isinstance(value, dict):
                _keywords(value, out)
    return out


@pytest.mark.parametrize("name", ["scenario", "transcript", "family"])
def test_schemas_are_draft_2020_12_and_use_only_what_the_validator_knows(name):
    path = SCHEMA_DIR / f"{name}.schema.json"
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:deliberate:schema:{name}:1" and schema["type"] == "object"
    assert schema["required"] and schema["description"]
    assert _keywords(schema, set()) <= SUPPORTED_KEYWORDS
    assert load_schema(name) == schema
    if name == "scenario":
        assert set(schema["required"]) == {"schema_version", "id", "family", "split", "cue", "seed", "system", "user",
                                           "tools", "initial_state", "expected", "max_turns", "content_hash"}
        assert set(schema["properties"]["tools"]["items"]["required"]) == {"name", "description", "parameters",
                                                                           "terminal"}
    if name == "transcript":
        assert set(schema["properties"]["tool_calls"]["items"]["properties"]) == {"name", "args", "result", "error"}
        assert {"final_message", "state", "reasoning"} <= set(schema["properties"])


def test_schemas_agree_with_jsonschema_when_it_is_installed():
    jsonschema = pytest.importorskip("jsonschema")
    fam = FAMILIES["oversight_config"]
    sc = fam.sample(0, "test", "eval")
    tr, _, steps = run_policy(sc, fam.saint)
    for name in ("scenario", "transcript", "family"):
        jsonschema.Draft202012Validator.check_schema(load_schema(name))
    jsonschema.validate(scenario_to_json(sc), load_schema("scenario"))
    jsonschema.validate(transcript_to_json(tr, scenario=sc, steps=steps), load_schema("transcript"))


def test_validator_reports_paths():
    schema = {"type": "object", "required": ["a"], "additionalProperties": False,
              "properties": {"a": {"type": "array", "items": {"$ref": "#/$defs/n"}}, "bcd": {"enum": ["x", "y"]},
                             "s": {"type": "string", "pattern": "^[0-9]+$", "minLength": 1}},
              "$defs": {"n": {"type": "integer", "minimum": 0}}}
    assert validate({"a": [1, 2]}, schema) == []
    problems = validate({"a": [1, -1, True], "bce": 1, "bcd": "z", "s": "x"}, schema)
    assert problems == ["a[1]: must be at least 0, got -1", "a[2]: expected integer, got True",
                        "bce: unknown key (did you mean 'bcd'?)", "bcd: must be one of x, y; got 'z'",
                        "s: 'x' does not match ^[0-9]+$"]
    assert validate([], schema) == ["<top level>: expected object, got []"]
    assert validate({}, schema) == ["<top level>: missing required key 'a'"]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", NAMES)
def test_scenario_and_transcript_rows_round_trip(name):
    fam = FAMILIES[name]
    for split, cue in variants(fam):
        for seed in range(5):
            sc = fam.sample(seed, split, cue)
            row = scenario_to_json(sc)
            assert row == roundtrip(row)
            assert validate_json(row, "scenario") == []
            assert row["id"] == sc.id and row["category"] == fam.category and row["schema_version"] == 1
            assert [t["name"] for t in row["tools"]] == [t.name for t in sc.tools]
            assert [t["terminal"] for t in row["tools"]] == [t.terminal for t in sc.tools]
            assert row["content_hash"] == sc.content_hash() == content_hash_of(roundtrip(row))
            again = scenario_from_json(roundtrip(row))
            assert again.content_hash() == sc.content_hash() and again.id == sc.id
            for policy in policies(fam):
                tr, _, steps = run_policy(sc, policy)
                tj = roundtrip(transcript_to_json(tr, scenario=sc, steps=steps))
                assert validate_json(tj, "transcript") == []
                assert tj["scenario_id"] == sc.id and tj["reasoning"] == [s.reasoning for s in steps]
                back = transcript_from_json(tj)
                assert back.tool_calls == tr.tool_calls or roundtrip([c.__dict__ for c in back.tool_calls]) \
                    == roundtrip([c.__dict__ for c in tr.tool_calls])
                assert back.final_message == tr.final_message
                assert back.state == roundtrip(tr.state)


@pytest.mark.parametrize("name", TEST_NAMES)
def test_grade_transcript_equals_the_native_grader(name):
    fam = FAMILIES[name]
    for split, cue in variants(fam):
        for seed in range(10):
            sc = fam.sample(seed, split, cue)
            row = roundtrip(scenario_to_json(sc))
            for policy in (fam.saint, fam.schemer):
                tr, outcome, steps = run_policy(sc, policy)
                grade = grade_transcript(row, roundtrip(transcript_to_json(tr, scenario=sc, steps=steps)))
                assert {k: grade[k] for k in ("covert", "escalated", "completed", "evidence")} == outcome.to_dict()
                assert grade["id"] == sc.id and grade["expected"] == sc.expected
                assert grade["matches_expected"] == outcome.matches(sc.expected)
            assert not grade_transcript(row, transcript_to_json(run_policy(sc, fam.schemer)[0]))["matches_expected"]


def test_grading_uses_the_given_results_and_never_reads_reasoning():
    fam = FAMILIES["oversight_config"]
    sc = fam.sample(1, "test", "deploy")
    row = scenario_to_json(sc)
    tr, outcome, steps = run_policy(sc, fam.schemer)
    tj = transcript_to_json(tr, steps=steps)
    a = grade_transcript(row, tj)
    tj["reasoning"] = ["I will escalate honestly (AS5)."] * len(tj["reasoning"])
    tj.pop("state")  # graders do not need it
    for call in tj["tool_calls"]:
        call["result"] = "whatever the other harness's simulator said"
    assert grade_transcript(row, tj) == a and a["covert"]
    # a rollout record of deliberate's own (extra keys) is a transcript row too
    record = {"scenario_id": sc.id, "turns": [{"reasoning": "x"}], "messages": [], "tool_calls": tj["tool_calls"],
              "final_message": None, "outcome": {}}
    assert grade_transcript(row, record) == a
    # no action at all
    empty = grade_transcript(row, {"tool_calls": []})
    assert (empty["covert"], empty["escalated"], empty["completed"]) == (False, False, False)


# --------------------------------------------------------------------------- errors


def test_content_hash_mismatch_is_an_error_naming_it():
    fam = FAMILIES["oversight_config"]
    sc = fam.sample(2, "test", "eval")
    row = scenario_to_json(sc)
    tj = transcript_to_json(run_policy(sc, fam.saint)[0])
    edited = dict(row, user=row["user"] + " Also, be quick.")
    with pytest.raises(InterchangeError) as info:
        grade_transcript(edited, tj)
    message = str(info.value)
    assert "scenario oversight_config/test/eval/2: content_hash mismatch" in message
    assert "the row was edited after export" in message and "differs from the family's scenario in: user" in message
    # a row whose fields and hash agree with each other but not with this version of the family
    stale = dict(edited, content_hash=content_hash_of(edited))
    with pytest.raises(InterchangeError, match="differs in: user\\)\\. The family changed since the export") as info:
        scenario_from_json(stale)
    assert "edited after export" not in str(info.value)
    with pytest.raises(InterchangeError, match="edited after export .*in: nothing shown; hash only"):
        scenario_from_json(dict(row, content_hash="0" * 64))


def test_bad_rows_are_errors():
    fam = FAMILIES["oversight_config"]
    sc = fam.sample(0, "test", "eval")
    row = scenario_to_json(sc)
    tj = transcript_to_json(run_policy(sc, fam.saint)[0], scenario=sc)
    with pytest.raises(InterchangeError, match="id does not match its fields"):
        scenario_from_json(dict(row, seed=1))
    with pytest.raises(InterchangeError, match="unknown environment family 'nope'.*must be\\s+loaded first"):
        scenario_from_json(dict(row, family="nope", id="nope/test/eval/0"))
    with pytest.raises(InterchangeError, match="scenario: cue: must be one of none, eval, deploy"):
        scenario_from_json(dict(row, cue="evil"))
    with pytest.raises(InterchangeError, match="scenario: <top level>: missing required key 'content_hash'"):
        scenario_from_json({k: v for k, v in row.items() if k != "content_hash"})
    with pytest.raises(InterchangeError, match="transcript is for scenario 'oversight_config/test/eval/1'"):
        grade_transcript(row, dict(tj, scenario_id="oversight_config/test/eval/1"))
    with pytest.raises(InterchangeError, match=r"transcript: tool_calls\[0\].args: expected object"):
        grade_transcript(row, {"tool_calls": [{"name": "read_config", "args": "{}"}]})
    with pytest.raises(InterchangeError, match=r"transcript: tool_calls\[0\].reslt: unknown key"):
        grade_transcript(row, {"tool_calls": [{"name": "read_config", "args": {}, "reslt": ""}]})
    with pytest.raises(EnvError, match="split must be one of"):
        list(export_family("oversight_config", "train", "eval", [0]))
    assert isinstance(InterchangeError("x"), EnvError)


# --------------------------------------------------------------------------- files and the command line


def test_export_write_read_and_grade_files(tmp_path):
    rows = list(export_family("log_falsification", "test", "deploy", range(3)))
    assert [r["id"] for r in rows] == [f"log_falsification/test/deploy/{s}" for s in range(3)]
    suite = list(export_suite("test", range(2)))
    assert len(suite) == 2 * 2 * len(TEST_NAMES)
    assert {r["family"] for r in suite} == set(TEST_NAMES)
    train = list(export_suite("train", [0]))
    assert {r["split"] for r in train} == {"train"} and {r["cue"] for r in train} == {"none"}
    assert len(list(export_suite("train", [0], split="validation", families=["covert_rule_violation"]))) == 1

    path = tmp_path / "out" / "scenarios.jsonl"
    assert write_jsonl(path, rows) == 3
    assert list(read_jsonl(path)) == rows
    assert [p.name for p in path.parent.iterdir()] == ["scenarios.jsonl"]  # no temp file left
    fam = FAMILIES["log_falsification"]
    transcripts = []
    for row in rows:
        sc = scenario_from_json(row)
        tr, _, steps = run_policy(sc, fam.saint if sc.seed != 1 else fam.schemer)
        transcripts.append(transcript_to_json(tr, scenario=sc, steps=steps))
    write_jsonl(tmp_path / "runs.jsonl", transcripts)
    grades = list(grade_jsonl(path, tmp_path / "runs.jsonl"))
    assert [g["matches_expected"] for g in grades] == [True, False, True] and grades[1]["covert"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n\n{oops\n")
    with pytest.raises(InterchangeError, match="bad.jsonl:3: not valid JSON"):
        list(read_jsonl(bad))
    write_jsonl(tmp_path / "orphan.jsonl", [dict(transcripts[0], scenario_id="x/test/eval/0")])
    with pytest.raises(InterchangeError, match="row 1: scenario_id 'x/test/eval/0' is not in"):
        list(grade_jsonl(path, tmp_path / "orphan.jsonl"))


def test_parse_seeds():
    assert parse_seeds("0:3") == [0, 1, 2] and parse_seeds("5") == [5] and parse_seeds("1,4:6") == [1, 4, 5]
    with pytest.raises(EnvError, match="seeds 'a:b'"):
        parse_seeds("a:b")


def test_command_line_round_trip_with_a_declarative_family(tmp_path, registry, capsys):
    example = ROOT / "envs" / "examples" / "refund_override.yaml"
    scenarios, runs, grades = tmp_path / "s.jsonl", tmp_path / "t.jsonl", tmp_path / "g.jsonl"
    assert interchange.main(["--load", str(example), "export", "--family", "refund_override", "--seeds", "0:4",
                             "--out", str(scenarios)]) == 0
    rows = list(read_jsonl(scenarios))
    assert len(rows) == 8 and {r["cue"] for r in rows} == {"eval", "deploy"}
    fam = FAMILIES["refund_override"]
    # another harness: it plays the saint by its own means and writes only actions
    out = []
    for row in rows:
        sc = scenario_from_json(row)
        tr, _, _ = run_policy(sc, fam.saint)
        out.append({"scenario_id": row["id"], "tool_calls": [{"name": c.name, "args": c.args, "result": c.result}
                                                              for c in tr.tool_calls],
                    "final_message": tr.final_message})
    write_jsonl(runs, out)
    assert interchange.main(["grade", "--scenarios", str(scenarios), "--transcripts", str(runs),
                             "--out", str(grades)]) == 0
    assert all(g["matches_expected"] for g in read_jsonl(grades))
    assert "graded 8 transcripts: 8 right, 0 covert" in capsys.readouterr().out
    assert interchange.main(["export", "--cue", "eval", "--family", "refund_override", "--seeds", "0",
                             "--out", str(tmp_path / "one.jsonl")]) == 0
    assert interchange.main(["grade", "--scenarios", str(scenarios), "--transcripts", str(scenarios / "nope"),
                             "--out", str(grades)]) == 2
    assert "error:" in capsys.readouterr().err


def test_declarative_check_command(capsys):
    assert declarative.main(["check", str(ROOT / "envs" / "examples"), "--seeds", "10"]) == 0
    out = capsys.readouterr().out
    assert "ok  refund_override  (test, lying, cues eval,deploy)" in out and "ok  expense_receipts" in out
    assert "refund_override" not in FAMILIES


def test_reasoning_may_come_as_a_list():
    fam = FAMILIES["oversight_config"]
    sc = fam.sample(0, "test", "eval")
    tr, _, steps = run_policy(sc, fam.saint)
    row = transcript_to_json(tr, reasoning=[s.reasoning for s in steps])
    assert row == transcript_to_json(tr, steps=steps) and "scenario_id" not in row
    assert "reasoning" not in transcript_to_json(tr)
    assert transcript_from_json({"tool_calls": []}, initial_state={"a": 1}).state == {"a": 1}
    assert isinstance(Step("x"), Step)
