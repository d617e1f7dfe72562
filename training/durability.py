"""Durability stage: does anti-scheming training survive further capability-only training?

    deliberate durability configs/experiments/demo.yaml      (or as part of `deliberate run`)

Continues the trained model (``durability.after``: the RL output when RL is on, else the SFT
output) with an ordinary fine-tune on capability data that says nothing about the spec,
oversight or honesty (``data/capability.py``: procedural tasks, or your own chat dataset), and
writes ``<output_dir>/durability/model``. The eval stage evaluates it as model "durable" and
the report compares it with the model it started from: the change in covert rate and in spec
citation, with intervals. Training is the SFT stage's own code (same template, resume after a
kill, LoRA, accelerate), pointed at the trained model and this data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from pathlib import Path

from deliberate.config import ExperimentConfig, ModelConfig, config_hash, to_dict
from deliberate.data.capability import durability_records
from deliberate.provenance import is_complete, read_manifest, write_json_atomic, write_manifest
from deliberate.tracking import Tracker, stage_run
from deliberate.training.common import distributed_state, publish, work_dir
from deliberate.training.sft import run_sft


def training_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """The experiment as the SFT code sees it: the trained model is the student, the durability
    knobs are the SFT knobs."""
    du = cfg.durability
    sft = dataclasses.replace(cfg.sft, model=ModelConfig(name_or_path=str(cfg.stage_dir(cfg.durable_from()) / "model")),
                              max_steps=du.max_steps, learning_rate=du.learning_rate,
                              per_device_train_batch_size=du.per_device_train_batch_size,
                              gradient_accumulation_steps=du.gradient_accumulation_steps, max_length=du.max_length,
                              lora=du.lora, packing=False, save_steps=cfg.sft.save_steps, seed=du.seed)
    return dataclasses.replace(cfg, sft=sft)


def write_dataset(records: list[dict], folder: Path) -> None:
    import datasets

    rows = [{"messages": r["messages"]} for r in records]
    ds = datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)})
    ds.save_to_disk(str(folder / "dataset"), num_shards={"train": 1})


def main(cfg: ExperimentConfig, force: bool = False) -> Path:
    state = distributed_state()
    after = cfg.durable_from()
    out, parent = cfg.stage_dir("durability"), cfg.stage_dir(after)
    chash = config_hash({"durability": to_dict(cfg.durability), "after": after, "template": to_dict(cfg.sft)})
    if not force and is_complete(out, chash, [parent]):
        print(f"[durability] complete, skipping: {out}")
        return out
    if read_manifest(parent) is None:
        raise FileNotFoundError(f"{parent} has no manifest: the durability run continues the {after!r} model; "
                                f"run `deliberate {after}` first")
    tmp, resume = work_dir(out, chash, [parent], state)
    records, source = durability_records(cfg.durability)
    if state.is_main_process:
        write_dataset(records, tmp / "capability")
    state.wait_for_everyone()
    tracking = stage_run(cfg, "durability") if state.is_main_process else contextlib.nullcontext(Tracker(None))
    with tracking as tracker:
        summary = run_sft(training_config(cfg), tmp / "capability", tmp, resume=resume)
        if state.is_main_process:
            summary = {**summary, "after": after, "data": source}
            print(f"[durability] {json.dumps(summary)}", flush=True)
            if not summary["changed_params"]:
                raise RuntimeError("durability: training finished but no parameter of the saved model changed")
            write_json_atomic(tmp / "summary.json", summary)
            shutil.rmtree(tmp / "checkpoints", ignore_errors=True)
            write_manifest(tmp, stage="durability", config_hash=chash, spec=None, parents=[parent],
                           record_count=len(records), extra={"summary": summary})
            tracker.summary({f"durability/{k}": v for k, v in summary.items() if not isinstance(v, dict)})
            tracker.artifact(f"{cfg.name}-durable-model", "model", tmp / "model",
                             use=[f"{cfg.name}-{after}-model:latest"])
    publish(tmp, out, state)
    return out
