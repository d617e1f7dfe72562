"""deliberate plan: what an experiment will run, where, how many tokens it generates, and whether its
training fits in GPU memory, before a queue wait. No GPU, no weights: the architecture comes from a
``config.json`` (the model folder's, the Hugging Face cache's, or ``configs/architectures/<name>/``).

    deliberate plan configs/experiments/recipes/qwen3_8b_node.yaml --gpus 8 --gpu-memory 80 \\
        --accelerate configs/accelerate/zero3.yaml

Every number is an estimate (docs/cluster.md says how each is made). Activation sizes follow
transformers' Llama/Qwen3 layers with SDPA/flash attention: the per-token coefficients were measured
on tiny models on CPU (tests/deliberate/test_plan.py measures them again); MoE layers are approximate.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from deliberate.config import ExperimentConfig, ModelConfig
from deliberate.config.training import CHECKPOINTING_MIN_PARAMS, TRAINER_RENAMED
from deliberate.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
GB = 1e9
# Beside the estimate: the CUDA context, NCCL buffers and the caching allocator's fragmentation.
CONTEXT_BYTES = 2.0 * GB
FRAGMENTATION = 0.05
QLORA_BYTES_PER_PARAM = 0.55  # nf4 with double quantization, plus the unquantized norms and embeddings
TOOL_RESULT_TOKENS = 256  # a simulated tool's reply between two policy turns (GRPO sequence length)
CHARS_PER_TOKEN = 3.5  # prompt length from the rendered text when no tokenizer is at hand

_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
EMBEDDED_ARCHITECTURES = {"smollm2-135m-instruct": "SmolLM2-135M-Instruct"}


class PlanError(UserError, ValueError):
    """A plan that cannot be made (no architecture for a model, an unreadable accelerate config)."""


# --------------------------------------------------------------------------- architecture


@dataclass
class Architecture:
    """The numbers of a decoder-only transformer that memory depends on (from a ``config.json``)."""

    source: str
    model_type: str
    vocab: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    tied: bool
    dtype: str = "bfloat16"
    experts: int = 0  # MoE: experts per layer (0: dense)
    experts_per_token: int = 0
    expert_intermediate: int = 0
    attention_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False

    @classmethod
    def from_config(cls, raw: dict, source: str) -> Architecture:
        try:
            heads = raw["num_attention_heads"]
            experts = raw.get("num_experts") or raw.get("num_local_experts") or 0
            gpt_oss = raw.get("model_type") == "gpt_oss"
            return cls(source=source, model_type=raw.get("model_type", "?"), vocab=raw["vocab_size"],
                       hidden=raw["hidden_size"], layers=raw["num_hidden_layers"], heads=heads,
                       kv_heads=raw.get("num_key_value_heads") or heads,
                       head_dim=raw.get("head_dim") or raw["hidden_size"] // heads,
                       intermediate=raw.get("intermediate_size", 0), tied=bool(raw.get("tie_word_embeddings", False)),
                       dtype=str(raw.get("torch_dtype") or raw.get("dtype") or "bfloat16"),
                       experts=experts, experts_per_token=raw.get("num_experts_per_tok", 0) if experts else 0,
                       expert_intermediate=(raw.get("moe_intermediate_size") or raw.get("intermediate_size", 0))
                       if experts else 0,
                       attention_bias=bool(raw.get("attention_bias", False)) or raw.get("model_type") == "qwen2",
                       mlp_bias=bool(raw.get("mlp_bias", False)) or gpt_oss,
                       qk_norm=raw.get("model_type") in ("qwen3", "qwen3_moe"))
        except (KeyError, TypeError, ZeroDivisionError) as exc:
            raise PlanError(f"{source}: not a decoder config.json this planner reads (missing {exc})") from exc

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def _attention_params(self) -> int:
        h, q, kv = self.hidden, self.q_dim, self.kv_dim
        n = h * q + 2 * h * kv + q * h
        if self.attention_bias:
            n += q + 2 * kv + (h if self.model_type != "qwen2" else 0)
        if self.qk_norm:
            n += 2 * self.head_dim
        if self.model_type == "gpt_oss":
            n += self.heads  # attention sinks
        return n

    def _mlp_params(self, active: bool = False) -> int:
        h = self.hidden
        if not self.experts:
            return 3 * h * self.intermediate + (2 * self.intermediate + h if self.mlp_bias else 0)
        e = self.experts_per_token if active else self.experts
        per_expert = 3 * h * self.expert_intermediate + (2 * self.expert_intermediate + h if self.mlp_bias else 0)
        return e * per_expert + h * self.experts + (self.experts if self.model_type == "gpt_oss" else 0)

    def layer_params(self) -> int:
        return self._attention_params() + self._mlp_params() + 2 * self.hidden

    def params(self) -> int:
        """Every parameter (the embedding once when tied)."""
        embed = self.vocab * self.hidden
        return embed * (1 if self.tied else 2) + self.layers * self.layer_params() + self.hidden

    def active_params(self) -> int:
        """Parameters one token passes through (MoE: the routed experts only)."""
        per_layer = self._attention_params() + self._mlp_params(active=True) + 2 * self.hidden
        return self.vocab * self.hidden * (1 if self.tied else 2) + self.layers * per_layer + self.hidden

    def lora_params(self, rank: int, targets: list[str]) -> int:
        """LoRA adapter parameters for the usual projection names (MoE experts: each expert's)."""
        h, q, kv, i = self.hidden, self.q_dim, self.kv_dim, self.intermediate
        shapes = {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h)}
        e, ie = (self.experts, self.expert_intermediate) if self.experts else (1, i)
        shapes.update({name: (h, ie) for name in ("gate_proj", "up_proj")} | {"down_proj": (ie, h)})
        names = list(shapes) if "all-linear" in targets else targets
        per_layer = sum(rank * sum(shapes[n]) * (e if n in ("gate_proj", "up_proj", "down_proj") else 1)
                        for n in names if n in shapes)
        return per_layer * self.layers

    def activation_bytes_per_token(self, b: int, checkpointing: bool, attn: str | None) -> tuple[float, float]:
        """(saved for backward, transient at the backward peak) per token of a micro-batch, with
        elements of ``b`` bytes. Measured on transformers' Llama/Qwen3 layers with SDPA: per layer
        6 hidden-sized tensors (two of them fp32 in RMSNorm), 2 of q, 2 of k/v, 4 of the MLP width;
        with checkpointing only each layer's input is kept and one layer is recomputed at a time."""
        h, fp32_norms = self.hidden, 2 * self.hidden * (4 - b)
        mlp = 4 * (self.experts_per_token * self.expert_intermediate if self.experts else self.intermediate)
        layer = b * (6 * h + 2 * self.q_dim + 2 * self.kv_dim + mlp) + fp32_norms + 4 * (self.heads + 2)
        if self.experts:
            layer += 4 * self.experts * 2  # router logits and their softmax
        if self.qk_norm:
            layer += (b + 4) * (self.q_dim + self.kv_dim)
        outside = (2 * b + 4) * h + 4 * self.vocab  # embeddings, final norm, the fp32 logits the loss keeps
        transient = (4 + b) * self.vocab  # the logits' gradient and the low-precision logits
        if checkpointing:
            return self.layers * b * h + outside, transient + layer
        return self.layers * layer + outside, transient

    def attention_matrix_bytes(self, rows: int, seq: int, b: int, checkpointing: bool) -> float:
        """Eager attention keeps the softmax of every layer (seq x seq per head); SDPA/flash do not."""
        per_layer = rows * self.heads * seq * seq * b * 2
        return per_layer * (1 if checkpointing else self.layers)


