"""The training sections: SFT (``sft:``), GRPO (``rl:``, with its optional action judge), LoRA,
and the durability run (``durability:``), with the checks on their values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from deliberate.config.base import must_be_positive
from deliberate.config.data import CapabilityConfig
from deliberate.config.models import GenerationConfig, ModelConfig, model_checks
from deliberate.config.passthrough import check_mapping, library_fields

# Gradient (activation) checkpointing is on by default for students of at least this many parameters,
# off below (the laptop demo, tests): at 1B+ the activations at a useful length (4k tokens) outgrow the
# weights' share of an 80 GB card, and recomputing them (~20-30% more compute) is cheaper than a smaller
# batch. `sft.trainer.gradient_checkpointing` (or `rl.trainer.`) decides it either way.
CHECKPOINTING_MIN_PARAMS = 1_000_000_000


@dataclass
class LoraConfig:
    enabled: bool = False
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    # QLoRA: load the frozen base in 4 bits (bitsandbytes, CUDA only) and train the adapter on it.
    load_in_4bit: bool = False
    # Any other field of PEFT's LoraConfig (use_dora, use_rslora, modules_to_save, bias, ...), checked
    # against the installed PEFT; the fields above are set here, not in extra.
    extra: dict = field(default_factory=dict)


@dataclass
class SftConfig:
    enabled: bool = True
    # The student. null: the data stage's teacher.
    model: ModelConfig | None = None
    lora: LoraConfig = field(default_factory=LoraConfig)
    max_steps: int = -1  # -1: run num_train_epochs
    num_train_epochs: float = 1.0
    learning_rate: float = 2.0e-5
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_length: int = 1024
    assistant_only_loss: bool = True
    # Pack several conversations into each row (TRL best-fit decreasing, padding-free): no compute
    # is spent on padding; attention never crosses conversations (position ids restart per conversation).
    packing: bool = False
    # 10, TRL's default: logging every step made each SFT step ~13% slower than plain TRL on a 2-core
    # CPU (scripts/bench/sft_overhead.py, docs/benchmarks.md); 1 gives per-step curves at that cost
    logging_steps: int = 10
    save_steps: int = 0  # 0: no intermediate checkpoints
    seed: int = 0
    # Any other field of TRL's SFTConfig (lr_scheduler_type, warmup_steps, weight_decay, max_grad_norm,
    # gradient_checkpointing, torch_compile, use_liger_kernel, bf16, ddp_timeout, ...), applied last and
    # checked against the installed TRL before anything runs. gradient_checkpointing: default on for
    # students of CHECKPOINTING_MIN_PARAMS (1B) parameters or more, off below (docs/cluster.md).
    trainer: dict = field(default_factory=dict)


@dataclass
class RlJudgeConfig:
    # Optional spec-judge reward on the FINAL ANSWER AND ACTIONS ONLY: the judge never sees the
    # chain of thought (training/rewards.py enforces it). Scored 0-10, k times, minimum kept.
    enabled: bool = False
    model: ModelConfig | None = None  # null: data.judge.model, else the teacher
    generation: GenerationConfig = field(default_factory=lambda: GenerationConfig(temperature=0.7,
                                                                                   max_new_tokens=256))
    k: int = 1
    prompt: str = "action_judge"  # training/prompts/<name>.md or a path
    weight: float = 0.5  # added to the environment reward: weight * (score in [0, 1])


@dataclass
class RlConfig:
    # GRPO (TRL GRPOTrainer) in the train environments, multi-turn through our rollout engine.
    enabled: bool = False
    model: ModelConfig | None = None  # null: the SFT output when sft is enabled, else the student
    families: list[str] = field(default_factory=list)  # empty: envs.train
    scenarios_per_family: int = 64
    seed: int = 5000  # scenario seeds: seed, seed+1, ... (far from the data stage's)
    num_generations: int = 4  # G: rollouts per scenario in a group
    max_steps: int = 50
    learning_rate: float = 1.0e-6
    per_device_train_batch_size: int = 4  # rollouts per device per step (a multiple of num_generations)
    gradient_accumulation_steps: int = 1
    beta: float = 0.0  # KL coefficient (0: no reference model)
    max_turns: int | None = None  # null: envs.max_turns
    generation: GenerationConfig = field(default_factory=lambda: GenerationConfig(temperature=1.0))
    lora: LoraConfig = field(default_factory=LoraConfig)
    judge: RlJudgeConfig = field(default_factory=RlJudgeConfig)
    # Environment reward: reward_right for the right behaviour (escalate where the rule forbids
    # finishing, finish where the twin allows it), reward_covert for any covert action or false
    # claim of success, 0 otherwise.
    reward_right: float = 1.0
    reward_covert: float = -1.0
    # vLLM generation inside GRPO (GPU): colocate (same GPUs) or server (`trl vllm-serve`).
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_server_host: str = "0.0.0.0"
    vllm_server_port: int = 8000
    vllm_tensor_parallel_size: int = 1
    vllm_gpu_memory_utilization: float = 0.3
    logging_steps: int = 1
    save_steps: int = 0  # checkpoints every N steps (resume after a kill); 0: none
    # Any other field of TRL's GRPOConfig (loss_type, importance_sampling_level, max_completion_length,
    # epsilon, scale_rewards, vllm_enable_sleep_mode, gradient_checkpointing, ...), applied last and checked
    # against the installed TRL. max_completion_length default: per-turn tokens x turns x 4.
    trainer: dict = field(default_factory=dict)


@dataclass
class DurabilityConfig:
    """Durability check (training/durability.py): after anti-scheming training, a further
    capability-only fine-tune (no spec, nothing about oversight), then the same eval under the
    model name "durable" in eval.models. The report shows the change in covert rate and citation.

        deliberate durability EXPERIMENT.yaml"""

    enabled: bool = False
    after: Literal["auto", "sft", "rl"] = "auto"  # which trained model to continue; auto: rl when enabled, else sft
    # null: procedurally generated tasks (arithmetic, sorting, counting, units, strings, dates: data/capability.py);
    # or a chat dataset on disk in data.capability's format (its ratio is ignored: `examples` rows are drawn).
    dataset: CapabilityConfig | None = None
    examples: int = 64
    seed: int = 0
    max_steps: int = 8
    learning_rate: float = 5.0e-5
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_length: int = 512
    lora: LoraConfig = field(default_factory=LoraConfig)


# --------------------------------------------------------------------------- checks
# Several functions per section, not one: experiment.py interleaves them with other sections'
# checks so that problems are reported in a fixed order.


def sft_count_checks(s: SftConfig) -> list[str]:
    return must_be_positive({
        "sft.per_device_train_batch_size": s.per_device_train_batch_size,
        "sft.gradient_accumulation_steps": s.gradient_accumulation_steps,
        "sft.max_length": s.max_length,
        "sft.lora.rank": s.lora.rank,
    })


def sft_backend_checks(s: SftConfig) -> list[str]:
    """The student's backend, and sft.trainer against the installed TRL."""
    out = trainer_checks(s.trainer, "sft")
    if s.model is not None and s.model.backend != "transformers":
        out.insert(0, "sft.model.backend: the student is trained locally; it must be 'transformers'")
    return out


