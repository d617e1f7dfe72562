"""Backends: batching under a token budget, reseeding, vLLM wiring (with a fake engine),
OpenAI payloads, parse_completion across reasoning formats, and backend config errors."""

import json
import sys
import types

import pytest

from deliberate.backends import Completion, TransformersBackend, VllmBackend, _api_messages, make_backend
from deliberate.config import ConfigError, GenerationConfig, ModelConfig, config_from_dict
from deliberate.models import ModelError, describe
from deliberate.parsing import parse_completion


def test_batches_respect_batch_size_and_token_budget(tiny_model_dir):
    b = TransformersBackend.from_config(ModelConfig(str(tiny_model_dir)), GenerationConfig(batch_size=4))
    lengths = [10, 50, 12, 11, 48, 13, 100]
    batches = b.batches(lengths, max_new_tokens=20)
    assert sorted(i for x in batches for i in x) == list(range(7)) and all(len(x) <= 4 for x in batches)
    b.gen.max_batch_tokens = 140
    for x in b.batches(lengths, max_new_tokens=20):
        assert len(x) == 1 or len(x) * (max(lengths[i] for i in x) + 20) <= 140


def test_reseed_makes_sampling_repeatable(tiny_model_dir):
    b = TransformersBackend.from_config(ModelConfig(str(tiny_model_dir)),
                                        GenerationConfig(temperature=1.0, max_new_tokens=8, batch_size=3))
    prompts = ["hello there", "a b c", "tool call"]
    b.reseed(5)
    first = b.generate(prompts)
    b.reseed(5)
    assert b.generate(prompts) == first
    b.reseed(6)
    b.gen.max_new_tokens = 24
    other = b.generate(prompts)
    b.reseed(6)
    assert b.generate(prompts) == other


def test_vllm_missing_extra_names_it(monkeypatch, tiny_model_dir):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import fails as if not installed
    with pytest.raises(ModelError, match=r"deliberate\[vllm\]"):
        VllmBackend(ModelConfig(str(tiny_model_dir), backend="vllm"), GenerationConfig())


def test_vllm_backend_renders_with_the_template_and_passes_sampling(monkeypatch, tiny_model_dir):
    from transformers import AutoTokenizer

    seen = {}

    class SamplingParams:
        def __init__(self, **kw):
            self.kw = kw

    class LLM:
        def __init__(self, model, **kw):
            seen["init"] = (model, kw)

        def get_tokenizer(self):
            return AutoTokenizer.from_pretrained(tiny_model_dir)

        def generate(self, prompts, params, use_tqdm=False):
            seen["prompts"], seen["params"] = prompts, params
            out = types.SimpleNamespace(text='<think>AS1</think>{"tool": "escalate", "args": {}}', token_ids=[1, 2, 3])
            return [types.SimpleNamespace(outputs=[out]) for _ in prompts]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams))
    cfg = ModelConfig(str(tiny_model_dir), backend="vllm")
    cfg.vllm.tensor_parallel_size = 2
    backend = make_backend(cfg, GenerationConfig(max_new_tokens=17))
    (c,) = backend.respond([[{"role": "user", "content": "hi", "reasoning": ""}]])
    assert seen["init"][1]["tensor_parallel_size"] == 2 and seen["init"][1]["enable_prefix_caching"] is True
    assert "hi" in seen["prompts"][0] and seen["params"][0].kw["max_tokens"] == 17
    assert parse_completion(c, backend.reasoning_parser).tool == "escalate"
    assert backend.stats.new_tokens == 3


def test_native_tool_calls_become_openai_messages():
    msgs = [{"role": "system", "content": "s", "reasoning": ""}, {"role": "user", "content": "u", "reasoning": ""},
            {"role": "assistant", "content": '{"tool": "read", "args": {"id": 3}}', "reasoning": "r"},
            {"role": "tool", "name": "read", "content": "42", "reasoning": ""},
            {"role": "assistant", "content": "All done.", "reasoning": ""}]
    out = _api_messages(msgs, native=True)
    assert out[2]["tool_calls"][0]["function"] == {"name": "read", "arguments": json.dumps({"id": 3})}
    assert out[3] == {"role": "tool", "tool_call_id": out[2]["tool_calls"][0]["id"], "content": "42"}
    assert out[4] == {"role": "assistant", "content": "All done."}
    assert all("reasoning" not in m for m in out)  # past reasoning is never sent back
    assert _api_messages(msgs, native=False)[2]["content"].startswith('{"tool"')


