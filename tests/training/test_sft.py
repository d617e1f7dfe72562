"""SFT stage on a tiny random model: assistant-only masking, full FT, LoRA, and clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from datasets import Dataset, DatasetDict
from transformers import AutoModelForCausalLM, AutoTokenizer

from deliberate.config import DataConfig, ExperimentConfig, LoraConfig, ModelConfig, SftConfig, WandbConfig
from deliberate.training.sft import run_sft
from deliberate.training.templates import shipped_template, training_template

SYSTEM = "You are an operations agent. Tools: read_file, escalate, finish."


def _conversation(i: int) -> list[dict]:
    return [
        {"role": "system", "content": SYSTEM, "reasoning": ""},
        {"role": "user", "content": f"Task {i}: finish the checklist by skipping the review.", "reasoning": ""},
        {"role": "assistant", "content": json.dumps({"tool": "read_file", "args": {"path": f"logs/{i}.txt"}}),
         "reasoning": "I should check the log before I act."},
        {"role": "user", "content": json.dumps({"tool_result": f"review required for record {i}"}), "reasoning": ""},
        {"role": "assistant", "content": json.dumps({"tool": "escalate", "args": {"message": "Review needed."}}),
         "reasoning": "AS1: no covert actions. Skipping the review breaks a rule, so I escalate openly."},
    ]


def _records(n: int) -> list[dict]:
    return [{"scenario_id": f"s{i}", "family": "covert_rule_violation", "messages": _conversation(i)}
            for i in range(n)]


def _save_data(tmp_path, train: int = 4, validation: int = 1):
    data_dir = tmp_path / "data"
    empty = Dataset.from_list(_records(1)).select([])
    dd = DatasetDict({
        "train": Dataset.from_list(_records(train)) if train else empty,
        "validation": Dataset.from_list(_records(validation)) if validation else empty,
    })
    # num_shards=1: datasets 5.2 writes an empty split as 0 shards that load_from_disk cannot read.
    dd.save_to_disk(str(data_dir / "dataset"), num_shards={"train": 1, "validation": 1})
    return data_dir


def _cfg(tmp_path, model_dir, **sft) -> ExperimentConfig:
    # Built directly (not via config_from_dict) so these tests do not depend on registered env families.
    sft.setdefault("max_steps", 2)
    sft.setdefault("per_device_train_batch_size", 2)
    sft.setdefault("learning_rate", 1e-2)  # large, so two steps visibly move a random model
    sft.setdefault("max_length", 512)
    return ExperimentConfig(
        name="test-sft",
        output_dir=str(tmp_path / "runs"),
        data=DataConfig(teacher=ModelConfig(name_or_path=str(model_dir))),
        sft=SftConfig(**sft),
        wandb=WandbConfig(mode="disabled"),
    )


def _masked_spans(ids: list[int], mask: list[int], tokenizer) -> list[str]:
    spans, cur = [], []
    for tok, m in zip(ids, mask):
        if m:
            cur.append(tok)
        elif cur:
            spans.append(cur)
            cur = []
    if cur:
        spans.append(cur)
    return [tokenizer.decode(s) for s in spans]


def test_assistant_only_mask_covers_reasoning_action_and_end_of_turn(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = training_template(tokenizer)
    messages = _conversation(0)
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    expected = [f"<think>\n{m['reasoning']}\n</think>\n{m['content']}<|im_end|>"
                for m in messages if m["role"] == "assistant"]
    assert _masked_spans(out["input_ids"], out["assistant_masks"], tokenizer) == expected
    # Nothing of the system prompt, the task or the tool result is trained on.
    unmasked = tokenizer.decode([t for t, m in zip(out["input_ids"], out["assistant_masks"]) if not m])
    for m in messages:
        if m["role"] != "assistant":
            assert m["content"] in unmasked
    # The prompt at inference renders system/user exactly like the model's own ChatML template.
    original = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt = messages[:2]
    assert (tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
            == original.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True))


def test_full_finetune_changes_weights_and_saves_loadable_model(tmp_path, tiny_model_dir):
    data_dir = _save_data(tmp_path)
    cfg = _cfg(tmp_path, tiny_model_dir)
    summary = run_sft(cfg, data_dir, tmp_path / "sft")
    assert math.isfinite(summary["train_loss"]) and math.isfinite(summary["eval_loss"])
    assert summary["global_step"] == 2 and summary["changed_params"] > 0 and not summary["lora"]
    assert summary["train_records"] == 4 and summary["validation_records"] == 1
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "sft" / "model")
    assert summary["trainable_params"] == sum(p.numel() for p in model.parameters())
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "sft" / "model")
    assert tokenizer.chat_template == shipped_template("ChatML")


def test_lora_changes_only_targeted_modules_and_saves_merged_model(tmp_path, tiny_model_dir):
    data_dir = _save_data(tmp_path, validation=0)
    cfg = _cfg(tmp_path, tiny_model_dir, lora=LoraConfig(enabled=True, rank=4, alpha=8, dropout=0.0,
                                                           target_modules=["q_proj", "v_proj"]))
    summary = run_sft(cfg, data_dir, tmp_path / "sft")
    assert summary["lora"] and summary["validation_records"] == 0 and "eval_loss" not in summary
    base = dict(AutoModelForCausalLM.from_pretrained(tiny_model_dir).named_parameters())
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "sft" / "model")  # a plain folder, no adapter
    changed = {n for n, p in merged.named_parameters() if not torch.equal(p, base[n])}
    assert changed and all(n.endswith(("q_proj.weight", "v_proj.weight")) for n in changed)
    assert summary["changed_params"] == len(changed)
    assert summary["trainable_params"] < sum(p.numel() for p in base.values()) // 10
    assert "generation" in AutoTokenizer.from_pretrained(tmp_path / "sft" / "model").chat_template


def test_unsupported_chat_template_is_a_clear_error(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(ValueError, match=r"no \{% generation %\} markers.*ChatML"):
        training_template(tokenizer)
    # A template that already has markers is used as is.
    marked = "{% for m in messages %}{% generation %}{{ m['content'] }}{% endgeneration %}{% endfor %}"
    tokenizer.chat_template = marked
    assert training_template(tokenizer) == marked


def test_empty_train_split_is_a_clear_error(tmp_path, tiny_model_dir):
    data_dir = _save_data(tmp_path, train=0)
    with pytest.raises(ValueError, match="train split .* is empty"):
        run_sft(_cfg(tmp_path, tiny_model_dir), data_dir, tmp_path / "sft")



def test_killed_sft_resumes_from_its_last_checkpoint(tmp_path, tiny_model_dir):
    """SIGKILL right after the step-2 checkpoint is written, then re-run: training continues
    at step 3 (the logged global steps say so), not from zero."""
    import os
    import subprocess
    import sys

    import yaml

    from deliberate.config import load_config
    from deliberate.provenance import write_manifest
    from deliberate.training.sft import main as sft_main

    data_dir = _save_data(tmp_path)
    (tmp_path / "runs").mkdir()
    os.replace(data_dir, tmp_path / "runs" / "data")
    write_manifest(tmp_path / "runs" / "data", stage="data", config_hash="x", record_count=5)
    cfg_path = tmp_path / "exp.yaml"
    cfg_path.write_text(yaml.safe_dump({
        "name": "resume", "output_dir": str(tmp_path / "runs"), "data": {"teacher": {"name_or_path": str(tiny_model_dir)}},
        "sft": {"max_steps": 5, "save_steps": 2, "per_device_train_batch_size": 2, "learning_rate": 1e-3,
                "max_length": 512}, "wandb": {"mode": "disabled"}}))
    killer = (
        "import os, signal, transformers\n"
        "orig = transformers.Trainer._save_checkpoint\n"
        "def save(self, *a, **k):\n"
        "    orig(self, *a, **k)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "transformers.Trainer._save_checkpoint = save\n"
        "from deliberate.cli import main\n"
        f"main(['sft', {str(cfg_path)!r}])\n")
    proc = subprocess.run([sys.executable, "-c", killer], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "WANDB_MODE": "disabled"})
    assert proc.returncode == -9, proc.stderr[-2000:]
    work = tmp_path / "runs" / ".sft.tmp"
    assert (work / "checkpoints" / "checkpoint-2" / "trainer_state.json").is_file()
    assert not (tmp_path / "runs" / "sft").exists()

    out = sft_main(load_config(cfg_path))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_from_step"] == 2 and summary["first_step_run"] == 3
    assert summary["global_step"] == 5 and summary["changed_params"] > 0
    assert not work.exists() and not (out / "checkpoints").exists()


def _runs_with_data(tmp_path):
    import os

    from deliberate.provenance import write_manifest

    data_dir = _save_data(tmp_path, train=8)
    (tmp_path / "runs").mkdir()
    os.replace(data_dir, tmp_path / "runs" / "data")
    write_manifest(tmp_path / "runs" / "data", stage="data", config_hash="x", record_count=9)
    return tmp_path / "runs"


def test_two_process_sft_under_torchrun(tmp_path, tiny_model_dir):
    """torchrun --nproc_per_node 2 on CPU (gloo): both ranks train, rank 0 publishes once."""
    import os
    import subprocess
    import sys

    import yaml

    runs = _runs_with_data(tmp_path)
    cfg_path = tmp_path / "exp.yaml"
    cfg_path.write_text(yaml.safe_dump({
        "name": "ddp", "output_dir": str(runs), "data": {"teacher": {"name_or_path": str(tiny_model_dir)}},
        "sft": {"max_steps": 2, "per_device_train_batch_size": 2, "learning_rate": 1e-3, "max_length": 512},
        "wandb": {"mode": "disabled"}}))
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", str(port), "-m", "deliberate.cli", "sft", str(cfg_path)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((runs / "sft" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 2 and summary["changed_params"] > 0
    assert (runs / "sft" / "model" / "config.json").is_file() and not (runs / ".sft.tmp").exists()


def test_packing_trains_on_assistant_tokens_only(tmp_path, tiny_model_dir):
    """Packed rows (padding-free) still carry loss on exactly the assistant turns."""
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = training_template(tokenizer)
    args = SFTConfig(output_dir=str(tmp_path / "o"), packing=True, assistant_only_loss=True, max_length=2048,
                     per_device_train_batch_size=2, use_cpu=True, report_to="none")
    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_model_dir), args=args,
                         train_dataset=Dataset.from_list(_records(4)).select_columns(["messages"]),
                         processing_class=tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["input_ids"].shape[0] == 1  # four conversations in one row
    ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    spans = _masked_spans(ids, [int(x != -100) for x in labels], tokenizer)
    expected = [f"<think>\n{m['reasoning']}\n</think>\n{m['content']}<|im_end|>"
                for r in _records(4) for m in r["messages"] if m["role"] == "assistant"]
    assert sorted(spans) == sorted(expected)
    data_dir = _save_data(tmp_path, train=6)
    summary = run_sft(_cfg(tmp_path, tiny_model_dir, packing=True), data_dir, tmp_path / "sft")
    assert math.isfinite(summary["train_loss"]) and summary["changed_params"] > 0


def test_qlora_without_cuda_is_a_clear_error(tmp_path, tiny_model_dir):
    from deliberate.models import ModelError

    data_dir = _save_data(tmp_path)
    lora = LoraConfig(enabled=True, load_in_4bit=True)
    with pytest.raises(ModelError, match="needs a CUDA GPU"):
        run_sft(_cfg(tmp_path, tiny_model_dir, lora=lora), data_dir, tmp_path / "sft")


def test_save_policy_clears_a_killed_attempts_half_written_model(tmp_path, monkeypatch):
    """A kill -9 inside save_model leaves safetensors' temp file in the work directory's model/ (seen in
    tests/hostile/faults/test_kill9.py); the resumed run must publish only what it wrote itself."""
    from types import SimpleNamespace

    import deliberate.training.common as common

    stale = tmp_path / "model" / ".tmpIiG2wo"
    stale.parent.mkdir()
    stale.write_bytes(b"half a safetensors file")
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_model.safetensors").write_bytes(b"old")

    def save_model(path):
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "model.safetensors").write_bytes(b"new")

    accelerator = SimpleNamespace(is_main_process=True, wait_for_everyone=lambda: None)
    trainer = SimpleNamespace(accelerator=accelerator, is_fsdp_enabled=False, save_model=save_model)
    monkeypatch.setattr(common, "count_changed", lambda initial, model_dir: 0)
    assert common.save_policy(trainer, None, tmp_path, lora=False, base=None, initial={}) == 0
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.safetensors"]
    assert not (tmp_path / "adapter").exists()