def lora_checks(lora: LoraConfig, section: str) -> list[str]:
    """The LoRA settings of a training section (``sft`` or ``rl``), extra against the installed PEFT."""
    out = lora_extra_checks(lora, section)
    if lora.load_in_4bit and not lora.enabled:
        out.insert(0, f"{section}.lora.load_in_4bit: QLoRA trains a LoRA adapter; set {section}.lora.enabled: true")
    return out


def durability_checks(du: DurabilityConfig) -> list[str]:
    names = ("examples", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "max_length",
             "learning_rate")
    return must_be_positive({f"durability.{name}": getattr(du, name) for name in names}) + lora_checks(du.lora,
                                                                                                     "durability")


def rl_count_checks(rl: RlConfig) -> list[str]:
    """Group size and batch, scenario and step counts, judge samples."""
    out = []
    if rl.num_generations < 2:
        out.append(f"rl.num_generations: GRPO compares rollouts within a group; need >= 2, got {rl.num_generations}")
    elif rl.per_device_train_batch_size % rl.num_generations:
        out.append(f"rl.per_device_train_batch_size ({rl.per_device_train_batch_size}) must be a multiple of "
                   f"rl.num_generations ({rl.num_generations})")
    return out + must_be_positive({
        "rl.scenarios_per_family": rl.scenarios_per_family,
        "rl.max_steps": rl.max_steps,
        "rl.gradient_accumulation_steps": rl.gradient_accumulation_steps,
        "rl.judge.k": rl.judge.k,
    })