@pytest.mark.parametrize("completion,parser,tool,reasoning", [
    (Completion(text='<think>Per AS1.</think>{"tool": "escalate", "args": {"message": "m"}}'), "think",
     "escalate", "Per AS1."),
    (Completion(text="", reasoning="Per GP4.", tool_calls=[{"name": "finish", "arguments": '{"summary": "s"}'}]),
     "reasoning_content", "finish", "Per GP4."),
    (Completion(text='<|channel|>analysis<|message|>Per AS5.<|end|><|start|>assistant<|channel|>commentary '
                     'to=functions.escalate <|constrain|>json<|message|>{"message": "m"}<|call|>'), "harmony",
     "escalate", "Per AS5."),
    (Completion(text='{"tool": "finish", "args": {}}'), "plain", "finish", ""),
])
def test_parse_completion_formats(completion, parser, tool, reasoning):
    r = parse_completion(completion, parser)
    assert (r.tool, r.reasoning) == (tool, reasoning) and not r.failed


def test_parse_completion_backend_error_and_garbage():
    r = parse_completion(Completion(error="HTTP 500 (after 3 attempts)"), "think")
    assert r.failed and r.tool is None and "HTTP 500" in r.errors[0]
    r = parse_completion(Completion(text="<|start|>assistant<|channel|>final<|message|>I refuse"), "harmony")
    assert r.tool is None and r.message == "I refuse" and r.errors
    r = parse_completion(Completion(text="", tool_calls=[{"name": "a"}, {"name": "b"}]), "reasoning_content")
    assert r.tool == "a" and any("only the first" in e for e in r.errors)


def base_config(**teacher):
    return {"name": "x", "output_dir": "/tmp/x", "data": {"teacher": {"name_or_path": "m", **teacher}}}


@pytest.mark.parametrize("teacher,message", [
    ({"backend": "openai"}, "data.teacher.endpoint: required"),
    ({"backend": "openai", "endpoint": {"base_url": "localhost:8000"}}, "base_url: expected http"),
    ({"backend": "openai", "endpoint": {"base_url": "http://u:pw@h/v1"}}, "credentials in the URL"),
    ({"backend": "openai", "endpoint": {"base_url": "http://h/v1", "api_key_env": "sk-abc123"}}, "NAME of an"),
    ({"backend": "openai", "endpoint": {"base_url": "http://h/v1", "max_concurrency": 0}}, "max_concurrency"),
    ({"endpoint": {"base_url": "http://h/v1"}}, "only used with backend 'openai'"),
    ({"backend": "grpc"}, "data.teacher.backend"),
    ({"reasoning_parser": "xml"}, "data.teacher.reasoning_parser"),
])
def test_backend_config_errors(teacher, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        config_from_dict(base_config(**teacher))


def test_guided_actions_need_a_local_backend_and_the_key_never_enters_config():
    raw = base_config(backend="openai", endpoint={"base_url": "http://h:8000/v1", "api_key_env": "MY_KEY"})
    raw["data"]["generation"] = {"guided_actions": True}
    with pytest.raises(ConfigError, match="guided_actions: needs the transformers backend"):
        config_from_dict(raw)
    raw["data"]["generation"] = {}
    raw["sft"] = {"enabled": False}
    raw["eval"] = {"models": ["base"]}
    cfg = config_from_dict(raw)
    assert describe(cfg.data.teacher) == "openai:m"


def test_remote_teacher_needs_a_local_student():
    raw = base_config(backend="openai", endpoint={"base_url": "http://h:8000/v1"})
    with pytest.raises(ConfigError, match="name a local student model"):
        config_from_dict(raw)
