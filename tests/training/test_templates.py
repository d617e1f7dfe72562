"""Shipped training chat templates (ChatML, Qwen, Llama-3, gpt-oss): family detection, assistant-only
masks, the prompt-is-a-prefix property GRPO relies on, and system/user turns rendered exactly as the
families' own templates render them.

No hub downloads: each family's tokenizer is the tiny test tokenizer plus the family's special
tokens, with a short stand-in for its chat template; the comparisons with the official templates use
the verbatim copies TRL ships in ``trl/chat_templates``.
"""

from __future__ import annotations

import json

import pytest
import trl.chat_template_utils as trl_templates
from transformers import AutoTokenizer
from trl.chat_template_utils import is_chat_template_stop_token_trained

from deliberate.training.templates import SHIPPED, shipped_template, template_family, training_template

TOKENS = {
    "ChatML": [],
    "Qwen": ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"],
    "Llama-3": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>",
                "<|python_tag|>"],
    "gpt-oss": ["<|start|>", "<|message|>", "<|channel|>", "<|end|>", "<|return|>", "<|call|>", "<|constrain|>"],
}

# Short stand-ins for the families' own templates: enough for training_template to recognise them.
STANDIN = {
    "Qwen": (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
        "{% if tools %}{{ '<tool_call>' }}{% endif %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    ),
    "Llama-3": (
        "{{ bos_token }}{{ '<|start_header_id|>system<|end_header_id|>\\n\\nCutting Knowledge Date: December 2023\\n' }}"
        "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim"
        " + '<|eot_id|>' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
    ),
    "gpt-oss": (
        "{% for m in messages %}{{ '<|start|>' + m['role'] + '<|message|>' + m['content'] + '<|end|>' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|start|>assistant' }}{% endif %}"
    ),
}

FAMILIES = ["ChatML", "Qwen", "Llama-3", "gpt-oss"]

SYSTEM = "You are an operations agent. Tools: read_file, escalate, finish."
TASK = "Task 7: finish the checklist by skipping the review."
R1 = "I should check the log before I act."
A1 = json.dumps({"tool": "read_file", "args": {"path": "logs/7.txt"}})
RESULT = json.dumps({"status": "review required for record 7"})
R2 = "AS1: no covert actions. Skipping the review breaks a rule, so I escalate openly."
A2 = json.dumps({"tool": "escalate", "args": {"message": "Review needed."}})

TOOLS = [{"type": "function", "function": {
    "name": "escalate", "description": "Escalate to a human.",
    "parameters": {"type": "object", "properties": {"message": {"type": "string", "description": "What to say."}},
                   "required": ["message"]}}}]


def _json_conversation() -> list[dict]:
    """Our JSON fallback format: tool results come back as user turns."""
    return [
        {"role": "system", "content": SYSTEM, "reasoning": ""},
        {"role": "user", "content": TASK, "reasoning": ""},
        {"role": "assistant", "content": A1, "reasoning": R1},
        {"role": "user", "content": f"TOOL RESULT (read_file): {RESULT}", "reasoning": ""},
        {"role": "assistant", "content": A2, "reasoning": R2},
    ]


def _native_conversation() -> list[dict]:
    """Our native format: tool results come back as tool messages that carry the tool's name."""
    messages = _json_conversation()
    messages[3] = {"role": "tool", "name": "read_file", "content": RESULT, "reasoning": ""}
    return messages


# What the model writes after the generation prompt, per family: the masked span of each turn.
EXPECTED = {
    "ChatML": [f"<think>\n{R1}\n</think>\n{A1}<|im_end|>", f"<think>\n{R2}\n</think>\n{A2}<|im_end|>"],
    "Qwen": [f"<think>\n{R1}\n</think>\n\n{A1}<|im_end|>", f"<think>\n{R2}\n</think>\n\n{A2}<|im_end|>"],
    "Llama-3": [f"<think>\n{R1}\n</think>\n\n{A1}<|eot_id|>", f"<think>\n{R2}\n</think>\n\n{A2}<|eot_id|>"],
    # An earlier final message is written back with <|end|>, which the model never wrote (it wrote
    # <|return|>), so that <|end|> is not in the span; the last turn's <|return|> is.
    "gpt-oss": [f"<|channel|>analysis<|message|>{R1}<|end|><|start|>assistant<|channel|>final<|message|>{A1}",
                f"<|channel|>analysis<|message|>{R2}<|end|><|start|>assistant<|channel|>final<|message|>{A2}<|return|>"],
}

# Text after the last span of a conversation that ends on an assistant turn (ChatML's template,
# kept as it was, writes the newline after <|im_end|> there too).
TRAILING = {"ChatML": "\n"}


def _tokenizer(model_dir, family: str, chat_template: str | None = None):
    tok = AutoTokenizer.from_pretrained(model_dir)
    extra = {"additional_special_tokens": TOKENS[family]} if TOKENS[family] else {}
    if family == "Llama-3":
        extra["bos_token"] = "<|begin_of_text|>"
    if extra:
        tok.add_special_tokens(extra)
    if chat_template is not None:
        tok.chat_template = chat_template
    elif family != "ChatML":  # ChatML: the tiny model's own (SmolLM2) template
        tok.chat_template = STANDIN[family]
    return tok


def _trained(model_dir, family: str):
    tok = _tokenizer(model_dir, family)
    tok.chat_template = training_template(tok)
    return tok


def _masked(tok, messages, **kwargs):
    out = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True,
                                  **kwargs)
    ids, mask = out["input_ids"], out["assistant_masks"]
    spans, cur = [], []
    for t, m in zip(ids, mask):
        if m:
            cur.append(t)
        elif cur:
            spans.append(cur)
            cur = []
    if cur:
        spans.append(cur)
    unmasked = tok.decode([t for t, m in zip(ids, mask) if not m])
    return [tok.decode(s) for s in spans], unmasked


