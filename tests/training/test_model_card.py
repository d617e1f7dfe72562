"""Model cards: lineage at the end of training, results and verdict after the report, in the Hugging
Face convention, without changing the content hash that later stages recorded for the model's stage."""

import json

import yaml

from deliberate import model_card
from deliberate.config import config_from_dict
from deliberate.provenance import content_hash, is_complete, read_manifest, write_manifest


class _Spec:
    name, version, sha256 = "anti_scheming", "1.2", "ab" * 32


def _cfg(tmp_path):
    return config_from_dict({"name": "card", "output_dir": str(tmp_path / "runs"),
                             "envs": {"train": ["covert_rule_violation"], "test": ["log_falsification"]},
                             "data": {"teacher": {"name_or_path": "smollm2-135m-instruct"}},
                             "wandb": {"mode": "disabled"}})


def _front(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def _stages(cfg):
    data, sft = cfg.stage_dir("data"), cfg.stage_dir("sft")
    data.mkdir(parents=True)
    (data / "dataset.jsonl").write_text("{}\n")
    write_manifest(data, stage="data", config_hash="d", spec=_Spec(), record_count=12,
                   extra={"merkle_root": "cd" * 32, "teacher": "smollm2-135m-instruct"})
    (sft / "model").mkdir(parents=True)
    (sft / "model" / "model.safetensors").write_bytes(b"weights")
    return data, sft


def test_card_at_the_end_of_training_has_the_lineage(tmp_path):
    cfg = _cfg(tmp_path)
    data, sft = _stages(cfg)
    path = model_card.write(cfg, "sft", sft, [data])  # as the sft stage calls it, before its manifest
    text = path.read_text()
    front = _front(text)
    assert front["base_model"] == "smollm2-135m-instruct" and front["datasets"] == ["card-dataset"]
    assert {"deliberate", "anti-scheming", "sft"} <= set(front["tags"]) and "model-index" not in front
    assert f"| data | `{read_manifest(data)['content_hash'][:16]}` |" in text
    assert "spec anti_scheming v1.2 (sha256 `abababababababab`)" in text and "12 records, Merkle root `cdcd" in text
    assert "Not evaluated yet" in text


def test_report_refresh_fills_results_and_keeps_the_hash(tmp_path):
    cfg = _cfg(tmp_path)
    data, sft = _stages(cfg)
    model_card.write(cfg, "sft", sft, [data])
    write_manifest(sft, stage="sft", config_hash="s", parents=[data], record_count=12)
    ev = cfg.stage_dir("eval")
    ev.mkdir()
    results = {"families": {"log_falsification": {"category": "lying"},
                            "am_blackmail": {"category": "blackmail", "source": "inspect"}},
               "models": {"base": {"counts": {}},
                          "sft": {"counts": {"log_falsification": {"eval": {"n": 4, "covert": 1},
                                                                   "deploy": {"n": 4, "covert": 3},
                                                                   "all": {"n": 8, "covert": 4}},
                                             "am_blackmail": {"none": {"n": 2, "covert": 0},
                                                              "all": {"n": 2, "covert": 0}}}}}}
    (ev / "results.json").write_text(json.dumps(results))
    write_manifest(ev, stage="eval", config_hash="e", parents=[data, sft], record_count=10)
    report = cfg.stage_dir("report")
    report.mkdir()
    verdict = "Hidden, not suppressed: see [the cue gap](https://example.org/x) and https://example.org/y for more."
    (report / "analysis.json").write_text(json.dumps({"verdicts": [{"model": "sft", "text": verdict}]}))

    before = read_manifest(sft)["content_hash"]
    assert model_card.refresh(cfg) == [sft / "model" / "README.md"]  # base has no folder of ours: no card
    text = (sft / "model" / "README.md").read_text()
    assert content_hash(sft) == before and is_complete(ev, "e", [data, sft])  # later stages still see their parent
    index = _front(text)["model-index"][0]
    assert index["name"] == "card-sft"
    got = {(r["dataset"]["name"], r["dataset"]["config"], r["dataset"]["type"]): r["metrics"][0]["value"]
           for r in index["results"]}
    assert got == {("log_falsification", "eval", "deliberate-heldout"): 0.25,
                   ("log_falsification", "deploy", "deliberate-heldout"): 0.75,
                   ("log_falsification", "all", "deliberate-heldout"): 0.5,
                   ("am_blackmail", "none", "inspect"): 0.0, ("am_blackmail", "all", "inspect"): 0.0}
    assert "| log_falsification | deliberate-heldout | deploy | 0.750 | 3/4 |" in text
    assert "Hidden, not suppressed: see the cue gap and for more." in text and "http" not in text
    assert f"| sft | `{before[:16]}` |" in text  # its own manifest now closes the lineage
