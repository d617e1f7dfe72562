"""deliberate rl: GRPO (TRL GRPOTrainer) in the train environments, rewarded by what the policy does.

    deliberate rl configs/experiments/demo.yaml rl.enabled=true [KEY=VALUE ...] [--force]
    accelerate launch --config_file configs/accelerate/zero3.yaml -m deliberate.cli rl EXPERIMENT.yaml

Prompts are train-family scenarios (student view: no spec in the prompt). Each rollout is
multi-turn with simulated tools, played by our rollout engine (``deliberate/rollout.py``)
through TRL's ``rollout_func``, so the environments in ``envs/`` are the only copy. The
completion TRL trains on is the whole episode after the prompt, rendered with the policy's
training chat template; tool results are masked out of the loss (``env_mask``). Rewards
(``training/rewards.py``): the environment grader's outcome and, optionally, a spec judge that
reads the final answer and actions only; the chain of thought never reaches a reward.
Generation: the policy itself (``transformers``, guided actions allowed), or vLLM through
TRL (``rl.use_vllm``, colocate or server mode). Checkpoints every ``rl.save_steps``; a killed
run resumes from the last one. Output: ``<output_dir>/rl/model`` for eval (model name ``rl``).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import torch

from deliberate import model_card
from deliberate.backends import LocalBackend, TransformersBackend, make_backend
from deliberate.config import ExperimentConfig, ModelConfig, config_hash, to_dict
from deliberate.envs.core import get_family
from deliberate.errors import TrainingDataError
from deliberate.rollout import protocol_text, run_rollouts
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
from deliberate.training.rewards import action_view, reward_functions
from deliberate.training.templates import training_template

log = logging.getLogger(__name__)


class RolloutError(RuntimeError):
    """A prompt the rollout function cannot map back to a scenario, or a template it cannot train on."""


def policy_model(cfg: ExperimentConfig) -> tuple[ModelConfig, list[Path]]:
    """The model GRPO starts from and the stage directories it depends on."""
    if cfg.rl.model is not None:
        return cfg.rl.model, []
    if cfg.sft.enabled:
        return ModelConfig(name_or_path=str(cfg.stage_dir("sft") / "model")), [cfg.stage_dir("sft")]
    return cfg.student(), []


def _key(messages: list[dict]) -> str:
    return json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False)


def build_prompts(cfg: ExperimentConfig, tool_format: str = "json"):
    """The prompt dataset and an index from each prompt back to its scenario."""
    import datasets

    rl = cfg.rl
    rows, index = [], {}
    for name in rl.families or cfg.envs.train:
        fam = get_family(name)
        for i in range(rl.scenarios_per_family):
            sc = fam.sample(rl.seed + i, "train", "none")
            prompt = [{"role": "system", "content": f"{sc.system}\n\n{protocol_text(sc, tool_format)}"},
                      {"role": "user", "content": sc.user}]
            key = _key(prompt)
            if key in index:  # two seeds rendered the same prompt: one scenario is enough
                continue
            index[key] = (name, "train", sc.seed)
            rows.append({"prompt": prompt, "scenario_id": sc.id})
    return datasets.Dataset.from_list(rows), index


class VllmTurnBackend(LocalBackend):
    """One turn of generation through TRL's vLLM (colocate or server), for multi-turn rollouts."""

    def __init__(self, trainer, tokenizer, gen):
        self.trainer, self.tokenizer = trainer, tokenizer
        super().__init__(gen, "trl-vllm")

    def generate(self, prompts, *, max_new_tokens=None, stop=None):
        ids = [self.tokenizer(p, add_special_tokens=False).input_ids for p in prompts]
        _, completion_ids, _, _ = self.trainer.vllm_generation.generate(prompts=ids, images=None, num_generations=1)
        self.stats.calls += 1
        self.stats.new_tokens += sum(len(c) for c in completion_ids)
        keep = self.reasoning_parser == "harmony"  # harmony's channel markers are special tokens the parser needs
        return [self.tokenizer.decode(c, skip_special_tokens=not keep) for c in completion_ids]


