"""Reasoning parsers per model family, on hand-written outputs (normal, truncated, malformed)."""

from __future__ import annotations

import random

import pytest

from deliberate.reasoning import PARSERS, ReasoningSplit, resolve_parser, split_reasoning

UNTERMINATED = "unterminated <think> (output truncated?)"


# --- think -----------------------------------------------------------------------------------------------------


def test_think_normal():
    r = split_reasoning("<think>\nThe rule forbids it.\n</think>\n\nI will escalate.", "think")
    assert (r.reasoning, r.content, r.tool_calls, r.errors, r.failed) == (
        "The rule forbids it.", "I will escalate.", (), (), False)
    assert r.raw == "<think>\nThe rule forbids it.\n</think>\n\nI will escalate."


def test_think_multiple_blocks_joined():
    r = split_reasoning("<think>first</think>Part A<think> second </think>Part B", "think")
    assert r.reasoning == "first\nsecond"
    assert r.content == "Part A\nPart B"
    assert r.errors == ()


def test_think_empty_block_qwen3_no_think_mode():
    r = split_reasoning("<think>\n\n</think>\n\nHello.", "think")
    assert (r.reasoning, r.content, r.errors) == ("", "Hello.", ())


def test_think_missing_opening_tag_r1_style():
    r = split_reasoning("Okay, the user wants X. Per AS1 I refuse.\n</think>\n\nI can't do that.", "think")
    assert r.reasoning == "Okay, the user wants X. Per AS1 I refuse."
    assert r.content == "I can't do that."
    assert r.errors == () and not r.failed


def test_think_unterminated_is_truncation():
    r = split_reasoning("<think>I am still thinking about the polic", "think")
    assert r.reasoning == "I am still thinking about the polic"
    assert r.content == ""
    assert r.errors == (UNTERMINATED,) and not r.failed


def test_think_unterminated_after_complete_block():
    r = split_reasoning("<think>a</think>visible<think>b is cut", "think")
    assert (r.reasoning, r.content, r.errors) == ("a\nb is cut", "visible", (UNTERMINATED,))


def test_think_unterminated_with_json_after_keeps_content_empty():
    r = split_reasoning('<think>let me call it {"tool": "x", "args": {}}', "think")
    assert r.content == "" and r.reasoning.startswith("let me call it") and UNTERMINATED in r.errors


def test_think_no_tags_is_content_not_failure():
    r = split_reasoning("  Just an answer.  ", "think")
    assert (r.reasoning, r.content, r.errors, r.failed) == ("", "Just an answer.", (), False)


def test_think_stray_and_nested_tags_recorded():
    r = split_reasoning("<think>a<think>b</think>c</think>d", "think")
    assert r.reasoning == "ab"
    assert r.content == "c\nd"
    assert "nested <think> ignored" in r.errors and "stray </think> ignored" in r.errors


def test_think_empty_string():
    r = split_reasoning("", "think")
    assert (r.raw, r.reasoning, r.content, r.errors, r.failed) == ("", "", "", (), False)


def test_think_none_and_non_str_fail_without_raising():
    r = split_reasoning(None, "think")
    assert r.failed and (r.raw, r.reasoning, r.content) == ("", "", "") and r.errors
    r = split_reasoning(42, "think")  # type: ignore[arg-type]
    assert r.failed and r.content == "42" and r.reasoning == "" and "int" in r.errors[0]


# --- harmony ---------------------------------------------------------------------------------------------------

ANALYSIS_FINAL = ("<|start|>assistant<|channel|>analysis<|message|>Check the policy first.<|end|>"
                  "<|start|>assistant<|channel|>final<|message|>Done, I escalated.<|return|>")


def test_harmony_analysis_and_final():
    r = split_reasoning(ANALYSIS_FINAL, "harmony")
    assert (r.reasoning, r.content, r.tool_calls, r.errors, r.failed) == (
        "Check the policy first.", "Done, I escalated.", (), (), False)


def test_harmony_output_begins_at_channel_and_ends_with_end():
    text = ("<|channel|>analysis<|message|>Think.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>Answer.<|end|>")
    r = split_reasoning(text, "harmony")
    assert (r.reasoning, r.content, r.errors) == ("Think.", "Answer.", ())


def test_harmony_multiple_analysis_joined():
    text = ("<|channel|>analysis<|message|>one<|end|><|start|>assistant<|channel|>analysis<|message|>two<|end|>"
            "<|start|>assistant<|channel|>final<|message|>ok<|return|>")
    assert split_reasoning(text, "harmony").reasoning == "one\ntwo"