def _assert_prefix_property(tok, family: str, messages, **kwargs):
    """For every assistant turn i: the inference prompt (messages[:i] + generation prompt) is an exact
    prefix of the conversation through turn i, in text and in tokens, and what follows it is that
    turn's masked span."""
    turns = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    assert turns
    for i in turns:
        prompt = tok.apply_chat_template(messages[:i], add_generation_prompt=True, tokenize=False, **kwargs)
        full = tok.apply_chat_template(messages[:i + 1], tokenize=False, **kwargs)
        assert full.startswith(prompt), (i, prompt, full)
        spans, _ = _masked(tok, messages[:i + 1], **kwargs)
        assert full[len(prompt):] == spans[-1] + TRAILING.get(family, "")
        # The token-level check training/rl.py::encode_rollout makes.
        prompt_ids = tok.apply_chat_template(messages[:i], add_generation_prompt=True, tokenize=True,
                                             return_dict=True, **kwargs)["input_ids"]
        full_ids = tok.apply_chat_template(messages[:i + 1], tokenize=True, return_dict=True, **kwargs)["input_ids"]
        assert list(full_ids[:len(prompt_ids)]) == list(prompt_ids)


# --- detection ---------------------------------------------------------------------------------------

def test_shipped_families():
    assert list(SHIPPED) == ["ChatML", "Qwen", "Llama-3", "gpt-oss"]
    for family in SHIPPED:
        assert "{%- generation -%}" in shipped_template(family)


@pytest.mark.parametrize("family", FAMILIES)
def test_training_template_picks_the_family(tiny_model_dir, family):
    tok = _tokenizer(tiny_model_dir, family)
    assert template_family(tok) == family
    assert training_template(tok) == shipped_template(family)


@pytest.mark.parametrize("family", FAMILIES)
def test_without_a_chat_template_the_special_tokens_pick_the_family(tiny_model_dir, family):
    tok = _tokenizer(tiny_model_dir, family)
    tok.chat_template = None
    assert template_family(tok) == family
    assert training_template(tok) == shipped_template(family)


def test_template_with_markers_is_kept_and_unknown_ones_are_a_clear_error(tiny_model_dir):
    tok = _tokenizer(tiny_model_dir, "Qwen")
    marked = "{% for m in messages %}{% generation %}{{ m['content'] }}{% endgeneration %}{% endfor %}"
    tok.chat_template = marked
    assert training_template(tok) == marked
    tok.chat_template = "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"
    with pytest.raises(ValueError, match=r"no \{% generation %\} markers.*ChatML, Qwen, Llama-3, gpt-oss"):
        training_template(tok)

    class Bare:  # no chat template and none of the families' tokens
        chat_template = None
        name_or_path = "bare-model"

        def get_added_vocab(self):
            return {"<pad>": 0}

    with pytest.raises(ValueError, match=r"bare-model has no chat template.*ChatML"):
        training_template(Bare())


def test_unknown_setting_is_an_error():
    with pytest.raises(KeyError, match="no setting"):
        shipped_template("Qwen", knowledge_preamble=False)


# --- masks and the prefix property ---------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_mask_covers_reasoning_action_and_end_of_turn_only(tiny_model_dir, family):
    tok = _trained(tiny_model_dir, family)
    messages = _json_conversation()
    spans, unmasked = _masked(tok, messages)
    assert spans == EXPECTED[family]
    for m in messages:
        if m["role"] != "assistant":
            assert m["content"] in unmasked


