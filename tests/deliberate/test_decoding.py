"""The prefix KV cache of the transformers backend: same tokens as without it, and really reused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deliberate.backends import TransformersBackend
from deliberate.config import GenerationConfig, ModelConfig
from deliberate.decoding import PrefixCache
from deliberate.envs.core import get_family
from deliberate.models import load_model
from deliberate.rollout import run_rollouts

FAMILIES = ("impossible_checklist", "log_falsification", "oversight_config")


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model(ModelConfig(name_or_path=str(tiny_model_dir)))


def _backend(model_tok, kv_cache: bool, **gen) -> TransformersBackend:
    model, tok = model_tok
    defaults = {"batch_size": 8, "guided_actions": True, "reasoning_tokens": 12, "action_tokens": 8, "seed": 3}
    return TransformersBackend(model, tok, GenerationConfig(kv_cache=kv_cache, **{**defaults, **gen}))


def _scenarios(n: int = 2):
    return [get_family(f).sample(1000 + i, "test", cue) for f in FAMILIES for cue in ("eval", "deploy")
            for i in range(n)]


def _episodes(model_tok, kv_cache: bool, **gen):
    backend = _backend(model_tok, kv_cache, **gen)
    rollouts = run_rollouts(backend, _scenarios(), samples=2, tool_format="json", max_turns=3)
    return [r.to_record()["turns"] for r in rollouts], backend


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_guided_multi_turn_episodes_are_the_same_with_and_without_the_cache(tiny, temperature):
    plain, _ = _episodes(tiny, False, temperature=temperature)
    cached, backend = _episodes(tiny, True, temperature=temperature)
    assert cached == plain
    assert max(len(turns) for turns in plain) >= 2  # several turns: later ones continue earlier caches
    assert backend.decoder.cache.hits > 0 and backend.decoder.cache.reused_tokens > 1000
    assert backend.decoder.cache.entries == {}  # run_rollouts clears it when its episodes are over


@pytest.mark.parametrize("temperature", [0.0, 0.9])
def test_mixed_length_batch_and_repeated_prefixes(tiny, temperature):
    """Prompts of very different lengths in one batch, some extending others (the cache case)."""
    base = ["<|im_start|>user\nCheck the logs and report.<|im_end|>\n<|im_start|>assistant\n",
            "<|im_start|>system\n" + "Follow the policy. " * 40 + "<|im_end|>\n<|im_start|>user\nDo it.<|im_end|>\n"]
    prompts = base + [base[0] + "<think>I should", base[1] + "<|im_start|>assistant\n<think>", "hi"]
    outs = {}
    for kv in (False, True):
        backend = _backend(tiny, kv, temperature=temperature, batch_size=3)
        backend.reseed(11)
        first = backend.generate(base, max_new_tokens=10)
        second = backend.generate(prompts, max_new_tokens=10, stop=["."])
        outs[kv] = (first, second)
    assert outs[True] == outs[False]


def test_uncached_greedy_matches_transformers_generate(tiny):
    model, tok = tiny
    backend = _backend(tiny, False, temperature=0.0)
    prompts = ["<|im_start|>user\nescalate the request<|im_end|>\n<|im_start|>assistant\n", "the policy says"]
    ours = backend.generate(prompts, max_new_tokens=12)
    for prompt, text in zip(prompts, ours):
        enc = tok([prompt], return_tensors="pt", add_special_tokens=False)
        ref = model.generate(**enc, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
        ids = ref[0, enc["input_ids"].shape[1]:].tolist()
        ids = ids[:next((i for i, t in enumerate(ids) if t in (tok.eos_token_id, tok.pad_token_id)), len(ids))]
        assert text == tok.decode(ids, skip_special_tokens=True)


def test_seeded_sampling_does_not_depend_on_batching(tiny):
    prompts = [f"<|im_start|>user\nTask {i}: check the status<|im_end|>\n<|im_start|>assistant\n" for i in range(5)]
    outs = []
    for batch_size in (1, 5):
        backend = _backend(tiny, True, temperature=1.0, batch_size=batch_size)
        backend.reseed(7)
        outs.append(backend.generate(prompts, max_new_tokens=8))
    assert outs[0] == outs[1]


def test_prefix_cache_longest_prefix_subsumption_and_budget():
    kv = [(torch.zeros(1, 2, 4, 3), torch.zeros(1, 2, 4, 3))]  # 192 bytes for 4 tokens
    cache = PrefixCache(max_bytes=400)
    a = np.array([1, 2, 3, 4])
    cache.store(a, kv, None)
    n, entry, key = cache.lookup(np.array([1, 2, 3, 4, 5, 6]))
    assert n == 4 and entry.ids.tolist() == [1, 2, 3, 4]
    assert cache.lookup(np.array([1, 2, 3, 4]))[0] == 3  # one token is always left to run
    assert cache.lookup(np.array([9, 9]))[0] == 0
    longer = [(torch.zeros(1, 2, 6, 3), torch.zeros(1, 2, 6, 3))]  # 288 bytes
    cache.store(np.array([1, 2, 3, 4, 5, 6]), longer, key)  # covers the old entry: it is replaced
    assert [e.ids.tolist() for e in cache.entries.values()] == [[1, 2, 3, 4, 5, 6]] and cache.bytes == 288
    cache.store(np.array([7, 8, 9, 10]), kv, None)  # over budget: the least recently used goes
    assert [e.ids.tolist() for e in cache.entries.values()] == [[7, 8, 9, 10]] and cache.bytes == 192
    cache.store(np.arange(100), [(torch.zeros(1, 2, 100, 3), torch.zeros(1, 2, 100, 3))], None)  # too big: not kept
    assert len(cache.entries) == 1


def test_cache_off_for_sliding_window_models_and_by_config(tiny):
    model, tok = tiny
    assert _backend(tiny, False).decoder.cache is None
    model.config.sliding_window = 16
    try:
        assert _backend(tiny, True).decoder.cache is None
    finally:
        model.config.sliding_window = None


@pytest.mark.slow
def test_embedded_model_same_tokens_with_and_without_the_cache():
    """SmolLM2-135M (the embedded default), guided, two turns, greedy and seeded sampling."""
    model_tok = load_model(ModelConfig(name_or_path="smollm2-135m-instruct"))
    scenarios = [get_family("log_falsification").sample(1000, "test", "deploy"),
                 get_family("oversight_config").sample(1001, "test", "eval")]
    for temperature in (0.0, 0.7):
        runs = []
        for kv in (False, True):
            backend = _backend(model_tok, kv, temperature=temperature, reasoning_tokens=16, action_tokens=12)
            runs.append([r.to_record()["turns"] for r in run_rollouts(backend, scenarios, samples=2,
                                                                      tool_format="json", max_turns=2)])
        assert runs[0] == runs[1]
