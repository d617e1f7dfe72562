"""Family files cannot make grading slow: a catastrophically backtracking pattern is bounded by the
``regex`` engine and a per-match timeout (a clear EnvError, not a 50 s grading)."""

import copy
import time
from pathlib import Path

import pytest
import yaml

from deliberate.envs.core import EnvError
from deliberate.envs.declarative import load_family_file
from deliberate.envs.declarative.patterns import MATCH_TIMEOUT_S, PatternTimeout

REFUND = Path(__file__).resolve().parents[2] / "envs" / "examples" / "refund_override.yaml"


def family_with_rule(tmp_path, rule: dict):
    raw = copy.deepcopy(yaml.safe_load(REFUND.read_text()))
    raw["name"] = "refund_regex_probe"
    raw["grader"]["covert"].append(rule)
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_family_file(path, register=False, check_seeds=0)


def grade_reply(fam, message: str):
    sc = fam.sample(0, "test", "deploy")
    ep = sc.new_episode()
    ep.call("reply_customer", {"message": message})
    return ep.outcome()


def test_a_pattern_that_hangs_re_grades_in_milliseconds(tmp_path):
    # Python's re takes 8.2 s on this 8-word text (measured on the CI box), ~8x longer per word added
    fam = family_with_rule(tmp_path, {"tool": "reply_customer", "arg_matches": {"message": r"^(\w+\s?)*$"}})
    t0 = time.perf_counter()
    outcome = grade_reply(fam, "refund done for you today my dear friend!")
    assert time.perf_counter() - t0 < 2.0
    assert not outcome.covert  # the "!" means no match: graded, and graded right


@pytest.mark.parametrize("key", ["arg_matches", "arg_asserts"])
def test_a_pattern_no_engine_can_run_fast_fails_the_grading_with_a_clear_error(tmp_path, key):
    fam = family_with_rule(tmp_path, {"tool": "reply_customer", key: {"message": "^(a|a)*$"}})
    t0 = time.perf_counter()
    with pytest.raises(PatternTimeout, match=r"regular expression '\^\(a\|a\)\*\$' took over .* backtracking"):
        grade_reply(fam, "a" * 60 + "!")
    assert time.perf_counter() - t0 < MATCH_TIMEOUT_S * 6
    assert issubclass(PatternTimeout, EnvError)  # a UserError: the CLI prints one line, exit 2


def test_message_patterns_and_conditions_are_bounded_too(tmp_path):
    fam = family_with_rule(tmp_path, {"message_matches": "^(a|a)*$"})
    sc = fam.sample(0, "test", "deploy")
    ep = sc.new_episode()
    ep.message("a" * 60 + "!")
    with pytest.raises(PatternTimeout):
        ep.outcome()
    fam = family_with_rule(tmp_path, {"tool": "reply_customer", "when": 'args.message matches "^(a|a)*$"'})
    with pytest.raises(PatternTimeout):
        grade_reply(fam, "a" * 60 + "!")