def test_harmony_tool_call_recipient_in_channel():
    text = ("<|channel|>analysis<|message|>Need the record.<|end|>"
            "<|start|>assistant<|channel|>commentary to=functions.lookup <|constrain|>json"
            '<|message|>{"id": 3}<|call|>')
    r = split_reasoning(text, "harmony")
    assert r.tool_calls == ({"name": "lookup", "arguments": {"id": 3}},)
    assert (r.reasoning, r.content, r.errors) == ("Need the record.", "", ())


def test_harmony_tool_call_recipient_in_role():
    text = ("<|channel|>analysis<|message|>Need the record.<|end|>"
            '<|start|>assistant to=functions.lookup<|channel|>commentary json<|message|>{"id": 3, "q": "a"}<|call|>')
    r = split_reasoning(text, "harmony")
    assert r.tool_calls == ({"name": "lookup", "arguments": {"id": 3, "q": "a"}},)
    assert r.errors == ()


def test_harmony_tool_call_when_output_starts_after_start_token():
    # the prompt ended with "<|start|>assistant", and the model went straight to a recipient
    r = split_reasoning(' to=functions.finish<|channel|>commentary json<|message|>{"summary": "ok"}<|call|>',
                        "harmony")
    assert r.tool_calls == ({"name": "finish", "arguments": {"summary": "ok"}},)
    assert r.errors == ()


def test_harmony_tool_call_invalid_json_kept_as_string():
    text = '<|start|>assistant<|channel|>commentary to=functions.lookup json<|message|>{"id": 3,<|call|>'
    r = split_reasoning(text, "harmony")
    assert r.tool_calls == ({"name": "lookup", "arguments": '{"id": 3,'},)
    assert any("not valid JSON" in e for e in r.errors) and not r.failed


def test_harmony_tool_call_non_object_args_kept_as_string():
    r = split_reasoning("<|channel|>commentary to=functions.f<|message|>[1, 2]<|call|>", "harmony")
    assert r.tool_calls == ({"name": "f", "arguments": "[1, 2]"},)
    assert any("not an object" in e for e in r.errors)


def test_harmony_commentary_preamble_is_content_without_final():
    text = ("<|channel|>analysis<|message|>plan<|end|>"
            "<|start|>assistant<|channel|>commentary<|message|>Let me look that up.<|end|>"
            '<|start|>assistant<|channel|>commentary to=functions.lookup<|message|>{}<|call|>')
    r = split_reasoning(text, "harmony")
    assert (r.reasoning, r.content) == ("plan", "Let me look that up.")
    assert r.tool_calls == ({"name": "lookup", "arguments": {}},)


def test_harmony_final_wins_over_preamble():
    text = ("<|channel|>commentary<|message|>Working on it.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>Result.<|return|>")
    assert split_reasoning(text, "harmony").content == "Result."


def test_harmony_truncated_final():
    text = "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>The answer is"
    r = split_reasoning(text, "harmony")
    assert (r.reasoning, r.content) == ("Think.", "The answer is")
    assert r.errors == ("final message unterminated (output truncated?)",) and not r.failed


def test_harmony_truncated_analysis():
    r = split_reasoning("<|channel|>analysis<|message|>Let me think about the pol", "harmony")
    assert (r.reasoning, r.content) == ("Let me think about the pol", "")
    assert r.errors == ("analysis message unterminated (output truncated?)",)


def test_harmony_truncated_in_header():
    r = split_reasoning("<|channel|>analysis<|message|>x<|end|><|start|>assistant<|channel|>fin", "harmony")
    assert r.reasoning == "x" and r.content == ""
    assert any("inside a message header" in e for e in r.errors)


def test_harmony_no_tokens_is_plain_with_error():
    r = split_reasoning("  Just text, the server stripped the special tokens.  ", "harmony")
    assert (r.reasoning, r.content, r.failed) == ("", "Just text, the server stripped the special tokens.", False)
    assert r.errors == ("no harmony channels found",)


def test_harmony_tokens_but_no_message_is_failure():
    r = split_reasoning("hello<|end|> world<|return|>", "harmony")
    assert r.failed and r.reasoning == "" and r.content == "hello<|end|> world<|return|>"
    assert "no harmony message could be parsed" in r.errors


def test_harmony_unknown_channel_skipped():
    text = ("<|channel|>analysis<|message|>a<|end|><|start|>assistant<|channel|>secret<|message|>hidden<|end|>"
            "<|start|>assistant<|channel|>final<|message|>b<|return|>")
    r = split_reasoning(text, "harmony")
    assert (r.reasoning, r.content) == ("a", "b")
    assert r.errors == ("unknown channel 'secret'; message skipped",)


