"""Model and generation sections, shared by every stage: which model (local folder, vLLM engine or
an OpenAI-compatible endpoint) and how it generates, with the checks on their values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from deliberate.config.passthrough import check_mapping

# vLLM engine arguments accepted in `<model>.vllm.engine_args`, with their types. vLLM is an optional
# extra (not installed where configs are validated), so this is a typed allowlist of `vllm.EngineArgs`
# fields (vLLM >= 0.10) rather than a check against the installed package; extend it as needed.
VLLM_ENGINE_ARGS = {
    "max_num_seqs": int, "max_num_batched_tokens": int, "enable_chunked_prefill": bool, "enforce_eager": bool,
    "kv_cache_dtype": str, "quantization": str, "block_size": int, "swap_space": float, "cpu_offload_gb": float,
    "pipeline_parallel_size": int, "data_parallel_size": int, "enable_expert_parallel": bool,
    "disable_custom_all_reduce": bool, "enable_prefix_caching": bool, "compilation_config": int | dict,
    "hf_overrides": dict, "generation_config": str, "tokenizer_mode": str, "max_logprobs": int,
    "async_scheduling": bool, "limit_mm_per_prompt": dict,
}
VLLM_OWNED = {"model": "name_or_path", "tokenizer": "name_or_path", "tensor_parallel_size": "vllm.tensor_parallel_size",
              "gpu_memory_utilization": "vllm.gpu_memory_utilization", "max_model_len": "vllm.max_model_len",
              "dtype": "dtype", "seed": "the generation section's seed"}


@dataclass
class EndpointConfig:
    # An OpenAI-compatible server: `vllm serve`, or a hosted API. e.g. http://gpu-node-17:8000/v1
    base_url: str
    # The NAME of the environment variable that holds the API key (never the key itself: keys
    # never appear in YAML, logs, manifests or W&B). null: no Authorization header.
    api_key_env: str | None = None
    max_concurrency: int = 8  # requests in flight at once
    timeout_s: float = 120.0  # per request
    # Retries on 429, 5xx, timeouts, connection errors and malformed responses, with exponential
    # backoff and full jitter: sleep uniform(0, min(backoff_max_s, backoff_initial_s * 2**attempt)).
    max_retries: int = 5
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0


@dataclass
class VllmConfig:
    # The offline vLLM engine (pip install 'deliberate[vllm]'; GPU).
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    # Other engine arguments (max_num_seqs, enforce_eager, kv_cache_dtype, ...): VLLM_ENGINE_ARGS lists them.
    engine_args: dict = field(default_factory=dict)


@dataclass
class ModelConfig:
    # A local folder with a transformers model, or an embedded alias ("smollm2-135m-instruct").
    # Nothing is downloaded: a hub id that is not a local folder is an error. With
    # backend: openai, the model name the server serves.
    name_or_path: str
    # A GGUF file inside name_or_path (de-quantized on load, then cached as safetensors).
    gguf_file: str | None = None
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    # transformers: local, batched. vllm: offline engine on GPU. openai: any OpenAI-compatible endpoint.
    backend: Literal["transformers", "vllm", "openai"] = "transformers"
    # How to split reasoning from the answer: <think> tags (Qwen3, R1 distills), harmony channels
    # (gpt-oss), a reasoning_content field (OpenAI-compatible servers), plain (none).
    # auto: from the chat template and model name.
    reasoning_parser: Literal["auto", "think", "harmony", "reasoning_content", "plain"] = "auto"
    endpoint: EndpointConfig | None = None  # required for backend: openai
    vllm: VllmConfig = field(default_factory=VllmConfig)
    # transformers attention kernel (training and the transformers backend); null: transformers' choice
    # (sdpa where supported). flash_attention_2/3 need the flash-attn package and a GPU.
    attn_implementation: Literal["eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention"] | None \
        = None
    # For `deliberate plan` where the weights are not on this machine: a folder under configs/architectures/
    # (e.g. Qwen3-8B) or a path to a config.json or a model folder. null: the model folder's own config.json.
    architecture: str | None = None


@dataclass
class GenerationConfig:
    max_new_tokens: int = 96
    temperature: float = 0.7
    top_p: float = 0.95
    batch_size: int = 16  # sequences per generate() call
    # Local backends: cap on padded tokens per batch, (longest prompt + max_new_tokens) x rows;
    # a batch is split before it exceeds this. 0: no cap (batch_size only).
    max_batch_tokens: int = 0
    seed: int = 0
    # Guided action decoding, for models too small to follow the JSON protocol unaided: the
    # reply is generated in two parts, reasoning after a forced "<think>" (up to
    # reasoning_tokens, stopping at "</think>"), then the action after a forced
    # '{"tool": "' (up to action_tokens). The model still chooses the tool and arguments.
    guided_actions: bool = False
    reasoning_tokens: int = 64
    action_tokens: int = 40
    # Temperature of the guided tool (and boolean) choice; null: `temperature`. Raising it for
    # a teacher explores more actions, and best-of-k grading keeps the right ones.
    choice_temperature: float | None = None
    # transformers backend: keep the KV cache of recent prompts and reuse the longest common token
    # prefix (a conversation's earlier turns, guided decoding's earlier steps, sibling samples'
    # system prompt); outputs are the same either way (deliberate/decoding.py). The cache is
    # bounded by prefix_cache_mb (least recently used entries dropped) and cleared after each set
    # of rollouts. Off for sliding-window models.
    kv_cache: bool = True
    prefix_cache_mb: int = 4096


# --------------------------------------------------------------------------- checks


def model_checks(mc: ModelConfig, where: str) -> list[str]:
    """A model section at YAML path ``where``: its endpoint (backend openai only) and vLLM settings."""
    out = []
    if mc.backend == "openai":
        if mc.endpoint is None:
            out.append(f"{where}.endpoint: required for backend 'openai' (base_url of the server)")
        else:
            out += _endpoint_checks(mc.endpoint, f"{where}.endpoint")
    elif mc.endpoint is not None:
        out.append(f"{where}.endpoint: only used with backend 'openai' (backend is {mc.backend!r})")
    if mc.backend == "vllm" and mc.vllm.tensor_parallel_size < 1:
        out.append(f"{where}.vllm.tensor_parallel_size: must be >= 1")
    return out + check_mapping(mc.vllm.engine_args, f"{where}.vllm.engine_args", VLLM_ENGINE_ARGS,
                               "the vLLM engine arguments Deliberate passes (VLLM_ENGINE_ARGS)",
                               owned={k: f"{where}.{v}" if not v.startswith("the ") else v
                                      for k, v in VLLM_OWNED.items()})


def _url_credential(url: str) -> str | None:
    """What in a URL's query or fragment looks like a credential (``?api_key=``, ``&token=``, an ``sk-…``
    value), or None."""
    from urllib.parse import parse_qsl, urlsplit

    from deliberate.redact import is_secret_name, redact

    parts = urlsplit(url)
    for name, value in parse_qsl(parts.query + "&" + parts.fragment, keep_blank_values=True):
        if is_secret_name(name) or redact(value) != value:
            return f"query parameter {name!r}"
    return None


def _endpoint_checks(ep: EndpointConfig, where: str) -> list[str]:
    out = []
    if not ep.base_url.startswith(("http://", "https://")):
        out.append(f"{where}.base_url: expected http(s)://host[:port]/v1, got {ep.base_url!r}")
    if "@" in ep.base_url.split("//", 1)[-1].split("/", 1)[0]:
        out.append(f"{where}.base_url: credentials in the URL would be logged; name an env "
                   "var in api_key_env instead")
    elif _url_credential(ep.base_url):  # the URL itself is not echoed: it holds a key
        out.append(f"{where}.base_url: a credential in the URL ({_url_credential(ep.base_url)}) would be logged and "
                   "stored; put the key in an environment variable and name it in api_key_env")
    if ep.api_key_env is not None and not ep.api_key_env.replace("_", "").isalnum():
        out.append(f"{where}.api_key_env: the NAME of an environment variable (e.g. "
                   f"OPENAI_API_KEY), not a key; got a value that is not a variable name")
    for name in ("max_concurrency", "timeout_s"):
        if getattr(ep, name) <= 0:
            out.append(f"{where}.{name}: must be > 0, got {getattr(ep, name)}")
    if ep.max_retries < 0 or ep.backoff_initial_s < 0 or ep.backoff_max_s < ep.backoff_initial_s:
        out.append(f"{where}: need max_retries >= 0 and 0 <= backoff_initial_s <= backoff_max_s")
    return out


def sampling_checks(g: GenerationConfig, where: str) -> list[str]:
    """temperature and top_p of a generation section at YAML path ``where``."""
    out = []
    if g.temperature < 0:
        out.append(f"{where}.temperature: must be >= 0, got {g.temperature}")
    if not 0 < g.top_p <= 1:
        out.append(f"{where}.top_p: must be in (0, 1], got {g.top_p}")
    if g.prefix_cache_mb < 0:
        out.append(f"{where}.prefix_cache_mb: must be >= 0, got {g.prefix_cache_mb}")
    return out


def guided_actions_checks(g: GenerationConfig, mc: ModelConfig, where: str) -> list[str]:
    """Guided decoding (generation section ``where``) needs the logits of a local transformers model."""
    if g.guided_actions and mc.backend != "transformers":
        return [f"{where}.guided_actions: needs the transformers backend (the model is served by "
                f"{mc.backend!r}); set it to false"]
    return []
