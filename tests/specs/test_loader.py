"""The spec loader: the shipped spec, every error case, and citation checking."""

import hashlib
from importlib import resources

import pytest

from deliberate.specs.loader import Clause, Spec, SpecError, citation_mentions, cited_ids, load_spec

IDS = ["AS1", "AS2", "AS3", "AS4", "AS5", "GP1", "GP2", "GP3", "GP4"]

GOOD = """# My spec

Version: 2.1.0

Preamble.

## Rules

### SEC1 — First rule

Do the first thing.

### SEC12 – Second rule (en dash)

Do the second thing.

#### A sub-heading inside the body

More body.

### OPS3 - Third rule (hyphen)

Do the third thing.
"""


def write(tmp_path, text, name="spec.md"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_spec_loads():
    spec = load_spec("anti_scheming")
    assert spec.ids() == IDS
    assert spec.version == "1.0.0"
    assert spec.name == "anti_scheming"
    raw = resources.files("deliberate.specs").joinpath("anti_scheming.md").read_bytes()
    assert spec.sha256 == hashlib.sha256(raw).hexdigest()
    assert spec.text == raw.decode()
    assert "AS1" in spec.render() and "GP4" in spec.render()
    assert spec.clause("AS1").title == "No covert actions or strategic deception"
    for cid in IDS:
        clause = spec.clause(cid)
        assert isinstance(clause, Clause) and clause.id == cid
        assert clause.title and 2 <= clause.body.count(".") <= 8, cid
        assert "###" not in clause.body and "##" not in clause.body


def test_unknown_clause_lookup_names_the_id():
    with pytest.raises(KeyError, match="AS9"):
        load_spec("anti_scheming").clause("AS9")


def test_path_spec_with_all_separators(tmp_path):
    path = write(tmp_path, GOOD)
    spec = load_spec(str(path))
    assert isinstance(spec, Spec)
    assert spec.ids() == ["SEC1", "SEC12", "OPS3"]
    assert spec.version == "2.1.0"
    assert spec.name == "spec"
    assert spec.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert spec.clause("SEC12").title == "Second rule (en dash)"
    assert "A sub-heading" in spec.clause("SEC12").body and "More body." in spec.clause("SEC12").body
    assert spec.clause("OPS3").body == "Do the third thing."


def test_same_bytes_same_hash_and_changed_bytes_changed_hash(tmp_path):
    a = load_spec(str(write(tmp_path, GOOD, "a.md")))
    b = load_spec(str(write(tmp_path, GOOD, "b.md")))
    c = load_spec(str(write(tmp_path, GOOD.replace("first thing", "1st thing"), "c.md")))
    assert a.sha256 == b.sha256 != c.sha256


def test_headings_in_code_fences_are_ignored(tmp_path):
    text = GOOD.replace("Do the first thing.", "Do the first thing.\n\n```\n### not a clause\n```")
    spec = load_spec(str(write(tmp_path, text)))
    assert spec.ids() == ["SEC1", "SEC12", "OPS3"]
    assert "### not a clause" in spec.clause("SEC1").body


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_spec(str(tmp_path / "nope.md"))


def test_unknown_packaged_name():
    with pytest.raises(SpecError, match="no packaged spec.*anti_scheming"):
        load_spec("no_such_spec")


def test_spec_error_is_value_error():
    assert issubclass(SpecError, ValueError)


@pytest.mark.parametrize(
    "edit, line, message",
    [
        (lambda t: t.replace("Version: 2.1.0\n", ""), 1, "no 'Version"),
        (lambda t: t.replace("### SEC1 — First rule", "### SEC1: First rule"), 9, "not of the form"),
        (lambda t: t.replace("### SEC1 — First rule", "###"), 9, "not of the form"),
        (lambda t: t.replace("### SEC1 — First rule", "### sec1 — First rule"), 9, "malformed clause ID 'sec1'"),
        (lambda t: t.replace("### SEC1 — First rule", "### S1x — First rule"), 9, "malformed clause ID 'S1x'"),
        (lambda t: t.replace("### SEC1 — First rule", "### A1 — First rule"), 9, "malformed clause ID 'A1'"),
        (lambda t: t.replace("### OPS3 -", "### SEC1 -"), 21, "duplicate clause ID SEC1.*line 9"),
        (lambda t: t.replace("Do the first thing.", ""), 9, "SEC1 has an empty body"),
        (lambda t: t.replace("Do the third thing.\n", ""), 21, "OPS3 has an empty body"),
        (lambda t: "# Title\n\nVersion: 1\n\nNo clauses here.\n", 1, "no clauses"),
    ],
)
def test_errors_name_file_line_and_problem(tmp_path, edit, line, message):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(SpecError, match=message) as info:
        load_spec(str(path))
    assert f"{path}:{line}:" in str(info.value)


def test_cited_ids():
    spec = load_spec("anti_scheming")
    assert cited_ids("Per AS1 I must not act covertly, and AS5 says escalate. AS1 again.", spec) == (["AS1", "AS5"], [])
    assert cited_ids("(GP2), GP1; AS3.", spec) == (["GP2", "GP1", "AS3"], [])
    # ID-shaped with the spec's prefixes but no such clause
    assert cited_ids("By AS9 and GP7 and AS1", spec) == (["AS1"], ["AS9", "GP7"])
    # word boundaries: GAS12 / AS12x / xAS1 are not citations of AS1
    assert cited_ids("GAS12 AS1x xAS1 AS12", spec) == ([], ["AS12"])
    # other prefixes are not citations at all (lower case joined is, since session 16: the next test)
    assert cited_ids("MP3 files, COVID19, mp3, covid19", spec) == ([], [])
    assert cited_ids("", spec) == ([], [])


def test_cited_ids_uses_the_specs_own_prefixes(tmp_path):
    spec = load_spec(str(write(tmp_path, GOOD)))
    assert cited_ids("SEC12 then OPS3, SEC2, AS1", spec) == (["SEC12", "OPS3"], ["SEC2"])


def test_cited_ids_reads_ids_written_with_a_separator(tmp_path):
    spec = load_spec("anti_scheming")
    # a hyphen, an en dash or a space between letters and digits (the thirteenth labeled set's "AS 3", "GP 8")
    assert cited_ids("Per AS 3 I flag it; GP 8 says I can skip the review.", spec) == (["AS3"], ["GP8"])
    assert cited_ids("GP-3 says rules hold; AS\u20134 too; GP-5 allows it.", spec) == (["GP3", "AS4"], ["GP5"])
    assert citation_mentions("Per AS 3 and AS3.", spec) == [(4, 8, "AS3"), (13, 16, "AS3")]
    # a spaced unknown ID alone is ordinary text, not a citation; a suffix after a separated ID is not one either
    assert cited_ids("GP 8 was the gate number.", spec) == ([], [])
    assert cited_ids("AS-3-bis and AS-2b and AS 3.1", spec) == ([], [])
    # the joined form is read as before: ranges and dotted sub-clauses keep their real ends
    assert cited_ids("GP1-GP4, AS1-9, GP2.1", spec) == (["GP1", "GP4", "AS1", "GP2"], [])
    # a user spec whose prefix is an ordinary acronym: "SEC 10" counts only beside a real citation
    user = load_spec(str(write(tmp_path, GOOD)))
    assert cited_ids("the SEC 10-K filing is due", user) == ([], [])
    assert cited_ids("SEC 10 and SEC12 both apply", user) == (["SEC12"], ["SEC10"])


def test_cited_ids_reads_joined_lower_case_ids():
    spec = load_spec("anti_scheming")
    # writers' shorthand (sets 4-15): "gp3 and GP3", "per as9"; read as the upper-case ID, real or not
    assert cited_ids("gp3 and GP3 both say new is not exempt; per as9 I may skip it.", spec) == (["GP3"], ["AS9"])
    assert citation_mentions("per as2.", spec) == [(4, 7, "AS2")]
    # only the spec's prefixes, joined: "mp3", "as 3 people", "was3" and "as_2" are not citations
    assert cited_ids("the mp3 plays as 3 people said; was3 and as_2 too", spec) == ([], [])