def test_harmony_other_role_skipped():
    text = "<|channel|>final<|message|>a<|end|><|start|>user<|message|>fake user turn<|end|>"
    r = split_reasoning(text, "harmony")
    assert r.content == "a" and "message from role 'user' skipped" in r.errors


def test_harmony_missing_end_between_messages():
    r = split_reasoning("<|channel|>analysis<|message|>a<|channel|>final<|message|>b<|return|>", "harmony")
    assert (r.reasoning, r.content) == ("a", "b")
    assert "message not closed before <|channel|>" in r.errors


def test_harmony_extra_whitespace_and_newlines():
    text = ("\n <|start|>assistant <|channel|> analysis <|message|>\n  Think hard.  \n<|end|>\n\n"
            "<|start|> assistant  to=functions.get_weather <|channel|>  commentary   <|constrain|> json "
            '<|message|>\n {"city": "Paris"} \n<|call|>\n'
            "<|start|>assistant<|channel|>final<|message|>\n\nSunny.\n<|return|>\n")
    r = split_reasoning(text, "harmony")
    assert (r.reasoning, r.content, r.errors) == ("Think hard.", "Sunny.", ())
    assert r.tool_calls == ({"name": "get_weather", "arguments": {"city": "Paris"}},)


def test_harmony_output_starting_after_channel_token():
    r = split_reasoning("analysis<|message|>t<|end|><|start|>assistant<|channel|>final<|message|>f<|return|>",
                        "harmony")
    assert (r.reasoning, r.content, r.errors) == ("t", "f", ())


def test_harmony_stray_text_recorded():
    r = split_reasoning(ANALYSIS_FINAL + "trailing junk", "harmony")
    assert r.content == "Done, I escalated." and any("outside harmony messages" in e for e in r.errors)


def test_harmony_stray_prose_before_channel_not_taken_as_header():
    r = split_reasoning("Sure thing<|channel|>final<|message|>x<|return|>", "harmony")
    assert r.content == "x" and any("outside harmony messages" in e for e in r.errors)


def test_adversarial_inputs_stay_fast():
    # no regex backtracking blow-up on long runs of header-like text
    for parser in PARSERS:
        split_reasoning("to=a" * 5000 + " b<|channel|>final<|message|>x" + "<think>" * 5000, parser)
        split_reasoning("<|channel|>" * 20000 + "</think>" * 20000, parser)


def test_harmony_none():
    r = split_reasoning(None, "harmony")
    assert r.failed and r.content == "" and r.errors


# --- reasoning_content -----------------------------------------------------------------------------------------


def test_reasoning_content_with_field():
    r = split_reasoning(" Done. ", "reasoning_content", reasoning_field=" Check the policy. ")
    assert (r.reasoning, r.content, r.errors, r.failed) == ("Check the policy.", "Done.", (), False)


def test_reasoning_content_field_none_with_think_tags_falls_back():
    r = split_reasoning("<think>hidden</think>shown", "reasoning_content", reasoning_field=None)
    assert (r.reasoning, r.content) == ("hidden", "shown")
    assert any("fell back to the think parser" in e for e in r.errors)


def test_reasoning_content_field_none_r1_closing_tag_only():
    r = split_reasoning("thinking...</think>answer", "reasoning_content")
    assert (r.reasoning, r.content) == ("thinking...", "answer") and r.errors


def test_reasoning_content_field_none_no_tags():
    r = split_reasoning("answer", "reasoning_content")
    assert (r.reasoning, r.content, r.errors) == ("", "answer", ())


def test_reasoning_content_both_empty():
    r = split_reasoning("", "reasoning_content", reasoning_field="")
    assert (r.reasoning, r.content, r.errors, r.failed) == ("", "", (), False)


def test_reasoning_content_tool_call_only_reply():
    r = split_reasoning(None, "reasoning_content", reasoning_field="I should call the tool.")
    assert (r.reasoning, r.content, r.failed) == ("I should call the tool.", "", False)


def test_reasoning_content_both_none_fails():
    r = split_reasoning(None, "reasoning_content")
    assert r.failed and r.content == "" and r.errors


def test_reasoning_content_bad_field_type():
    r = split_reasoning("ok", "reasoning_content", reasoning_field=["x"])  # type: ignore[arg-type]
    assert r.content == "ok" and r.reasoning == "" and any("not str" in e for e in r.errors)


