"""Generation backends behind one interface, used by data, judges, RL rewards and eval.

    backend = make_backend(model_cfg, generation_cfg)
    backend.reseed(1234)
    completions = backend.respond(conversations, tools)   # one Completion per conversation, in order

* ``transformers``: local, batched, left-padded, with an optional token budget per batch
  (``generation.max_batch_tokens``).
* ``vllm``: the offline engine (``pip install 'deliberate[vllm]'``, GPU), tensor parallel;
  imported only when used.
* ``openai``: any OpenAI-compatible ``/v1/chat/completions`` endpoint (``vllm serve``, hosted
  APIs) with bounded concurrency, a per-request timeout, and retries with exponential backoff
  and full jitter on 429, 5xx, timeouts, connection errors and malformed responses. The API
  key is read from the environment variable the config names; it is never logged: error text
  from the server (which may echo request headers) is stored only through
  :func:`deliberate.redact.redact`, and the key's value is masked even in model output.

A request that still fails after its retries becomes a :class:`Completion` with ``error``
set: it fails that one rollout (which records why), never the run. Sampling is
reproducible: after ``reseed(s)`` the same sequence of calls gives the same outputs.
"""

from __future__ import annotations

import abc
import json
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch

from deliberate.config import GenerationConfig, ModelConfig
from deliberate.decoding import Decoder, PrefixCache
from deliberate.models import ModelError, describe, load_model, resolve
from deliberate.redact import redact, redact_known, register_secret


@dataclass
class Completion:
    """One assistant reply. ``text`` is the raw content (it may hold ``<think>`` tags or
    harmony channels); ``reasoning`` is a separate reasoning field where the server returns
    one; ``tool_calls`` are native calls returned by an API ({"name", "arguments"})."""

    text: str = ""
    reasoning: str | None = None
    tool_calls: list[dict] = field(default_factory=list)
    error: str | None = None  # the request failed for good: the rollout records it and stops
    attempts: int = 1
    finish_reason: str | None = None


@dataclass
class GenerationStats:
    calls: int = 0
    sequences: int = 0
    new_tokens: int = 0
    seconds: float = 0.0
    retries: int = 0
    failures: int = 0

    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0


CHARS_PER_TOKEN_BOUND = 6  # English BPE averages ~4 characters a token; hardly any text averages over 6


class Backend(abc.ABC):
    """The interface. Subclasses implement :meth:`respond` (and local ones :meth:`generate`)."""

    # Live progress: where a backend decodes step by step (transformers), it calls this after each
    # step with the number of sequences that got a token; run_rollouts sets it while it plays.
    on_step: Callable[[int], None] | None = None

    name = "model"
    gen: GenerationConfig
    stats: GenerationStats
    # can the backend force a prefix and restrict the next token (guided action decoding)?
    supports_guided = False
    reasoning_parser = "think"  # see deliberate.reasoning; make_backend sets it from the config

    def __init__(self, gen: GenerationConfig, name: str):
        self.gen, self.name = gen, name
        self.stats = GenerationStats()
        self.reseed(gen.seed)

    def reseed(self, seed: int) -> None:
        """Restart the sampling stream: the same calls after the same seed give the same outputs."""
        self._seed = int(seed)
        self._calls_since_seed = 0

    def _next_seed(self) -> int:
        s = self._seed * 1_000_003 + self._calls_since_seed
        self._calls_since_seed += 1
        return s % (2**63)

    def supports_native_tools(self) -> bool:
        return False

    def chat_template(self) -> str:
        return ""

    def context_window(self) -> int | None:
        """The most tokens (prompt and reply together) the model takes, where the backend knows; else None."""
        return None

    def prompt_tokens(self, conversation: list[dict], tools: list[dict] | None = None) -> tuple[int, bool]:
        """(tokens of this prompt, exact?). Without a tokenizer: a low estimate, one token per
        ``CHARS_PER_TOKEN_BOUND`` characters of the request's messages and tools, so that a prompt
        refused on it is too long for certain."""
        chars = len(json.dumps(_api_messages(conversation, native=bool(tools)), ensure_ascii=False))
        return (chars + len(json.dumps(tools or [], ensure_ascii=False))) // CHARS_PER_TOKEN_BOUND, False

    @abc.abstractmethod
    def respond(self, conversations: list[list[dict]], tools: list[list[dict] | None] | None = None
                ) -> list[Completion]:
        """One Completion per conversation, in order (``tools``: per-conversation tool schemas)."""


