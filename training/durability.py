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

import dataclasses
from pathlib import Path

from deliberate import model_card
from deliberate.config import ExperimentConfig, ModelConfig, config_hash, to_dict
from deliberate.data.capability import durability_records
from deliberate.stage import Context, Result, run_stage
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
    """``deliberate durability EXPERIMENT.yaml``: capability-only training of the trained model."""
    after = cfg.durable_from()

    def work(ctx: Context) -> Result | None:
        records, source = durability_records(cfg.durability)
        if ctx.is_main:
            write_dataset(records, ctx.dir / "capability")
        ctx.state.wait_for_everyone()
        summary = run_sft(training_config(cfg), ctx.dir / "capability", ctx.dir, resume=ctx.resume)
        if not ctx.is_main:
            return None
        if not summary["changed_params"]:
            raise RuntimeError("durability: training finished but no parameter of the saved model changed")
        model_card.write(cfg, "durability", ctx.dir, ctx.parents)  # lineage; results after `deliberate report`
        ctx.tracker.artifact(f"{cfg.name}-durable-model", "model", ctx.dir / "model",
                             use=[f"{cfg.name}-{after}-model:latest"])
        return Result(record_count=len(records), summary={**summary, "after": after, "data": source})

    chash = config_hash({"durability": to_dict(cfg.durability), "after": after, "template": to_dict(cfg.sft)})
    return run_stage(cfg, "durability", work, config_hash=chash, parents=[cfg.stage_dir(after)], force=force,
                     resumable=True, missing_hint=f" (the durability run continues the {after!r} model)")