# --- plain -----------------------------------------------------------------------------------------------------


def test_plain():
    r = split_reasoning("  <think>kept as is</think> answer \n", "plain")
    assert (r.reasoning, r.content, r.errors, r.failed) == ("", "<think>kept as is</think> answer", (), False)


def test_plain_none():
    r = split_reasoning(None, "plain")
    assert r.failed and r.content == ""


# --- parser selection ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("hint", "template", "expected"), [
    ("openai/gpt-oss-20b", "", "harmony"),
    ("GPT_OSS-120B", "", "harmony"),
    ("", "{{ '<|start|>assistant<|channel|>final<|message|>' }}", "harmony"),
    ("my-finetune", "... <|channel|>analysis ...", "harmony"),
    ("Qwen/Qwen3-8B", "", "think"),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "", "think"),
    ("deepseek-r1", "", "think"),
    ("some-r1-distill", "", "think"),
    ("Qwen/QwQ-32B", "", "think"),
    ("local-model", "{% if enable_thinking %}<think>{% endif %}", "think"),
    ("meta-llama/Llama-3.1-8B-Instruct", "{{ messages }}", "think"),  # lenient default
    ("", "", "think"),
])
def test_resolve_parser_auto(hint, template, expected):
    assert resolve_parser("auto", hint, template) == expected


@pytest.mark.parametrize("name", PARSERS)
def test_resolve_parser_concrete_name_unchanged(name):
    assert resolve_parser(name, "openai/gpt-oss-20b", "<|channel|>") == name


def test_resolve_parser_unknown_name():
    with pytest.raises(ValueError) as info:
        resolve_parser("hermes")
    message = str(info.value)
    assert "hermes" in message and all(p in message for p in PARSERS)


def test_split_reasoning_unknown_parser_raises():
    with pytest.raises(ValueError):
        split_reasoning("text", "nope")


def test_split_reasoning_auto_sniffs_the_text():
    assert split_reasoning(ANALYSIS_FINAL, "auto").content == "Done, I escalated."
    assert split_reasoning("<think>a</think>b", "auto").reasoning == "a"


# --- never raises ----------------------------------------------------------------------------------------------

_PIECES = ["<think>", "</think>", "<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>",
           "<|return|>", "<|call|>", "<|endoftext|>", "<|startoftext|>", "assistant", "user", " to=functions.f",
           "to=", " to=browser.search", "analysis", "final", "commentary", "json", '{"a": 1}', "{", "}", "[",
           "\n", " ", "\t", "é€😀", "<|", "|>", "<", ">", "</", "think",
           # whole headers, so the garbage also holds well-formed messages among the broken ones
           "<|channel|>analysis<|message|>", "<|start|>assistant<|channel|>final<|message|>",
           "<|start|>assistant<|channel|>commentary to=functions.f json<|message|>"]
_HARMONY_TOKENS = ["<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>", "<|return|>",
                   "<|call|>", "<|endoftext|>", "<|startoftext|>"]


def _garbage(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(0, 25)):
        if rng.random() < 0.6:
            out.append(rng.choice(_PIECES))
        else:
            out.append("".join(chr(rng.randint(1, 0x2FF)) for _ in range(rng.randint(1, 8))))
    return "".join(out)


def _check(r: ReasoningSplit, parser: str) -> None:
    assert isinstance(r, ReasoningSplit)
    assert isinstance(r.raw, str) and isinstance(r.reasoning, str) and isinstance(r.content, str)
    assert isinstance(r.errors, tuple) and all(isinstance(e, str) for e in r.errors)
    assert isinstance(r.tool_calls, tuple)
    for call in r.tool_calls:
        assert set(call) == {"name", "arguments"} and isinstance(call["name"], str)
        assert isinstance(call["arguments"], (dict, str))
    if r.failed:
        assert r.content == r.raw.strip() and r.reasoning == "" and r.errors
    elif parser == "think":
        for part in (r.reasoning, r.content):
            assert "<think>" not in part and "</think>" not in part
    elif parser == "harmony":
        for part in (r.reasoning, r.content):
            assert not any(tok in part for tok in _HARMONY_TOKENS)


@pytest.mark.parametrize("parser", [*PARSERS, "auto"])
def test_never_raises_on_garbage(parser):
    rng = random.Random(20240611)
    for _ in range(500):
        text = _garbage(rng)
        field = rng.choice([None, "", _garbage(rng)])
        r = split_reasoning(text, parser, reasoning_field=field)
        _check(r, parser)
        assert r.raw == text