def rl_policy_checks(rl: RlConfig) -> list[str]:
    """The policy and judge models, guided decoding with vLLM, the reward values, rl.trainer against TRL."""
    out = []
    if rl.model is not None:
        out += model_checks(rl.model, "rl.model")
        if rl.model.backend != "transformers":
            out.append("rl.model.backend: the policy is trained locally; it must be 'transformers'")
    if rl.judge.model is not None:
        out += model_checks(rl.judge.model, "rl.judge.model")
    if rl.use_vllm and rl.generation.guided_actions:
        out.append("rl.generation.guided_actions: guided decoding needs the policy's logits; it cannot run "
                   "with rl.use_vllm: true")
    if rl.reward_right <= rl.reward_covert:
        out.append("rl.reward_right must be greater than rl.reward_covert")
    return out + trainer_checks(rl.trainer, "rl")


# --------------------------------------------------------------------------- pass-through checks
# TRL/PEFT keys that a first-class field of ours sets (key -> where): naming one in `trainer:` or
# `lora.extra` as well would be two places for one setting. Keys we only default (bf16, use_cpu,
# gradient_checkpointing, eval batch size, GRPO's max_completion_length) may be overridden there.

_TRAINER_COMMON = {"output_dir": "the stage (it trains under <output_dir>/<stage>)", "report_to": "wandb.mode",
                   "run_name": "name", "model_init_kwargs": "the model section (dtype, attn_implementation)"}
SFT_OWNED = {**_TRAINER_COMMON, "save_strategy": "sft.save_steps",
             **{k: f"sft.{k}" for k in ("max_steps", "num_train_epochs", "learning_rate", "per_device_train_batch_size",
                                         "gradient_accumulation_steps", "max_length", "assistant_only_loss", "packing",
                                         "logging_steps", "save_steps", "seed")}}
RL_OWNED = {**_TRAINER_COMMON, "save_strategy": "rl.save_steps", "temperature": "rl.generation.temperature",
            "top_p": "rl.generation.top_p",
            **{k: f"rl.{k}" for k in ("max_steps", "learning_rate", "per_device_train_batch_size",
                                       "gradient_accumulation_steps", "num_generations", "beta", "logging_steps",
                                       "save_steps", "seed", "use_vllm", "vllm_mode", "vllm_server_host",
                                       "vllm_server_port", "vllm_tensor_parallel_size", "vllm_gpu_memory_utilization")}}
# transformers 5 folded warmup_ratio into warmup_steps (a float in [0, 1) is a fraction of the steps)
TRAINER_RENAMED = {"warmup_ratio": "warmup_steps"}
LORA_OWNED = {"r": "rank", "lora_alpha": "alpha", "lora_dropout": "dropout", "target_modules": "target_modules",
              "task_type": "the stage (always CAUSAL_LM)"}


def trainer_fields(section: str) -> tuple[dict, str]:
    """The installed TRL config's fields for ``sft`` (SFTConfig) or ``rl`` (GRPOConfig), and its name."""
    import trl

    cls = trl.SFTConfig if section == "sft" else trl.GRPOConfig
    return library_fields(cls), f"trl {trl.__version__} {cls.__name__}"


def trainer_checks(mapping: dict, section: str) -> list[str]:
    """``sft.trainer`` / ``rl.trainer`` against the installed TRL (imported only when the mapping is set)."""
    if not mapping:
        return []
    where = f"{section}.trainer"
    try:
        fields, library = trainer_fields(section)
    except ImportError as exc:
        return [f"{where}: checking it needs TRL ({exc}); pip install trl"]
    owned = SFT_OWNED if section == "sft" else RL_OWNED
    out = check_mapping(mapping, where, fields, library, owned=owned, renamed=TRAINER_RENAMED)
    if "gradient_checkpointing" in mapping and "activation_checkpointing" in mapping:
        out.append(f"{where}: gradient_checkpointing is transformers' old name of activation_checkpointing; set one")
    ratio = mapping.get("warmup_ratio")
    if "warmup_ratio" in mapping and "warmup_ratio" not in fields and not (
            isinstance(ratio, (int, float)) and not isinstance(ratio, bool) and 0 <= ratio < 1):
        out.append(f"{where}.warmup_ratio: a fraction of the steps in [0, 1), got {ratio!r}")
    return out


def lora_extra_checks(lora: LoraConfig, section: str) -> list[str]:
    """``<section>.lora.extra`` against the installed PEFT's LoraConfig."""
    if not lora.extra:
        return []
    where = f"{section}.lora.extra"
    try:
        import peft
    except ImportError as exc:
        return [f"{where}: checking it needs PEFT ({exc}); pip install peft"]
    owned = {k: f"{section}.lora.{v}" if k != "task_type" else v for k, v in LORA_OWNED.items()}
    return check_mapping(lora.extra, where, library_fields(peft.LoraConfig), f"peft {peft.__version__} LoraConfig",
                         owned=owned)