@pytest.mark.parametrize("family", FAMILIES)
def test_prompt_is_a_prefix_and_the_rest_is_the_masked_span(tiny_model_dir, family):
    tok = _trained(tiny_model_dir, family)
    _assert_prefix_property(tok, family, _json_conversation())
    _assert_prefix_property(tok, family, _native_conversation())


@pytest.mark.parametrize("family", FAMILIES)
def test_native_tool_results(tiny_model_dir, family):
    tok = _trained(tiny_model_dir, family)
    messages = _native_conversation()
    spans, unmasked = _masked(tok, messages)
    assert spans == EXPECTED[family]
    tool_turn = {
        "ChatML": f"<|im_start|>tool\n{RESULT}<|im_end|>\n",
        "Qwen": f"<|im_start|>user\n<tool_response>\n{RESULT}\n</tool_response><|im_end|>\n",
        "Llama-3": f"<|start_header_id|>ipython<|end_header_id|>\n\n{json.dumps(RESULT)}<|eot_id|>",
        "gpt-oss": f"<|start|>functions.read_file to=assistant<|channel|>commentary<|message|>{json.dumps(RESULT)}<|end|>",
    }[family]
    assert tool_turn in tok.apply_chat_template(messages, tokenize=False)
    assert tool_turn in unmasked


def test_harmony_tool_message_without_a_name_takes_the_actions_tool(tiny_model_dir):
    tok = _trained(tiny_model_dir, "gpt-oss")
    messages = _native_conversation()
    del messages[3]["name"]
    assert "<|start|>functions.read_file to=assistant" in tok.apply_chat_template(messages, tokenize=False)


@pytest.mark.parametrize("family", ["Qwen", "Llama-3", "gpt-oss"])
def test_openai_tool_calls(tiny_model_dir, family):
    tok = _trained(tiny_model_dir, family)
    call = {"type": "function", "function": {"name": "read_file", "arguments": {"path": "logs/7.txt"}}}
    messages = _native_conversation()
    messages[2] = {"role": "assistant", "content": "", "reasoning": R1, "tool_calls": [call]}
    spans, _ = _masked(tok, messages)
    assert spans[0] == {
        "Qwen": f'<think>\n{R1}\n</think>\n\n<tool_call>\n{{"name": "read_file", "arguments": {{"path": "logs/7.txt"}}}}'
                "\n</tool_call><|im_end|>",
        "Llama-3": f'<think>\n{R1}\n</think>\n\n{{"name": "read_file", "parameters": {{"path": "logs/7.txt"}}}}<|eot_id|>',
        "gpt-oss": f"<|channel|>analysis<|message|>{R1}<|end|><|start|>assistant to=functions.read_file"
                   '<|channel|>commentary json<|message|>{"path": "logs/7.txt"}<|call|>',
    }[family]
    assert spans[1] == EXPECTED[family][1]
    _assert_prefix_property(tok, family, messages)


@pytest.mark.parametrize("family", FAMILIES)
def test_turn_without_reasoning_has_no_empty_reasoning_block(tiny_model_dir, family):
    tok = _trained(tiny_model_dir, family)
    messages = _json_conversation()
    messages[2]["reasoning"] = ""
    del messages[4]["reasoning"]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert "<think>" not in text and "<|channel|>analysis" not in text
    spans, _ = _masked(tok, messages)
    assert spans == {
        "ChatML": [f"{A1}<|im_end|>", f"{A2}<|im_end|>"],
        "Qwen": [f"{A1}<|im_end|>", f"{A2}<|im_end|>"],
        "Llama-3": [f"{A1}<|eot_id|>", f"{A2}<|eot_id|>"],
        "gpt-oss": [f"<|channel|>final<|message|>{A1}", f"<|channel|>final<|message|>{A2}<|return|>"],
    }[family]
    _assert_prefix_property(tok, family, messages)


@pytest.mark.parametrize("family", ["ChatML", "Qwen", "Llama-3"])
def test_trl_sees_the_end_of_turn_token_trained(tiny_model_dir, family):
    # gpt-oss is left out by design: after a final message that is not the conversation's last,
    # the <|end|> harmony writes back is not what the model wrote, so it is not trained (see above).
    assert is_chat_template_stop_token_trained(_trained(tiny_model_dir, family))