def _plain(messages: list[dict]) -> list[dict]:
    """Messages as chat templates expect them. ``reasoning`` is kept: the training templates
    render earlier turns' reasoning exactly as training did (so what a model generates from is
    what it was trained on, and GRPO's prompt is a prefix of its completion); templates that do
    not know the key ignore it."""
    return [{k: v for k, v in m.items() if k in ("role", "content", "reasoning", "name", "tool_calls", "tool_call_id")}
            for m in messages]


class LocalBackend(Backend):
    """Backends that hold the tokenizer and render prompts with the model's chat template."""

    tokenizer = None

    def render(self, messages: list[dict], tools: list[dict] | None = None) -> str:
        kwargs = {"tools": tools} if tools else {}
        return self.tokenizer.apply_chat_template(_plain(messages), add_generation_prompt=True, tokenize=False,
                                                  **kwargs)

    def chat_template(self) -> str:
        template = self.tokenizer.chat_template or ""
        return template if isinstance(template, str) else json.dumps(template)

    def supports_native_tools(self) -> bool:
        return "tools" in self.chat_template()

    def prompt_tokens(self, conversation: list[dict], tools: list[dict] | None = None) -> tuple[int, bool]:
        return len(self.tokenizer(self.render(conversation, tools), add_special_tokens=False).input_ids), True

    @abc.abstractmethod
    def generate(self, prompts: list[str], *, max_new_tokens: int | None = None, stop: list[str] | None = None
                 ) -> list[str]:
        """Continue each rendered prompt; with ``stop``, cut after the first stop string (kept)."""

    def respond(self, conversations, tools=None):
        tools = tools or [None] * len(conversations)
        prompts = [self.render(c, t) for c, t in zip(conversations, tools)]
        return [Completion(text=t) for t in self.generate(prompts)]


def _cut_at_stop(text: str, stop: list[str] | None) -> str:
    """Cut after the first stop string (kept), whichever comes first in the text."""
    hits = [(text.index(s), s) for s in stop or () if s in text]
    if not hits:
        return text
    pos, s = min(hits)
    return text[: pos + len(s)]


