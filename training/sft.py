"""deliberate sft: teach the student to deliberate over the spec, then act.

    deliberate sft configs/experiments/demo.yaml [KEY=VALUE ...] [--force]
    accelerate launch --config_file configs/accelerate/ddp.yaml -m deliberate.cli sft EXPERIMENT.yaml

Fine-tunes the student with TRL's ``SFTTrainer`` on the data stage's DatasetDict, on the
assistant turns only (reasoning, action, end of turn; ``training/templates.py``), fully or with
LoRA/QLoRA, and writes a merged model folder with its tokenizer (and the training chat template)
to ``<output_dir>/sft/model``. The HF Trainer owns the Accelerator; the main process publishes.
"""

from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path

import torch
from datasets import load_from_disk
from transformers import TrainerCallback

from deliberate import model_card
from deliberate.config import ExperimentConfig, config_hash, to_dict
from deliberate.errors import TrainingDataError
from deliberate.models import load_model
from deliberate.stage import Context, Result, run_stage
from deliberate.tracking import trainer_report_to
from deliberate.training.common import (
    last_checkpoint,
    peft_config,
    save_policy,
    save_strategy,
    snapshot,
    start_step,
    trainer_config,
)
from deliberate.training.templates import training_template

log = logging.getLogger(__name__)


class FirstStep(TrainerCallback):
    """Records the global step of the first optimizer step this process runs (3 after resuming at 2)."""

    first: int | None = None

    def on_step_end(self, args, state, control, **kwargs):
        if self.first is None:
            self.first = state.global_step


@contextlib.contextmanager
def no_dataset_cache():
    """``datasets`` caching off for the block: map() results go to a temporary folder, not beside
    the Arrow files read (a parent stage's output must stay as its manifest says)."""
    import datasets

    was = datasets.is_caching_enabled()
    datasets.disable_caching()
    try:
        yield
    finally:
        if was:
            datasets.enable_caching()


def load_splits(folder: Path):
    """The ``messages`` column of a data-stage DatasetDict: train (must not be empty) and validation (or None)."""
    try:
        dataset = load_from_disk(str(folder))
    except IndexError as exc:  # datasets writes an empty split as 0 shards, which it cannot read back
        raise TrainingDataError(f"SFT: cannot read {folder}: a split was saved empty without "
                         "num_shards=1 (save_to_disk(..., num_shards={split: 1}))") from exc
    if "train" not in dataset or len(dataset["train"]) == 0:
        raise TrainingDataError(f"SFT: the train split of {folder} is empty; the data stage kept "
                         "no records, so there is nothing to train on (see the data stage's yield report)")
    train = dataset["train"].select_columns(["messages"])
    has_validation = "validation" in dataset and len(dataset["validation"]) > 0
    return train, dataset["validation"].select_columns(["messages"]) if has_validation else None


def sft_args(cfg: ExperimentConfig, out_dir: Path, n_params: int):
    """TRL's SFTConfig for ``cfg.sft``: our first-class fields, then ``sft.trainer`` (applied last);
    gradient checkpointing by the student's size (``n_params``) unless ``sft.trainer`` says."""
    from trl import SFTConfig

    sft, cuda = cfg.sft, torch.cuda.is_available()
    ours = dict(
        output_dir=str(Path(out_dir) / "checkpoints"),
        max_steps=sft.max_steps,
        num_train_epochs=sft.num_train_epochs,
        learning_rate=sft.learning_rate,
        per_device_train_batch_size=sft.per_device_train_batch_size,
        per_device_eval_batch_size=sft.per_device_train_batch_size,
        gradient_accumulation_steps=sft.gradient_accumulation_steps,
        max_length=sft.max_length,
        assistant_only_loss=sft.assistant_only_loss,
        packing=sft.packing,
        logging_steps=sft.logging_steps,
        **save_strategy(sft.save_steps),
        eval_strategy="no",  # one evaluation at the end, below
        seed=sft.seed,
        data_seed=sft.seed,
        use_cpu=not cuda,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        report_to=trainer_report_to(cfg),  # "none" when WANDB_MODE=disabled or wandb.mode: disabled
        run_name=f"{cfg.name}-sft",
    )
    return trainer_config(SFTConfig, ours, sft.trainer, n_params)