def _architecture_file(mc: ModelConfig) -> Path | None:
    """The config.json that describes ``mc``: its ``architecture``, the model folder, the HF cache,
    or configs/architectures/<last part of the name>."""
    from deliberate.models import EMBEDDED, hub_cache_folder

    if mc.architecture:
        for base in (ROOT / "configs" / "architectures", Path.cwd() / "configs" / "architectures", Path.cwd()):
            p = base / mc.architecture
            if (p / "config.json").is_file():
                return p / "config.json"
            if p.is_file():
                return p
        raise PlanError(f"architecture {mc.architecture!r}: no configs/architectures/{mc.architecture}/config.json, "
                        "nor a config.json or model folder at that path")
    if mc.name_or_path in EMBEDDED:  # the embedded GGUF's architecture ships beside the others
        named = ROOT / "configs" / "architectures" / EMBEDDED_ARCHITECTURES.get(mc.name_or_path, "") / "config.json"
        return named if named.is_file() else None
    folder = Path(mc.name_or_path).expanduser()
    if (folder / "config.json").is_file():
        return folder / "config.json"
    cached = hub_cache_folder(mc.name_or_path)
    if cached is not None:
        return cached / "config.json"
    named = ROOT / "configs" / "architectures" / Path(mc.name_or_path).name / "config.json"
    return named if named.is_file() else None