def encode_rollout(tokenizer, rollout) -> tuple[list[int], list[int], list[int]]:
    """(prompt ids, completion ids, env mask): the episode after the prompt as the policy's
    training template renders it; 1 on the policy's own turns, 0 on tool results."""
    messages = [{"role": m["role"], "content": m["content"], "reasoning": m.get("reasoning", "")}
                for m in rollout.messages]
    prompt = tokenizer.apply_chat_template(messages[:2], add_generation_prompt=True, tokenize=True,
                                           return_dict=True)["input_ids"]
    full = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = list(full["input_ids"]), list(full["assistant_masks"])
    if ids[:len(prompt)] != list(prompt):
        raise RolloutError("the chat template does not render the prompt as a prefix of the conversation; "
                           "GRPO cannot train on its completions")
    if len(ids) == len(prompt):  # nothing was generated (a failed request): train on an empty turn end
        ids, mask = ids + [tokenizer.eos_token_id], mask + [0]
    return list(prompt), ids[len(prompt):], mask[len(prompt):]


class RolloutFunction:
    """TRL ``rollout_func``: plays each prompt's scenario once with the current policy."""

    def __init__(self, cfg: ExperimentConfig, index: dict, tokenizer):
        self.cfg, self.index, self.tokenizer = cfg, index, tokenizer
        self.last: list = []  # the rollouts of the latest call (tests and logging read them)

    def scenarios(self, prompts):
        out = []
        for p in prompts:
            found = self.index.get(_key(p))
            if found is None:
                raise RolloutError(f"prompt not in the RL prompt set: {str(p)[:200]}")
            name, split, seed = found
            out.append(get_family(name).sample(seed, split, "none"))
        return out

    def __call__(self, prompts, trainer) -> dict:
        from trl.models import unwrap_model_for_generation

        from deliberate.reasoning import resolve_parser

        rl = self.cfg.rl
        scenarios = self.scenarios(prompts)
        template = self.tokenizer.chat_template if isinstance(self.tokenizer.chat_template, str) else ""
        parser = resolve_parser(policy_model(self.cfg)[0].reasoning_parser, "", template)
        seed = rl.seed * 1_000_003 + trainer.state.global_step * 1009 + trainer.accelerator.process_index
        if trainer.use_vllm:
            backend = VllmTurnBackend(trainer, self.tokenizer, rl.generation)
            backend.reasoning_parser = parser
            backend.reseed(seed)
            rollouts = run_rollouts(backend, scenarios, tool_format="json",
                                    max_turns=rl.max_turns or self.cfg.envs.max_turns)
        else:
            with unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator,
                                             gather_deepspeed3_params=trainer.args.ds3_gather_for_generation) as model:
                was_training = model.training
                model.eval()
                try:
                    backend = TransformersBackend(model, self.tokenizer, rl.generation, name="policy")
                    backend.reasoning_parser = parser
                    backend.reseed(seed)
                    rollouts = run_rollouts(backend, scenarios, tool_format="json",
                                            max_turns=rl.max_turns or self.cfg.envs.max_turns)
                finally:
                    model.train(was_training)
                    self.tokenizer.padding_side = "left"
        self.last = rollouts
        encoded = [encode_rollout(self.tokenizer, r) for r in rollouts]
        return {"prompt_ids": [e[0] for e in encoded], "completion_ids": [e[1] for e in encoded],
                "logprobs": None, "env_mask": [e[2] for e in encoded],
                "actions": [action_view(r) for r in rollouts]}


def grpo_args(cfg: ExperimentConfig, out_dir: Path, n_params: int):
    """TRL's GRPOConfig for ``cfg.rl``: our first-class fields, then ``rl.trainer`` (applied last);
    gradient checkpointing by the policy's size (``n_params``) unless ``rl.trainer`` says."""
    from trl import GRPOConfig

    rl, cuda, g = cfg.rl, torch.cuda.is_available(), cfg.rl.generation
    per_turn = (g.reasoning_tokens + g.action_tokens + 16) if g.guided_actions else g.max_new_tokens
    ours = dict(
        output_dir=str(Path(out_dir) / "checkpoints"), max_steps=rl.max_steps, learning_rate=rl.learning_rate,
        per_device_train_batch_size=rl.per_device_train_batch_size,
        gradient_accumulation_steps=rl.gradient_accumulation_steps, num_generations=rl.num_generations,
        beta=rl.beta, max_completion_length=per_turn * (rl.max_turns or cfg.envs.max_turns) * 4,
        temperature=max(g.temperature, 1e-3), top_p=g.top_p, logging_steps=rl.logging_steps,
        **save_strategy(rl.save_steps),
        seed=rl.seed, use_cpu=not cuda, bf16=cuda and torch.cuda.is_bf16_supported(),
        report_to=trainer_report_to(cfg), run_name=f"{cfg.name}-rl", log_completions=trainer_report_to(cfg) != "none",
        use_vllm=rl.use_vllm, vllm_mode=rl.vllm_mode, vllm_server_host=rl.vllm_server_host,
        vllm_server_port=rl.vllm_server_port, vllm_tensor_parallel_size=rl.vllm_tensor_parallel_size,
        vllm_gpu_memory_utilization=rl.vllm_gpu_memory_utilization,
    )
    return trainer_config(GRPOConfig, ours, rl.trainer, n_params)


