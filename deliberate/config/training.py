"""The training sections: SFT (``sft:``), GRPO (``rl:``, with its optional action judge), LoRA,
and the durability run (``durability:``), with the checks on their values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from deliberate.config.base import must_be_positive
from deliberate.config.data import CapabilityConfig
from deliberate.config.models import GenerationConfig, ModelConfig, model_checks


@dataclass
class LoraConfig:
    enabled: bool = False
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    # QLoRA: load the frozen base in 4 bits (bitsandbytes, CUDA only) and train the adapter on it.
    load_in_4bit: bool = False


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
    if s.model is not None and s.model.backend != "transformers":
        return ["sft.model.backend: the student is trained locally; it must be 'transformers'"]
    return []


def lora_checks(lora: LoraConfig, section: str) -> list[str]:
    """The LoRA settings of a training section (``sft`` or ``rl``)."""
    if lora.load_in_4bit and not lora.enabled:
        return [f"{section}.lora.load_in_4bit: QLoRA trains a LoRA adapter; set {section}.lora.enabled: true"]
    return []


def durability_checks(du: DurabilityConfig) -> list[str]:
    names = ("examples", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps", "max_length",
             "learning_rate")
    return must_be_positive({f"durability.{name}": getattr(du, name) for name in names})


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
    """The policy and judge models, guided decoding with vLLM, and the reward values."""
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
    return out