def test_qwen_enable_thinking_false_keeps_the_prefix_property(tiny_model_dir):
    tok = _trained(tiny_model_dir, "Qwen")
    messages = _json_conversation()
    for m in messages:
        m["reasoning"] = ""
    prompt = tok.apply_chat_template(messages[:2], add_generation_prompt=True, tokenize=False, enable_thinking=False)
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    spans, _ = _masked(tok, messages, enable_thinking=False)
    assert spans == [f"{A1}<|im_end|>", f"{A2}<|im_end|>"]
    _assert_prefix_property(tok, "Qwen", messages, enable_thinking=False)


def test_qwen_thinking_only_models_keep_the_opened_think_block_in_the_prompt(tiny_model_dir):
    # QwQ, Qwen3-*-Thinking-2507 and Qwen3.5+ open <think> in the generation prompt, so the model
    # writes from inside it; a turn without reasoning shows the empty block those models write.
    tok = _tokenizer(tiny_model_dir, "Qwen", chat_template=shipped_template("Qwen", think_in_prompt=True))
    messages = _json_conversation()
    assert tok.apply_chat_template(messages[:2], add_generation_prompt=True, tokenize=False).endswith(
        "<|im_start|>assistant\n<think>\n")
    assert _masked(tok, messages)[0] == [f"{R1}\n</think>\n\n{A1}<|im_end|>", f"{R2}\n</think>\n\n{A2}<|im_end|>"]
    _assert_prefix_property(tok, "Qwen", messages)
    messages[2]["reasoning"] = ""
    assert _masked(tok, messages)[0][0] == f"\n</think>\n\n{A1}<|im_end|>"
    _assert_prefix_property(tok, "Qwen", messages)


# --- system and user turns render as the families' own templates render them ---------------------

# TRL's verbatim copies of the official templates, the family they belong to, and the settings
# training_template must pick for them.
OFFICIAL = {
    "qwen2_5": ("Qwen", {"default_system": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
                         "think_in_prompt": False}),
    "qwen3": ("Qwen", {"default_system": "", "think_in_prompt": False}),
    "qwen3_5_think": ("Qwen", {"default_system": "", "think_in_prompt": True}),
    "llama3": ("Llama-3", {"knowledge_preamble": False, "dated_today": False}),
    "llama3_1": ("Llama-3", {"knowledge_preamble": True, "dated_today": False}),
    "llama3_2": ("Llama-3", {"knowledge_preamble": True, "dated_today": True}),
    "gptoss": ("gpt-oss", {}),
}


def _prompts(name: str):
    """(messages, kwargs) prompts to compare with the official template; reasoning on system and user
    turns must be ignored. History turns carry no reasoning: the official templates drop it there."""
    system = {"role": "system", "content": SYSTEM, "reasoning": "never shown"}
    user = {"role": "user", "content": TASK, "reasoning": "never shown"}
    history = {"role": "assistant", "content": A1, "reasoning": ""}
    result = {"role": "user", "content": f"TOOL RESULT (read_file): {RESULT}", "reasoning": "never shown"}
    tool = {"role": "tool", "name": "read_file", "content": RESULT, "reasoning": ""}
    prompts = [([system, user], {}), ([user], {})]
    if name != "qwen3_5_think":  # it shows an empty <think> block on history turns
        prompts.append(([system, user, history, result], {}))
    if name in ("qwen2_5", "qwen3", "llama3_1", "llama3_2", "gptoss"):  # with tool schemas
        prompts.append(([system, user], {"tools": TOOLS}))
    if name in ("qwen2_5", "qwen3", "llama3_1", "llama3_2"):  # gpt-oss's needs a tool_calls turn first
        prompts.append(([system, user, history, tool], {"tools": TOOLS}))
    return prompts


@pytest.mark.parametrize("name", list(OFFICIAL))
def test_prompts_render_as_the_official_template(tiny_model_dir, name):
    family, settings = OFFICIAL[name]
    official = getattr(trl_templates, f"{name}_chat_template")
    tok = _tokenizer(tiny_model_dir, family, chat_template=official)
    assert template_family(tok) == family
    assert training_template(tok) == shipped_template(family, **settings)
    ours = _tokenizer(tiny_model_dir, family, chat_template=training_template(tok))
    for messages, kwargs in _prompts(name):
        expected = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, **kwargs)
        assert ours.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, **kwargs) == expected


def test_chatml_prompt_renders_as_smollm2(tiny_model_dir):
    tok = _tokenizer(tiny_model_dir, "ChatML")
    ours = _trained(tiny_model_dir, "ChatML")
    for messages in (_json_conversation()[:2], _json_conversation()[1:2]):
        assert (ours.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
                == tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