def architecture(mc: ModelConfig, where: str) -> Architecture:
    path = _architecture_file(mc)
    if path is None:
        raise PlanError(f"{where}: no config.json for {mc.name_or_path!r} on this machine; set {where}.architecture "
                        "to a folder under configs/architectures/ (or a config.json path)")
    raw = json.loads(path.read_text())
    raw = raw.get("text_config", raw) if "vocab_size" not in raw else raw
    return Architecture.from_config(raw, str(path))


# --------------------------------------------------------------------------- launch


@dataclass
class Launch:
    """How ``accelerate launch`` runs a training stage: the sharding and the process count."""

    path: str
    kind: str  # single | ddp | zero2 | zero3 | fsdp2
    processes: int
    offload: bool = False  # parameters and optimizer states in CPU RAM (zero3_offload, fsdp_offload_params)
    fsdp_checkpointing: bool = False  # FSDP's own activation checkpointing

    def describe(self) -> str:
        what = {"single": "no sharding", "ddp": "DDP: a full replica per GPU",
                "zero2": "DeepSpeed ZeRO-2: gradients and optimizer states sharded",
                "zero3": "DeepSpeed ZeRO-3: parameters, gradients and optimizer states sharded",
                "fsdp2": "FSDP2 full shard: parameters, gradients and optimizer states sharded"}[self.kind]
        extra = ", offloaded to CPU RAM" if self.offload else ""
        return f"{self.processes} process{'es' if self.processes > 1 else ''}, {what}{extra} ({self.path})"


def _find(path: str) -> Path:
    for p in (Path(path), ROOT / path):
        if p.is_file():
            return p
    raise PlanError(f"--accelerate {path}: no such file")


def read_launch(path: str | None, gpus: int | None) -> Launch:
    """The accelerate config ``path`` (default: single_gpu.yaml for one GPU, fsdp2.yaml for more)."""
    if path is None:
        path = "configs/accelerate/single_gpu.yaml" if (gpus or 1) == 1 else "configs/accelerate/fsdp2.yaml"
    raw = yaml.safe_load(_find(path).read_text()) or {}
    kind = str(raw.get("distributed_type", "NO"))
    processes = gpus or int(raw.get("num_processes", 1))
    if kind in ("NO", "False") or processes == 1 and kind == "MULTI_GPU":
        return Launch(path, "single" if processes == 1 else "ddp", processes)
    if kind == "MULTI_GPU":
        return Launch(path, "ddp", processes)
    if kind == "FSDP":
        fsdp = raw.get("fsdp_config") or {}
        return Launch(path, "fsdp2", processes, offload=bool(fsdp.get("fsdp_offload_params")),
                      fsdp_checkpointing=bool(fsdp.get("fsdp_activation_checkpointing")))
    if kind == "DEEPSPEED":
        file = (raw.get("deepspeed_config") or {}).get("deepspeed_config_file")
        zero = json.loads(_find(file).read_text()).get("zero_optimization", {}) if file else {}
        stage = int(zero.get("stage", 0))
        offload = (zero.get("offload_param") or {}).get("device") == "cpu"
        return Launch(path, "zero3" if stage == 3 else "zero2" if stage == 2 else "ddp", processes, offload=offload)
    raise PlanError(f"--accelerate {path}: distributed_type {kind!r} is not one the planner knows")


# --------------------------------------------------------------------------- memory