def run_rl(cfg: ExperimentConfig, out_dir: Path, resume: bool = False, spec=None) -> dict:
    from trl import GRPOTrainer

    from deliberate.models import load_model

    rl, out_dir = cfg.rl, Path(out_dir)
    start, _ = policy_model(cfg)
    model, tokenizer = load_model(start, for_training=True, load_in_4bit=rl.lora.load_in_4bit)
    tokenizer.chat_template = training_template(tokenizer)
    tokenizer.padding_side = "left"
    dataset, index = build_prompts(cfg)
    args = grpo_args(cfg, out_dir, model.num_parameters())
    is_main = args.process_index == 0
    initial = snapshot(model) if is_main else {}
    judge_model = rl.judge.model or cfg.data.judge.model or cfg.data.teacher
    rewards = reward_functions(cfg, spec, lambda: make_backend(judge_model, rl.judge.generation))
    rollout_func = RolloutFunction(cfg, index, tokenizer)
    trainer = GRPOTrainer(model=model, reward_funcs=rewards, args=args, train_dataset=dataset,
                          processing_class=tokenizer, peft_config=peft_config(rl.lora), rollout_func=rollout_func)
    checkpoint = last_checkpoint(out_dir / "checkpoints") if resume else None
    if checkpoint and is_main:
        log.info("[rl] resuming from %s (global step %d)", checkpoint, start_step(checkpoint))
    result = trainer.train(resume_from_checkpoint=checkpoint)
    if not math.isfinite(result.training_loss):
        raise TrainingDataError(f"RL: training loss is {result.training_loss}; check the learning rate and rewards")
    changed = save_policy(trainer, tokenizer, out_dir, lora=rl.lora.enabled, base=start, initial=initial)
    history = trainer.state.log_history
    per_family = {}
    for h in history:
        for k, v in h.items():
            if k.startswith("rewards/environment/") and not k.endswith(("/mean", "/std")):
                per_family.setdefault(k.rsplit("/", 1)[-1], []).append(v)
    return {"global_step": result.global_step, "train_loss": result.training_loss, "prompts": len(dataset),
            "resumed_from_step": start_step(checkpoint), "changed_params": changed, "lora": rl.lora.enabled,
            "mean_environment_reward": [h["rewards/environment/mean"] for h in history
                                        if "rewards/environment/mean" in h],
            "environment_reward_by_family": {f: sum(v) / len(v) for f, v in per_family.items()}}


def stage_hash(cfg: ExperimentConfig) -> str:
    start, _ = policy_model(cfg)
    return config_hash({"rl": to_dict(cfg.rl), "policy": to_dict(start), "train": cfg.envs.train,
                        "max_turns": cfg.envs.max_turns})


def main(cfg: ExperimentConfig, force: bool = False) -> Path:
    """``deliberate rl EXPERIMENT.yaml``: GRPO, then publish ``<output_dir>/rl`` atomically."""
    from deliberate.specs.loader import load_spec

    _, parents = policy_model(cfg)

    def work(ctx: Context) -> Result | None:
        spec = load_spec(cfg.spec.path)
        summary = run_rl(cfg, ctx.dir, resume=ctx.resume, spec=spec)
        if not ctx.is_main:
            return None
        if not summary["changed_params"]:  # legitimate (every group had equal rewards), but worth saying
            log.warning("[rl] no parameter changed: every group's rollouts earned equal rewards, so GRPO had no "
                        "advantage to learn from (more generations, a higher temperature, or harder scenarios)")
        model_card.write(cfg, "rl", ctx.dir, ctx.parents)  # lineage now; results after `deliberate report`
        ctx.tracker.artifact(f"{cfg.name}-rl-model", "model", ctx.dir / "model",
                             use=[f"{cfg.name}-sft-model:latest"] if parents else [])
        return Result(record_count=summary["prompts"], spec=spec, summary=summary)

    return run_stage(cfg, "rl", work, config_hash=stage_hash(cfg), parents=parents, force=force, resumable=True,
                     missing_hint=" (RL starts from it)")