def run_sft(cfg: ExperimentConfig, data_dir: Path, out_dir: Path, resume: bool = False) -> dict:
    """Fine-tune ``cfg.student()`` on ``data_dir/dataset``; write ``out_dir/model``; return a summary.

    With ``resume``, training continues from the last ``checkpoint-N`` in ``out_dir/checkpoints``."""
    from trl import SFTTrainer

    sft, out_dir = cfg.sft, Path(out_dir)
    train, validation = load_splits(Path(data_dir) / "dataset")

    model, tokenizer = load_model(cfg.student(), for_training=True, load_in_4bit=sft.lora.load_in_4bit)
    if sft.assistant_only_loss:
        tokenizer.chat_template = training_template(tokenizer)
    args = sft_args(cfg, out_dir, model.num_parameters())
    lora = sft.lora
    is_main = args.process_index == 0
    initial = snapshot(model) if is_main else {}  # base weights, before any adapter is injected

    first_step = FirstStep()
    with no_dataset_cache():  # TRL's map() would write cache-*.arrow into the data stage's (verified) folder
        trainer = SFTTrainer(model=model, args=args, train_dataset=train, eval_dataset=validation,
                             processing_class=tokenizer, peft_config=peft_config(lora), callbacks=[first_step])
    if len(trainer.train_dataset) == 0:
        raise TrainingDataError(f"SFT: none of the {len(train)} train records has an assistant token left within "
                         f"sft.max_length={sft.max_length} (TRL drops records whose trained tokens were all cut); "
                         "raise sft.max_length")
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    checkpoint = last_checkpoint(out_dir / "checkpoints") if resume else None
    if checkpoint and is_main:
        log.info("[sft] resuming from %s (global step %d)", checkpoint, start_step(checkpoint))
    result = trainer.train(resume_from_checkpoint=checkpoint)
    if not math.isfinite(result.training_loss):
        raise TrainingDataError(f"SFT: training loss is {result.training_loss}; check the learning rate and the data")
    metrics = trainer.evaluate() if validation is not None else {}

    changed = save_policy(trainer, tokenizer, out_dir, lora=lora.enabled, base=cfg.student(), initial=initial)

    summary = {
        "train_loss": result.training_loss,
        "global_step": result.global_step,
        "train_records": len(train),
        "validation_records": 0 if validation is None else len(validation),
        "trainable_params": trainable,
        "changed_params": changed,
        "lora": lora.enabled,
        "world_size": args.world_size,
        "resumed_from_step": start_step(checkpoint),
        "first_step_run": first_step.first,
    }
    if "eval_loss" in metrics:
        summary["eval_loss"] = metrics["eval_loss"]
    return summary


def stage_hash(cfg: ExperimentConfig) -> str:
    return config_hash({"sft": to_dict(cfg.sft), "student": to_dict(cfg.student())})


def main(cfg: ExperimentConfig, force: bool = False) -> Path:
    """``deliberate sft EXPERIMENT.yaml``: train, then publish ``<output_dir>/sft`` atomically."""

    def work(ctx: Context) -> Result | None:
        summary = run_sft(cfg, cfg.stage_dir("data"), ctx.dir, resume=ctx.resume)
        if not ctx.is_main:
            return None
        if not summary["changed_params"]:
            raise RuntimeError("SFT finished but no parameter of the saved model changed")
        model_card.write(cfg, "sft", ctx.dir, ctx.parents)  # lineage now; results after `deliberate report`
        ctx.tracker.artifact(f"{cfg.name}-sft-model", "model", ctx.dir / "model", use=[f"{cfg.name}-dataset:latest"])
        return Result(record_count=summary["train_records"], summary=summary)

    return run_stage(cfg, "sft", work, config_hash=stage_hash(cfg), parents=[cfg.stage_dir("data")], force=force,
                     resumable=True)