@dataclass
class Training:
    """What one training stage holds per GPU."""

    arch: Architecture
    launch: Launch
    dtype_bytes: int  # the weights as loaded (ModelConfig.dtype)
    rows: int  # sequences per micro-batch per GPU
    seq: int  # tokens per sequence
    checkpointing: bool
    lora_rank: int = 0  # 0: full fine-tune
    lora_targets: list[str] = field(default_factory=list)
    qlora: bool = False
    attn: str | None = None
    reference: bool = False  # GRPO with beta > 0 and no LoRA: a frozen copy of the policy
    colocated: float = 0.0  # bytes vLLM reserves on each GPU (GRPO colocate)
    gpu_bytes: float = 80 * GB
    bf16: bool = True  # the trainer's bf16 (on by default on GPUs that support it)
    liger: bool = False  # use_liger_kernel: fused linear + loss, the logits are never materialized whole
    completion: int = 0  # GRPO: completion tokens per sequence (logits are computed for these only); 0: SFT

    def parts(self) -> dict[str, float]:
        a, launch, n = self.arch, self.launch, self.launch.processes
        p = a.params()
        sharded = launch.kind in ("zero3", "fsdp2")
        out: dict[str, float] = {}
        if self.lora_rank:
            t = a.lora_params(self.lora_rank, self.lora_targets)
            base = p * (QLORA_BYTES_PER_PARAM if self.qlora else self.dtype_bytes)
            out["weights"] = (0 if launch.offload else base / n) if sharded and not self.qlora else base
            out["adapter + its gradients + AdamW"] = 16 * t  # fp32 adapter, gradients, two moments
        elif launch.kind in ("single", "ddp"):
            b = self.dtype_bytes  # the HF Trainer keeps gradients and AdamW moments in the weights' dtype
            out.update({"weights": b * p, "gradients": b * p, "optimizer (AdamW)": 2 * b * p})
        else:  # mixed precision under DeepSpeed/FSDP: fp32 master weights, AdamW moments
            if launch.offload:
                out["weights"] = 0.0
            elif launch.kind == "zero2":
                out.update({"weights": 2 * p, "gradients": 2 * p / n, "optimizer (AdamW, fp32 master)": 12 * p / n})
            elif launch.kind == "zero3":
                out.update({"weights": 2 * p / n, "gradients": 2 * p / n, "optimizer (AdamW, fp32 master)": 12 * p / n})
            else:  # FSDP2 upcasts the sharded parameters to fp32 under mixed precision
                out.update({"weights": 4 * p / n, "gradients": 4 * p / n, "optimizer (AdamW)": 8 * p / n})
        if sharded:  # the layers gathered for the current forward/backward step (and the next, prefetched)
            out["gathered layers"] = 2 * max(2 * a.layer_params(), a.vocab * a.hidden)
        b = self.activation_dtype_bytes()
        saved, transient = a.activation_bytes_per_token(b, self.checkpointing, self.attn)
        tokens = self.rows * self.seq
        if self.liger or self.completion:  # the SFT loss's logits (fp32 copy, gradient) out of the per-token sums
            saved, transient = saved - 4 * a.vocab, transient - (4 + b) * a.vocab
        act = tokens * (saved + transient)
        if self.completion and not self.liger:  # GRPO: bf16 log-softmax of completion tokens only, and its gradients
            act += self.rows * self.completion * 3 * b * a.vocab
        if self.attn == "eager":
            act += a.attention_matrix_bytes(self.rows, self.seq, b, self.checkpointing)
        out["activations" + (" (checkpointed)" if self.checkpointing else "")] = act
        if self.reference:
            out["reference model"] = 2 * p / (n if sharded else 1)
        if self.colocated:
            out["vLLM (colocated)"] = self.colocated
        return out

    def activation_dtype_bytes(self) -> int:
        """bf16 activations under mixed precision (the Trainer's default on GPUs with bf16), else fp32."""
        return 2 if self.bf16 or self.dtype_bytes == 2 else 4

    def activations(self) -> float:
        return next(v for k, v in self.parts().items() if k.startswith("activations"))

    def total(self) -> float:
        s = sum(self.parts().values())
        return CONTEXT_BYTES + s * (1 + FRAGMENTATION)

    def cpu_bytes(self) -> float:
        """CPU RAM per node for offloaded parameters and optimizer states (zero3_offload)."""
        return 16 * self.arch.params() if self.launch.offload and not self.lora_rank else 0.0


def _gb(x: float) -> str:
    return f"{x / GB:.1f} GB"


def _tight(need: float, have: float) -> str:
    return " (tight: within 10% of the GPU, where the estimate is uncertain)" if 0.9 * have < need <= have else ""


