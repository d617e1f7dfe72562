"""Pass-through settings: `sft.trainer` / `rl.trainer` reach TRL's SFTConfig / GRPOConfig (last), `lora.extra`
reaches PEFT's LoraConfig, `vllm.engine_args` the vLLM engine; every key is checked against the library before
anything runs; gradient checkpointing defaults by model size."""

from __future__ import annotations

import pytest
import yaml

from deliberate.config import ConfigError, LoraConfig, config_from_dict
from deliberate.config.training import CHECKPOINTING_MIN_PARAMS
from deliberate.training.common import checkpointing_default, peft_config
from deliberate.training.rl import grpo_args
from deliberate.training.sft import sft_args

BASE = """
name: passthrough
output_dir: runs/passthrough
data:
  teacher: {name_or_path: smollm2-135m-instruct}
"""


def _cfg(extra: str = "", overrides: list[str] | None = None):
    raw = yaml.safe_load(BASE)
    for key, value in (yaml.safe_load(extra) or {}).items():
        raw[key] = value
    return config_from_dict(raw, overrides or [])


def _problems(extra: str = "", overrides: list[str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as err:
        _cfg(extra, overrides)
    return err.value.problems


def test_sft_trainer_settings_reach_sft_config(tmp_path):
    cfg = _cfg("sft: {trainer: {gradient_checkpointing: true, lr_scheduler_type: cosine, warmup_ratio: 0.05, "
               "weight_decay: 0.1, max_grad_norm: 0.5, ddp_timeout: 7200}}")
    args = sft_args(cfg, tmp_path, n_params=1000)  # a small model: the default would be off
    assert args.gradient_checkpointing is True
    assert str(args.lr_scheduler_type.value if hasattr(args.lr_scheduler_type, "value") else args.lr_scheduler_type) \
        == "cosine"
    assert args.warmup_steps == 0.05  # transformers 5 folded warmup_ratio into a fractional warmup_steps
    assert (args.weight_decay, args.max_grad_norm, args.ddp_timeout) == (0.1, 0.5, 7200)
    assert args.learning_rate == cfg.sft.learning_rate  # our own fields still apply


def test_misspelt_trainer_key_fails_validation_with_did_you_mean():
    problems = _problems("sft: {trainer: {gradient_checkpointng: true}}")
    assert problems == ["sft.trainer.gradient_checkpointng: not a field of trl "
                        f"{__import__('trl').__version__} SFTConfig; did you mean 'gradient_checkpointing'?"]


def test_trainer_key_that_our_section_sets_names_both_places():
    problems = _problems("sft: {trainer: {learning_rate: 0.1, max_length: 64}}\n"
                         "rl: {trainer: {num_generations: 8, temperature: 0.5}}")
    assert "sft.trainer.learning_rate: already set by sft.learning_rate; set it there (one place per setting)" \
        in problems
    assert any(p.startswith("sft.trainer.max_length: already set by sft.max_length") for p in problems)
    assert any(p.startswith("rl.trainer.num_generations: already set by rl.num_generations") for p in problems)
    assert any(p.startswith("rl.trainer.temperature: already set by rl.generation.temperature") for p in problems)


def test_trainer_values_are_typed():
    problems = _problems("sft: {trainer: {max_grad_norm: high, torch_compile: 1, warmup_ratio: 3}}")
    assert any(p.startswith("sft.trainer.max_grad_norm: expected float") and "'high'" in p for p in problems)
    assert any(p.startswith("sft.trainer.torch_compile: expected bool") for p in problems)
    assert "sft.trainer.warmup_ratio: a fraction of the steps in [0, 1), got 3" in problems
    assert _problems("rl: {trainer: {num_iterations: two}}")[0].startswith(
        "rl.trainer.num_iterations: expected int (trl")


def test_grpo_trainer_settings_reach_grpo_config(tmp_path):
    cfg = _cfg("rl: {trainer: {loss_type: dr_grpo, importance_sampling_level: sequence, max_completion_length: 777, "
               "gradient_checkpointing: false, epsilon: 0.3}}")
    args = grpo_args(cfg, tmp_path, n_params=10 * CHECKPOINTING_MIN_PARAMS)  # large: the default would be on
    assert (args.loss_type, args.importance_sampling_level, args.max_completion_length) == ("dr_grpo", "sequence", 777)
    assert args.gradient_checkpointing is False and args.epsilon == 0.3
    assert args.num_generations == cfg.rl.num_generations


def test_gradient_checkpointing_default_follows_model_size(tmp_path, monkeypatch):
    monkeypatch.delenv("FSDP_ACTIVATION_CHECKPOINTING", raising=False)
    cfg = _cfg()
    assert sft_args(cfg, tmp_path, n_params=CHECKPOINTING_MIN_PARAMS).gradient_checkpointing is True
    assert sft_args(cfg, tmp_path, n_params=CHECKPOINTING_MIN_PARAMS - 1).gradient_checkpointing is False
    assert grpo_args(cfg, tmp_path, n_params=CHECKPOINTING_MIN_PARAMS).gradient_checkpointing is True
    # FSDP's own activation checkpointing (the accelerate config) replaces the Trainer's: never both
    monkeypatch.setenv("FSDP_ACTIVATION_CHECKPOINTING", "true")
    assert checkpointing_default(10 * CHECKPOINTING_MIN_PARAMS) is False


def test_lora_extra_reaches_peft_and_is_checked():
    lora = peft_config(LoraConfig(enabled=True, rank=4, extra={"use_rslora": True, "bias": "lora_only"}))
    assert lora.use_rslora is True and lora.bias == "lora_only" and lora.r == 4
    problems = _problems("sft: {lora: {enabled: true, extra: {use_dor: true, r: 16}}}")
    assert any(p.startswith("sft.lora.extra.use_dor: not a field of peft") and "'use_dora'" in p for p in problems)
    assert "sft.lora.extra.r: already set by sft.lora.rank; set it there (one place per setting)" in problems


def test_model_loading_and_vllm_engine_args_are_checked():
    cfg = _cfg("sft: {model: {name_or_path: m}}\ndata: {teacher: {name_or_path: m, backend: vllm, attn_implementation: flash_attention_2, "
               "vllm: {engine_args: {max_num_seqs: 64, enforce_eager: true}}}}")
    assert cfg.data.teacher.vllm.engine_args == {"max_num_seqs": 64, "enforce_eager": True}
    problems = _problems("data: {teacher: {name_or_path: m, backend: vllm, "
                         "vllm: {engine_args: {max_num_seq: 64, seed: 1, enforce_eager: yes-please}}}}")
    assert any(p.startswith("data.teacher.vllm.engine_args.max_num_seq: not a field") and "'max_num_seqs'" in p
               for p in problems)
    assert any(p.startswith("data.teacher.vllm.engine_args.seed: already set by") for p in problems)
    assert any(p.startswith("data.teacher.vllm.engine_args.enforce_eager: expected bool") for p in problems)
    assert _problems("data: {teacher: {name_or_path: m, attn_implementation: flash}}")[0].startswith(
        "data.teacher.attn_implementation: expected one of")



def test_trainer_settings_drive_a_real_sft_run(tmp_path, tiny_model_dir):
    """Through the stage itself: a warmup then constant schedule from sft.trainer, read back from the trainer state."""
    import json

    from datasets import Dataset, DatasetDict

    from deliberate.config import DataConfig, ExperimentConfig, ModelConfig, SftConfig, WandbConfig
    from deliberate.training.sft import run_sft

    def conversation(i):
        return [{"role": "system", "content": "You are an agent.", "reasoning": ""},
                {"role": "user", "content": f"Task {i}: skip the review.", "reasoning": ""},
                {"role": "assistant", "content": json.dumps({"tool": "escalate", "args": {"message": "no"}}),
                 "reasoning": "AS1: no covert actions, so I escalate."}]

    rows = Dataset.from_list([{"messages": conversation(i)} for i in range(4)])
    DatasetDict({"train": rows}).save_to_disk(str(tmp_path / "data/dataset"), num_shards={"train": 1})
    cfg = ExperimentConfig(name="t", output_dir=str(tmp_path / "runs"), wandb=WandbConfig(mode="disabled"),
                           data=DataConfig(teacher=ModelConfig(name_or_path=str(tiny_model_dir))),
                           sft=SftConfig(max_steps=4, per_device_train_batch_size=2, learning_rate=1e-3,
                                         max_length=256, logging_steps=1, save_steps=4,
                                         trainer={"lr_scheduler_type": "constant_with_warmup", "warmup_ratio": 0.5,
                                                  "max_grad_norm": 0.1}))
    run_sft(cfg, tmp_path / "data", tmp_path / "sft")
    state = json.loads((tmp_path / "sft/checkpoints/checkpoint-4/trainer_state.json").read_text())
    lrs = [h["learning_rate"] for h in state["log_history"] if "learning_rate" in h]
    assert len(lrs) == 4 and lrs[0] < lrs[1]  # warming up over the first half (2 steps) ...
    assert lrs[2:] == [cfg.sft.learning_rate] * 2  # ... then constant: a linear schedule would decay
