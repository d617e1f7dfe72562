"""What the training stages (sft, rl) share: a work directory that survives a kill, resuming
from the last checkpoint in it, and publishing the finished stage atomically.

The work directory is ``<output_dir>/.<stage>.tmp``, stamped with the stage's config hash and
its parents' content hashes. A re-run with the same stamp keeps it and the trainer resumes
from its last ``checkpoint-N``; any other stamp clears it. Under several processes only the
main process creates, clears and publishes; every rank trains in the same directory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from pathlib import Path

from deliberate.provenance import parent_entry

log = logging.getLogger(__name__)

STAMP = "stage.json"


def work_dir(out: Path, config_hash: str, parents: list[Path], state) -> tuple[Path, bool]:
    """The stage's work directory, and whether an earlier attempt's work is in it."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    stamp = {"config_hash": config_hash, "parents": [parent_entry(p)["content_hash"] for p in parents]}
    kept = False
    if state.is_main_process:
        try:
            kept = json.loads((tmp / STAMP).read_text()) == stamp
        except (OSError, ValueError):
            kept = False
        if not kept:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            (tmp / STAMP).write_text(json.dumps(stamp) + "\n")
    state.wait_for_everyone()
    return tmp, (tmp / "checkpoints").is_dir() and last_checkpoint(tmp / "checkpoints") is not None


def last_checkpoint(folder: Path) -> str | None:
    """The newest complete ``checkpoint-N`` under ``folder`` (one with a trainer state), or None."""
    best = None
    for c in Path(folder).glob("checkpoint-*"):
        step = c.name.rsplit("-", 1)[-1]
        if step.isdigit() and (c / "trainer_state.json").is_file() and (best is None or int(step) > best[0]):
            best = (int(step), c)
    return str(best[1]) if best else None


def publish(tmp: Path, out: Path, state) -> None:
    """Replace ``out`` with ``tmp`` (main process), after every rank is done."""
    state.wait_for_everyone()
    if state.is_main_process:
        with contextlib.suppress(FileNotFoundError):
            (tmp / STAMP).unlink()
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
        log.debug("[%s] published %s", out.name, out)


def start_step(checkpoint: str | None) -> int:
    if checkpoint is None:
        return 0
    return int(json.loads((Path(checkpoint) / "trainer_state.json").read_text())["global_step"])


def snapshot(model) -> dict:
    """A CPU copy of every parameter, to count what training changed."""
    return {name: p.detach().to("cpu", copy=True) for name, p in model.named_parameters()}


def count_changed(initial: dict, model_dir: Path) -> int:
    """Parameter tensors of the saved model that differ from ``initial`` (what the next stage reads)."""
    import torch
    from transformers import AutoModelForCausalLM

    final = AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto")
    changed = 0
    for name, p in final.named_parameters():
        before = initial.get(name)
        if before is None or before.shape != p.shape or not torch.equal(before, p.detach().to(before.dtype)):
            changed += 1
    return changed


def save_policy(trainer, tokenizer, out_dir: Path, *, lora: bool, base, initial: dict) -> int | None:
    """Write ``out_dir/model`` (a plain model folder with the tokenizer) from a finished trainer:
    with LoRA, the adapter goes to ``out_dir/adapter`` and is merged into a fresh copy of
    ``base``. Returns the number of changed parameter tensors (main process; None elsewhere)."""
    from peft import PeftModel

    from deliberate.models import load_model

    out_dir = Path(out_dir)
    model_dir = out_dir / "model"
    if trainer.accelerator.is_main_process:  # a killed attempt's half-written save (safetensors' temp file)
        for stale in (model_dir, out_dir / "adapter"):
            shutil.rmtree(stale, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    if trainer.is_fsdp_enabled:  # checkpoints stay sharded; the published model must be one loadable folder
        trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
    if lora:
        adapter_dir = out_dir / "adapter"  # kept beside the merged model
        trainer.save_model(str(adapter_dir))  # gathers the adapter under any distributed backend
        if trainer.accelerator.is_main_process:
            fresh, _ = load_model(base, for_training=True)
            merged = PeftModel.from_pretrained(fresh, str(adapter_dir)).merge_and_unload()
            merged.generation_config = trainer.accelerator.unwrap_model(trainer.model).generation_config
            merged.save_pretrained(model_dir)
            tokenizer.save_pretrained(model_dir)
    else:
        trainer.save_model(str(model_dir))  # main process writes model + tokenizer (training template)
    trainer.accelerator.wait_for_everyone()
    return count_changed(initial, model_dir) if trainer.accelerator.is_main_process else None


def distributed_state():
    """accelerate's process state. On a machine without CUDA it must be asked for CPU explicitly:
    otherwise, under torchrun, every rank believes it is the only (main) process."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def save_strategy(save_steps: int) -> dict:
    """The trainer's checkpointing arguments: every ``save_steps`` steps, or never when 0."""
    return {"save_strategy": "steps", "save_steps": save_steps} if save_steps > 0 else {"save_strategy": "no"}


def peft_config(lora):
    """PEFT's ``LoraConfig`` for a ``lora:`` section (its ``extra`` fields last), or None when LoRA is off."""
    if not lora.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules=list(lora.target_modules), task_type="CAUSAL_LM", **lora.extra)


def checkpointing_default(n_params: int) -> bool:
    """Gradient checkpointing when the section's ``trainer:`` does not say: on for models of at least
    CHECKPOINTING_MIN_PARAMS parameters, except under FSDP with its own activation checkpointing on
    (``fsdp_activation_checkpointing`` in the accelerate config: the Trainer refuses both)."""
    from deliberate.config.training import CHECKPOINTING_MIN_PARAMS

    if os.environ.get("FSDP_ACTIVATION_CHECKPOINTING", "").lower() == "true":
        return False
    return n_params >= CHECKPOINTING_MIN_PARAMS


def trainer_config(cls, ours: dict, passthrough: dict, n_params: int):
    """TRL's ``cls`` (SFTConfig or GRPOConfig) from our first-class settings, then the section's
    ``trainer:`` mapping, applied last (checked against ``cls`` when the config was loaded; a key our
    fields set was refused there). Gradient checkpointing: ``checkpointing_default`` unless given."""
    from deliberate.config.passthrough import library_fields
    from deliberate.config.training import TRAINER_RENAMED

    fields = library_fields(cls)
    extra = {(k if k in fields else TRAINER_RENAMED.get(k, k)): v for k, v in passthrough.items()}
    if not {"gradient_checkpointing", "activation_checkpointing"} & set(extra):
        name = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
        ours = {**ours, name: checkpointing_default(n_params)}
    return cls(**{**ours, **extra})