def _count(n: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(int(n))


# --------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        self.lines.append(text)

    @property
    def fits(self) -> bool:
        return not self.problems

    def render(self) -> str:
        verdict = "fits" if self.fits else "will not fit:\n" + "\n".join(f"  - {p}" for p in self.problems)
        return "\n".join(self.lines + ["", f"verdict: {verdict}"])


def _bytes_of(mc: ModelConfig, arch: Architecture) -> int:
    if mc.dtype == "auto":
        return _DTYPE_BYTES.get(arch.dtype, 2)
    return _DTYPE_BYTES[mc.dtype]


def _trainer_value(mapping: dict, *names):
    for n in names:
        if n in mapping:
            return mapping[n]
        for old, new in TRAINER_RENAMED.items():
            if new == n and old in mapping:
                return mapping[old]
    return None


def _checkpointing(mapping: dict, params: int, launch: Launch) -> tuple[bool, str]:
    given = _trainer_value(mapping, "activation_checkpointing", "gradient_checkpointing")
    if given is not None:
        return bool(given), "trainer setting"
    if launch.fsdp_checkpointing:
        return True, "FSDP activation checkpointing"
    on = params >= CHECKPOINTING_MIN_PARAMS
    return on, f"default: {'>=' if on else '<'} {CHECKPOINTING_MIN_PARAMS / 1e9:g}B parameters"


def _prompt_tokens(cfg: ExperimentConfig, suite: str = "train") -> int:
    """The longest prompt (system, tool protocol, task) over the train (RL, data) or test (eval) families,
    from its length in characters; the data stage adds the spec when it shows it in full."""
    from deliberate.envs.core import get_family
    from deliberate.rollout import protocol_text

    longest = 0
    for name in (cfg.rl.families or cfg.envs.train) if suite == "train" else cfg.envs.test:
        fam = get_family(name)
        sc = fam.sample(cfg.rl.seed, "train" if suite == "train" else "test", fam.cues[0])
        longest = max(longest, len(sc.system) + len(protocol_text(sc, "json")) + len(sc.user))
    return int(longest / CHARS_PER_TOKEN) + 32


def _spec_tokens(cfg: ExperimentConfig) -> int:
    from deliberate.specs.loader import load_spec

    try:
        return int(len(load_spec(cfg.spec.path).text) / CHARS_PER_TOKEN)
    except (UserError, OSError):  # `deliberate validate` reports a bad spec; the plan goes on without it
        return 0


def _per_turn(g) -> int:
    return g.reasoning_tokens + g.action_tokens + 16 if g.guided_actions else g.max_new_tokens


def _inference(plan: Plan, label: str, mc: ModelConfig, arch: Architecture | None, gpu_bytes: float, rows: int,
               seq: int) -> None:
    """Memory of a model that only generates (data teacher, eval models)."""
    if mc.backend == "openai":
        plan.say(f"    {label}: served elsewhere ({mc.endpoint.base_url if mc.endpoint else '?'}); no local GPU")
        return
    if mc.backend == "vllm":
        tp = mc.vllm.tensor_parallel_size
        reserved = mc.vllm.gpu_memory_utilization * gpu_bytes
        weights = 2 * arch.params() / tp
        plan.say(f"    {label}: vLLM engine, tensor parallel {tp}: weights {_gb(weights)} per GPU in its "
                 f"{_gb(reserved)} share ({mc.vllm.gpu_memory_utilization:g} of the GPU); the rest is KV cache")
        if weights > 0.9 * reserved:
            plan.problems.append(f"{label}: vLLM's share ({_gb(reserved)}) cannot hold the weights ({_gb(weights)}) "
                                 "and a KV cache: raise vllm.gpu_memory_utilization or vllm.tensor_parallel_size")
        return
    b = _bytes_of(mc, arch)
    kv = rows * seq * 2 * arch.layers * arch.kv_dim * b
    total = CONTEXT_BYTES + (b * arch.params() + kv) * (1 + FRAGMENTATION)
    plan.say(f"    {label}: transformers, {mc.dtype}: weights {_gb(b * arch.params())} + KV cache {_gb(kv)} "
             f"({rows} rows x {seq} tokens) = {_gb(total)} of {_gb(gpu_bytes)}{_tight(total, gpu_bytes)}")
    if total > gpu_bytes:
        fixes = (["load it in bfloat16 (dtype: bfloat16)"] if b == 4 else []) + [
            "lower generation.batch_size" if kv > 0.2 * total else "a GPU with more memory",
            "serve it (backend: vllm with tensor_parallel_size, or openai)"]
        plan.problems.append(f"{label}: {_gb(total)} on one GPU of {_gb(gpu_bytes)} (transformers, {mc.dtype}, "
                             f"weights {_gb(b * arch.params())}, KV cache {_gb(kv)}); " + ", or ".join(fixes))


def _training(plan: Plan, stage: str, t: Training, knobs: dict) -> None:
    parts = t.parts()
    total = t.total()
    plan.say("    memory per GPU (estimate): " + ", ".join(f"{k} {_gb(v)}" for k, v in parts.items())
             + f", context + {FRAGMENTATION:.0%} fragmentation -> {_gb(total)} of {_gb(t.gpu_bytes)}"
             + _tight(total, t.gpu_bytes))
    other = dataclasses.replace(t, checkpointing=not t.checkpointing)
    plan.say(f"    activations {'without' if t.checkpointing else 'with'} checkpointing: {_gb(other.activations())}"
             f" (total {_gb(other.total())})")
    if t.cpu_bytes():
        plan.say(f"    CPU RAM per node for offloaded states: {_gb(t.cpu_bytes())}")
    if total <= t.gpu_bytes:
        return
    fixes = []
    if not t.checkpointing:
        fixes.append((f"gradient checkpointing ({stage}.trainer.gradient_checkpointing: true)", other))
    if t.rows > knobs["min_rows"]:  # GRPO: a device's micro-batch holds whole groups (rl.num_generations)
        fixes.append((f"{stage}.per_device_train_batch_size: {knobs['min_rows']} (raise gradient_accumulation_steps "
                      "to keep the batch)", dataclasses.replace(t, rows=knobs["min_rows"], checkpointing=True)))
    for gpus, path in ((max(8, t.launch.processes), "configs/accelerate/zero3.yaml"),
                       (max(8, t.launch.processes), "configs/accelerate/fsdp2.yaml")):
        launch = read_launch(path, gpus)
        fixes.append((f"--accelerate {path} on {gpus} GPUs", dataclasses.replace(t, launch=launch, checkpointing=True)))
    if not t.lora_rank:
        fixes.append((f"LoRA ({stage}.lora.enabled: true, rank {knobs['rank']})",
                      dataclasses.replace(t, lora_rank=knobs["rank"], lora_targets=knobs["targets"],
                                          checkpointing=True, reference=False)))
    if not t.qlora:
        fixes.append((f"QLoRA ({stage}.lora.enabled: true, load_in_4bit: true)",
                      dataclasses.replace(t, lora_rank=knobs["rank"], lora_targets=knobs["targets"], qlora=True,
                                          checkpointing=True, reference=False,
                                          launch=dataclasses.replace(t.launch, kind="single", processes=1,
                                                                     offload=False))))
    offload = read_launch("configs/accelerate/zero3_offload.yaml", t.launch.processes)
    fixes.append(("--accelerate configs/accelerate/zero3_offload.yaml (slow: states in CPU RAM)",
                  dataclasses.replace(t, launch=offload, checkpointing=True)))
    if t.colocated:
        fixes.append(("a smaller vLLM share or rl.vllm_mode: server", dataclasses.replace(t, colocated=0.0)))
    small = knobs["min_rows"]
    fixes += [(f"{name} + {stage}.per_device_train_batch_size: {small}", dataclasses.replace(f, rows=small))
              for name, f in list(fixes) if f.rows > small]
    ok = [f"{name}: {_gb(f.total())}" for name, f in fixes if f.total() <= t.gpu_bytes][:4]
    states = sum(v for k, v in parts.items() if not k.startswith(("activations", "vLLM")))
    mode = ("QLoRA" if t.qlora else "LoRA") if t.lora_rank else "full fine-tune"
    why = (f"the weights, gradients and optimizer states alone take {_gb(states)} ({mode} of "
           f"{_count(t.arch.params())} parameters, {t.launch.kind}, {t.launch.processes} GPU(s), "
           f"{'offload' if t.launch.offload else 'no offload'})" if states > t.gpu_bytes else
           "largest: " + ", ".join(f"{k} {_gb(v)}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1])[:3]))
    plan.problems.append(f"{stage}: needs ~{_gb(total)} per GPU, the GPU has {_gb(t.gpu_bytes)}: {why}. "
                         + ("Would fit with: " + "; ".join(ok) if ok else "Neither checkpointing, a smaller "
                            "micro-batch, sharding over 8 GPUs, LoRA/QLoRA nor offload fits it: use more GPUs"))


def make_plan(cfg: ExperimentConfig, *, gpus: int | None = None, gpu_memory_gb: float = 80.0,
              accelerate: str | None = None, source: str = "") -> Plan:
    """The plan for ``cfg`` on ``gpus`` GPUs of ``gpu_memory_gb`` each, training under ``accelerate``."""
    launch = read_launch(accelerate, gpus)
    gpu_bytes = gpu_memory_gb * GB
    plan = Plan()
    plan.say(f"plan for {source or cfg.name} (experiment {cfg.name!r}, output {cfg.output_dir})")
    plan.say(f"hardware: {launch.processes} GPU(s) x {gpu_memory_gb:g} GB; training launch: {launch.describe()}")
    plan.say("all sizes are estimates (docs/cluster.md); token counts are upper bounds (every turn at its cap)")
    d, e, turns = cfg.data, cfg.eval, cfg.envs.max_turns
    student = cfg.student()

    plan.say("\nstages")
    if d.source == "teacher":
        fams = len(cfg.envs.train)
        rollouts = fams * (d.scenarios_per_family + d.validation_scenarios_per_family) * d.samples_per_scenario
        per_turn = _per_turn(d.generation)
        plan.say(f"  data     teacher {d.teacher.name_or_path} ({d.teacher.backend}); {fams} families x "
                 f"({d.scenarios_per_family} + {d.validation_scenarios_per_family} validation) scenarios x "
                 f"{d.samples_per_scenario} samples = {rollouts} rollouts x <= {turns} turns x <= {per_turn} tokens: "
                 f"<= {_count(rollouts * turns * per_turn)} new tokens")
        if d.judge.kind == "llm":
            jm = d.judge.model or d.teacher
            plan.say(f"           judge {jm.name_or_path} ({jm.backend}): {d.judge.k} calls per rollout x <= "
                     f"{d.judge.generation.max_new_tokens} tokens: <= "
                     f"{_count(rollouts * d.judge.k * d.judge.generation.max_new_tokens)} tokens")
        teacher_arch = None if d.teacher.backend == "openai" else architecture(d.teacher, "data.teacher")
        spec = _spec_tokens(cfg) if d.spec_in_prompt == "full" else 0
        _inference(plan, "data.teacher", d.teacher, teacher_arch, gpu_bytes,
                   d.generation.batch_size, _prompt_tokens(cfg) + spec + turns * (per_turn + TOOL_RESULT_TOKENS))
    else:
        plan.say(f"  data     scripted organism episodes ({', '.join(cfg.envs.train)}): CPU, no generation")

    arch = architecture(student, "sft.model" if cfg.sft.model is not None else "data.teacher")
    if cfg.sft.enabled:
        s = cfg.sft
        ckpt, why = _checkpointing(s.trainer, arch.params(), launch)
        mode = ("QLoRA" if s.lora.load_in_4bit else "LoRA") + f" rank {s.lora.rank}" if s.lora.enabled else "full"
        plan.say(f"  sft      {student.name_or_path} ({_count(arch.params())} parameters"
                 + (f", {_count(arch.active_params())} active" if arch.experts else "") + f"), {mode} fine-tune; "
                 f"{launch.processes} process(es) under accelerate; micro-batch {s.per_device_train_batch_size} x "
                 f"{s.max_length} tokens{' (packed)' if s.packing else ''}; gradient checkpointing "
                 f"{'on' if ckpt else 'off'} ({why})")
        t = Training(arch, launch, _bytes_of(student, arch), s.per_device_train_batch_size, s.max_length, ckpt,
                     lora_rank=s.lora.rank if s.lora.enabled else 0, lora_targets=list(s.lora.target_modules),
                     qlora=s.lora.load_in_4bit, attn=student.attn_implementation, gpu_bytes=gpu_bytes,
                     bf16=_trainer_value(s.trainer, "bf16") is not False,
                     liger=bool(_trainer_value(s.trainer, "use_liger_kernel")))
        _training(plan, "sft", t, {"rank": s.lora.rank, "targets": list(s.lora.target_modules), "min_rows": 1})

    if cfg.rl.enabled:
        _rl(plan, cfg, arch, launch, gpu_bytes)
    if cfg.durability.enabled:
        plan.say(f"  durability  {cfg.durability.max_steps} capability-only SFT steps on the {cfg.durable_from()} "
                 "model (sft's launch and memory)")

    scenarios = len(cfg.envs.test) * len(e.cues) * e.scenarios_per_family
    per_turn = _per_turn(e.generation)
    plan.say(f"  eval     models {', '.join(e.models)}, one at a time; {len(cfg.envs.test)} families x "
             f"{len(e.cues)} cues x {e.scenarios_per_family} scenarios = {scenarios} episodes per model x <= {turns} "
             f"turns x <= {per_turn} tokens: <= {_count(scenarios * turns * per_turn * len(e.models))} new tokens"
             + (" (+ counterfactual resamples)" if e.counterfactual else "")
             + (" (+ interrogation)" if e.interrogation else ""))
    for task in e.inspect:
        plan.say(f"           Inspect {task.task} ({task.name or task.task}): {task.epochs} epoch(s) per sample, "
                 f"per model and cue")
    from deliberate.eval.evaluate import resolve_models

    prompt = _prompt_tokens(cfg, "test") if cfg.envs.test else 0
    for name, mc in resolve_models(cfg).items():
        trained = name in ("base", "sft", "rl", "durable")
        marc = arch if trained or mc.backend == "openai" else architecture(mc, f"eval.models[{name}]")
        _inference(plan, f"eval {name}", mc, marc, gpu_bytes, e.generation.batch_size,
                   prompt + turns * (per_turn + TOOL_RESULT_TOKENS))
    plan.say("  report   CPU")
    return plan


def _rl(plan: Plan, cfg: ExperimentConfig, arch: Architecture, launch: Launch, gpu_bytes: float) -> None:
    from deliberate.training.rl import policy_model

    rl = cfg.rl
    start, _ = policy_model(cfg)
    if rl.model is not None:  # not the student: its own architecture
        arch = architecture(rl.model, "rl.model")
    per_turn, turns = _per_turn(rl.generation), rl.max_turns or cfg.envs.max_turns
    cap = _trainer_value(rl.trainer, "max_completion_length") or per_turn * turns * 4
    completion = min(cap, turns * per_turn + (turns - 1) * TOOL_RESULT_TOKENS)
    seq = _prompt_tokens(cfg) + completion
    rollouts = rl.per_device_train_batch_size * launch.processes * rl.gradient_accumulation_steps
    where = ("transformers (the policy itself)" if not rl.use_vllm else
             f"vLLM colocated ({rl.vllm_gpu_memory_utilization:g} of each GPU, tensor parallel "
             f"{rl.vllm_tensor_parallel_size})" if rl.vllm_mode == "colocate" else
             f"vLLM server {rl.vllm_server_host}:{rl.vllm_server_port} (its own node, tensor parallel "
             f"{rl.vllm_tensor_parallel_size})")
    ckpt, why = _checkpointing(rl.trainer, arch.params(), launch)
    plan.say(f"  rl       GRPO from {start.name_or_path}; generation: {where}; {rollouts} rollouts per step "
             f"({rl.per_device_train_batch_size} x {launch.processes} process(es) x {rl.gradient_accumulation_steps} "
             f"accumulation, groups of {rl.num_generations}) x <= {turns} turns x <= {per_turn} tokens: <= "
             f"{_count(rollouts * turns * per_turn)} tokens per step, <= "
             f"{_count(rollouts * turns * per_turn * rl.max_steps)} over {rl.max_steps} steps; "
             f"training sequences ~{seq} tokens; gradient checkpointing "
             f"{'on' if ckpt else 'off'} ({why})")
    colocated = rl.vllm_gpu_memory_utilization * gpu_bytes if rl.use_vllm and rl.vllm_mode == "colocate" else 0.0
    if rl.use_vllm and rl.vllm_mode == "server":
        weights = 2 * arch.params() / rl.vllm_tensor_parallel_size
        plan.say(f"    vLLM server: weights {_gb(weights)} per GPU on its own node (tensor parallel "
                 f"{rl.vllm_tensor_parallel_size}), not counted below")
        if weights > 0.8 * gpu_bytes:
            plan.problems.append(f"rl: the vLLM server's GPUs cannot hold the policy ({_gb(weights)} per GPU); raise "
                                 "rl.vllm_tensor_parallel_size")
    if colocated:
        weights = 2 * arch.params() / rl.vllm_tensor_parallel_size
        if weights > 0.9 * colocated:
            plan.problems.append(f"rl: vLLM's colocated share ({_gb(colocated)}) cannot hold the policy's weights "
                                 f"({_gb(weights)}) and a KV cache: raise rl.vllm_gpu_memory_utilization or "
                                 "rl.vllm_tensor_parallel_size")
    t = Training(arch, launch, _bytes_of(cfg.student(), arch), rl.per_device_train_batch_size, seq, ckpt,
                 completion=completion,
                 lora_rank=rl.lora.rank if rl.lora.enabled else 0, lora_targets=list(rl.lora.target_modules),
                 qlora=rl.lora.load_in_4bit, attn=start.attn_implementation,
                 reference=rl.beta > 0 and not rl.lora.enabled, colocated=colocated, gpu_bytes=gpu_bytes,
                 bf16=_trainer_value(rl.trainer, "bf16") is not False,
                 liger=bool(_trainer_value(rl.trainer, "use_liger_kernel")))
    _training(plan, "rl", t, {"rank": rl.lora.rank, "targets": list(rl.lora.target_modules),
                              "min_rows": rl.num_generations})
    if not rl.use_vllm:
        kv = rl.per_device_train_batch_size * seq * 2 * arch.layers * arch.kv_dim * 2
        plan.say(f"    + generation KV cache in the training process: {_gb(kv)}")
