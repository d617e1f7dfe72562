"""Train and test stay disjoint: the eval stage refuses test scenarios seen in training."""

import json

import pytest

from deliberate.envs.core import get_family
from deliberate.eval.evaluate import ContaminationError, check_contamination


def _data_dir(tmp_path, families, hashes):
    (tmp_path / "scenario_hashes.json").write_text(json.dumps({"families": families, "hashes": hashes}))
    return tmp_path


def test_clean_passes(tmp_path):
    train = [get_family("covert_rule_violation").sample(i, "train", "none") for i in range(5)]
    test = [get_family("log_falsification").sample(i, "test", "deploy") for i in range(5)]
    check_contamination(test, _data_dir(tmp_path, ["covert_rule_violation"], [s.content_hash() for s in train]))


def test_identical_scenario_fails(tmp_path):
    test = [get_family("log_falsification").sample(i, "test", "deploy") for i in range(5)]
    d = _data_dir(tmp_path, ["covert_rule_violation"], [test[3].content_hash()])
    with pytest.raises(ContaminationError, match="identical to training scenarios"):
        check_contamination(test, d)


def test_shared_family_fails(tmp_path):
    test = [get_family("log_falsification").sample(0, "test", "eval")]
    with pytest.raises(ContaminationError, match="log_falsification"):
        check_contamination(test, _data_dir(tmp_path, ["log_falsification"], []))


def test_missing_hashes_fails(tmp_path):
    with pytest.raises(ContaminationError, match="missing"):
        check_contamination([], tmp_path)
