"""Model and generation sections, shared by every stage: which model (local folder, vLLM engine or
an OpenAI-compatible endpoint) and how it generates, with the checks on their values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


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
    return out


def _endpoint_checks(ep: EndpointConfig, where: str) -> list[str]:
    out = []
    if not ep.base_url.startswith(("http://", "https://")):
        out.append(f"{where}.base_url: expected http(s)://host[:port]/v1, got {ep.base_url!r}")
    if "@" in ep.base_url.split("//", 1)[-1].split("/", 1)[0]:
        out.append(f"{where}.base_url: credentials in the URL would be logged; name an env "
                   "var in api_key_env instead")
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