class TransformersBackend(LocalBackend):
    """Batched, left-padded local generation. ``generate(prompts)`` keeps the input order."""

    supports_guided = True

    def __init__(self, model, tokenizer, gen: GenerationConfig, name: str = "model"):
        self.model, self.tokenizer = model, tokenizer
        self.tokenizer.padding_side = "left"
        sliding = getattr(model.config, "sliding_window", None) or "sliding_attention" in (
            getattr(model.config, "layer_types", None) or ())
        cache = PrefixCache(gen.prefix_cache_mb * 2**20) if gen.kv_cache and not sliding else None
        self.decoder = Decoder(model, tokenizer, cache)
        super().__init__(gen, name)

    @classmethod
    def from_config(cls, model_cfg: ModelConfig, gen: GenerationConfig) -> TransformersBackend:
        model, tok = load_model(model_cfg)
        return cls(model, tok, gen, name=describe(model_cfg))

    def reseed(self, seed: int) -> None:
        super().reseed(seed)
        self._torch_gen = torch.Generator().manual_seed(int(seed) % (2**63))

    def context_window(self) -> int | None:
        return self.model.config.get_text_config().max_position_embeddings

    def torch_generator(self) -> torch.Generator:
        """The seeded generator for sampling outside ``generate`` (guided choices)."""
        return self._torch_gen

    def batches(self, lengths: list[int], max_new_tokens: int) -> list[list[int]]:
        """Indices grouped into batches: similar lengths together (less padding), at most
        ``batch_size`` rows, and at most ``max_batch_tokens`` padded tokens where that is set."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        out: list[list[int]] = []
        budget = self.gen.max_batch_tokens
        for i in order:
            if out:
                cur = out[-1]
                rows = len(cur) + 1
                width = max(lengths[j] for j in cur + [i]) + max_new_tokens
                if rows <= self.gen.batch_size and (not budget or rows * width <= budget):
                    cur.append(i)
                    continue
            out.append([i])
        return out

    def generate(self, prompts: list[str], *, max_new_tokens: int | None = None, stop: list[str] | None = None,
                 min_new_tokens: int | None = None) -> list[str]:
        """Sample a continuation of each prompt; with ``stop``, each reply is cut after the
        first stop string it contains (the stop string is kept). Row ``i`` samples from its own
        generator seeded by the call's seed and ``i``: the same after the same seed and calls,
        whatever the batching and the prefix cache."""
        max_new = max_new_tokens or self.gen.max_new_tokens
        base = self._next_seed()
        out: list[str] = [""] * len(prompts)
        lengths = [len(ids) for ids in self.tokenizer(prompts, add_special_tokens=False).input_ids]
        stop_ids = {self.tokenizer.pad_token_id, self.tokenizer.eos_token_id} - {None}
        for idx in self.batches(lengths, max_new):
            ids, seconds = self.decoder.generate(
                [prompts[i] for i in idx], max_new=max_new, seeds=[(base * 1_000_003 + i) % (2**63) for i in idx],
                temperature=self.gen.temperature, top_p=self.gen.top_p, stop=stop, stop_ids=stop_ids,
                min_new=min_new_tokens, on_step=self.on_step)
            self.stats.seconds += seconds
            self.stats.calls += 1
            self.stats.sequences += len(idx)
            for row, i in zip(ids, idx):
                self.stats.new_tokens += len(row)
                out[i] = _cut_at_stop(self.tokenizer.decode(row, skip_special_tokens=True), stop)
        return out

    def next_logits(self, prompts: list[str]) -> torch.Tensor:
        """Next-token logits after each prompt ([len(prompts), vocab], float32), in batches."""
        chunks = [self.decoder.next_logits(prompts[i:i + self.gen.batch_size])
                  for i in range(0, len(prompts), self.gen.batch_size)]
        return torch.cat(chunks) if chunks else torch.empty(0)

    def clear_cache(self) -> None:
        """Drop the prefix cache (the end of a set of rollouts: its conversations are over)."""
        if self.decoder.cache is not None:
            self.decoder.cache.clear()


class VllmBackend(LocalBackend):
    """vLLM's offline engine. Prompts are rendered with the model's own chat template, as
    for transformers, so both local backends see the same text."""

    def __init__(self, model_cfg: ModelConfig, gen: GenerationConfig):
        try:
            import vllm
        except ImportError as exc:
            raise ModelError("backend 'vllm' needs the vllm extra: pip install 'deliberate[vllm]' "
                             f"(on a machine with a GPU); import failed: {exc}") from exc
        folder, gguf = resolve(model_cfg)
        self._vllm = vllm
        v = model_cfg.vllm
        kwargs = {"tensor_parallel_size": v.tensor_parallel_size, "gpu_memory_utilization": v.gpu_memory_utilization,
                  "seed": gen.seed, "dtype": "auto" if model_cfg.dtype == "float32" else model_cfg.dtype,
                  # a rollout re-sends its conversation each turn and k samples share a system prompt
                  "enable_prefix_caching": True}
        if v.max_model_len:
            kwargs["max_model_len"] = v.max_model_len
        kwargs.update(v.engine_args)  # checked against VLLM_ENGINE_ARGS when the config was loaded
        model = str(folder / gguf) if gguf else str(folder)
        self.llm = vllm.LLM(model=model, **kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        super().__init__(gen, describe(model_cfg))

    def context_window(self) -> int | None:
        try:
            return int(self.llm.llm_engine.model_config.max_model_len)
        except (AttributeError, TypeError, ValueError):  # an engine version that keeps it elsewhere
            return None

    def generate(self, prompts, *, max_new_tokens=None, stop=None):
        base = self._next_seed()
        params = [self._vllm.SamplingParams(
            temperature=self.gen.temperature, top_p=self.gen.top_p,
            max_tokens=max_new_tokens or self.gen.max_new_tokens,
            stop=stop, include_stop_str_in_output=True, seed=(base + i) % (2**31)) for i in range(len(prompts))]
        t0 = time.perf_counter()
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        self.stats.seconds += time.perf_counter() - t0
        self.stats.calls += 1
        self.stats.sequences += len(prompts)
        texts = []
        for o in outputs:
            first = o.outputs[0]
            self.stats.new_tokens += len(first.token_ids)
            texts.append(first.text)
        return texts


# ------------------------------------------------------------------------ OpenAI-compatible


class EndpointError(RuntimeError):
    """A request that failed for good; ``retryable`` says whether retrying could have helped."""

    def __init__(self, message: str, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


def _api_messages(messages: list[dict], native: bool) -> list[dict]:
    """Our transcript messages as an OpenAI chat payload. In native mode, assistant tool calls
    (stored as the canonical JSON action) become ``tool_calls`` and results ``tool`` messages."""
    out: list[dict] = []
    last_id = None
    for i, m in enumerate(messages):
        if native and m["role"] == "assistant":
            try:
                action = json.loads(m["content"])
            except (json.JSONDecodeError, TypeError):
                action = None
            if isinstance(action, dict) and isinstance(action.get("tool"), str):
                last_id = f"call_{i}"
                out.append({"role": "assistant", "content": "", "tool_calls": [{
                    "id": last_id, "type": "function",
                    "function": {"name": action["tool"], "arguments": json.dumps(action.get("args", {}))}}]})
                continue
        if native and m["role"] == "tool":
            out.append({"role": "tool", "tool_call_id": last_id or f"call_{i}", "content": m["content"]})
            continue
        out.append({"role": m["role"], "content": m["content"]})
    return out


class OpenAIBackend(Backend):
    """Any OpenAI-compatible chat-completions endpoint."""

    RETRY_STATUS = (408, 409, 425, 429, 500, 502, 503, 504)

    def __init__(self, model_cfg: ModelConfig, gen: GenerationConfig, *, sleep=time.sleep):
        import httpx

        ep = model_cfg.endpoint
        if ep is None:
            raise ModelError("backend 'openai' needs an endpoint section with base_url")
        self.endpoint = ep
        self.model = model_cfg.name_or_path
        headers = {"Content-Type": "application/json"}
        if ep.api_key_env:
            key = os.environ.get(ep.api_key_env)
            if not key:
                raise ModelError(f"the API key variable {ep.api_key_env} (endpoint.api_key_env) is not set "
                                 "in the environment")
            register_secret(key)  # masked wherever anything is stored or logged from now on
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(base_url=ep.base_url.rstrip("/"), headers=headers,
                                    timeout=httpx.Timeout(ep.timeout_s))
        self._httpx = httpx
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rng = random.Random(gen.seed)
        super().__init__(gen, describe(model_cfg))

    def supports_native_tools(self) -> bool:
        return True  # the server applies the model's template; tools go in the request

    def context_window(self) -> int | None:
        """The served model's ``max_model_len`` from ``GET /models`` (vLLM reports it); None where the
        server does not say (hosted APIs) or does not answer."""
        if not hasattr(self, "_window"):
            self._window = None
            try:
                resp = self._client.get("/models", timeout=min(self.endpoint.timeout_s, 10.0))
                models = resp.json().get("data") or [] if resp.status_code == 200 else []
                for m in models:
                    if isinstance(m, dict) and (m.get("id") == self.model or len(models) == 1):
                        window = m.get("max_model_len")
                        self._window = window if isinstance(window, int) and window > 0 else None
                        break
            except (self._httpx.HTTPError, ValueError, AttributeError):
                pass
        return self._window

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        ep = self.endpoint
        cap = min(ep.backoff_max_s, ep.backoff_initial_s * 2**attempt)
        with self._lock:
            delay = self._rng.uniform(0, cap)
        if retry_after is not None:
            delay = max(delay, min(retry_after, ep.backoff_max_s))
        return delay

    def _post(self, payload: dict) -> dict:
        """One attempt. Returns the parsed response or raises EndpointError."""
        httpx = self._httpx
        try:
            resp = self._client.post("/chat/completions", json=payload)
        except httpx.TimeoutException as exc:
            raise EndpointError(f"timed out after {self.endpoint.timeout_s}s ({type(exc).__name__})", True) from exc
        except httpx.TransportError as exc:
            raise EndpointError(f"connection error: {type(exc).__name__}: {exc}", True) from exc
        if resp.status_code != 200:
            # masked before it is cut, so no part of an echoed key survives the cut
            body = redact(resp.text[:4096])[:300].replace("\n", " ")
            retry_after = resp.headers.get("retry-after")
            err = EndpointError(f"HTTP {resp.status_code}: {body}", resp.status_code in self.RETRY_STATUS)
            try:
                err.retry_after = float(retry_after) if retry_after else None
            except ValueError:
                err.retry_after = None
            if resp.status_code in (401, 403):
                err.args = (f"HTTP {resp.status_code}: not authorized (check the key in "
                            f"${self.endpoint.api_key_env or '<no api_key_env set>'}): {body}",)
            raise err
        try:
            data = resp.json()
            choice = data["choices"][0]
            message = choice["message"]
            if not isinstance(message, dict):
                raise TypeError("message is not an object")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise EndpointError(f"malformed response ({type(exc).__name__}: {redact(str(exc))[:200]}): "
                                f"{redact(resp.text[:4096])[:200]!r}",
                                True) from exc
        return data

    def _request(self, payload: dict) -> Completion:
        attempts = 0
        while True:
            attempts += 1
            try:
                data = self._post(payload)
                break
            except EndpointError as exc:
                if not exc.retryable or attempts > self.endpoint.max_retries:
                    with self._lock:
                        self.stats.failures += 1
                    return Completion(error=redact(f"{exc} (after {attempts} attempt{'s' * (attempts > 1)})"),
                                      attempts=attempts)
                with self._lock:
                    self.stats.retries += 1
                self._sleep(self._backoff(attempts - 1, getattr(exc, "retry_after", None)))
        choice = data["choices"][0]
        message = choice["message"]
        calls = []
        for c in message.get("tool_calls") or []:
            fn = (c or {}).get("function") or {}
            if isinstance(fn.get("name"), str):
                calls.append({"name": fn["name"], "arguments": fn.get("arguments", {})})
        reasoning = message.get("reasoning_content", message.get("reasoning"))
        usage = data.get("usage") or {}
        with self._lock:
            self.stats.new_tokens += int(usage.get("completion_tokens") or 0)
        for c in calls:
            if isinstance(c["arguments"], str):
                c["arguments"] = redact_known(c["arguments"])
        return Completion(text=redact_known(message.get("content") or ""),
                          reasoning=redact_known(reasoning) if isinstance(reasoning, str) else None,
                          tool_calls=calls, attempts=attempts, finish_reason=choice.get("finish_reason"))

    def respond(self, conversations, tools=None):
        tools = tools or [None] * len(conversations)
        base = self._next_seed()
        payloads = []
        for i, (conv, t) in enumerate(zip(conversations, tools)):
            p = {"model": self.model, "messages": _api_messages(conv, native=bool(t)),
                 "max_tokens": self.gen.max_new_tokens, "temperature": self.gen.temperature,
                 "top_p": self.gen.top_p, "seed": (base + i) % (2**31)}
            if t:
                p["tools"] = t
            payloads.append(p)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.endpoint.max_concurrency) as pool:
            out = list(pool.map(self._request, payloads))
        self.stats.seconds += time.perf_counter() - t0
        self.stats.calls += 1
        self.stats.sequences += len(out)
        return out

    def close(self) -> None:
        self._client.close()


def make_backend(model_cfg: ModelConfig, gen: GenerationConfig) -> Backend:
    """The backend a model config names, with its reasoning parser resolved."""
    from deliberate.reasoning import resolve_parser

    if model_cfg.backend == "transformers":
        backend: Backend = TransformersBackend.from_config(model_cfg, gen)
    elif model_cfg.backend == "vllm":
        backend = VllmBackend(model_cfg, gen)
    elif model_cfg.backend == "openai":
        backend = OpenAIBackend(model_cfg, gen)
    else:
        raise ModelError(f"unknown backend {model_cfg.backend!r}")
    parser = model_cfg.reasoning_parser
    if parser == "auto" and model_cfg.backend == "openai":
        parser = "reasoning_content"  # falls back to <think> tags in the content when the field is absent
    backend.reasoning_parser = resolve_parser(parser, model_cfg.name_or_path, backend.chat_template())
    return backend
