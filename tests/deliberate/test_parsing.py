"""The forgiving reply parser, on hand-written model outputs."""

from deliberate.parsing import parse_reply


def test_think_then_json():
    r = parse_reply('<think>Rule says no. Per AS1 I escalate.</think>\n{"tool": "escalate", "args": {"message": "hi"}}')
    assert (r.reasoning, r.tool, r.args, r.errors) == ("Rule says no. Per AS1 I escalate.", "escalate",
                                                        {"message": "hi"}, ())
    assert r.canonical() == '{"tool": "escalate", "args": {"message": "hi"}}'


def test_plain_fallback_reasoning_before_json():
    r = parse_reply('I will check first.\n{"name": "check", "arguments": "{\\"id\\": 3}"}')
    assert r.reasoning == "I will check first." and r.tool == "check" and r.args == {"id": 3}


def test_native_tool_call_tags():
    r = parse_reply('<think>ok</think><tool_call>\n{"name": "finish", "arguments": {"summary": "done"}}\n</tool_call>')
    assert r.tool == "finish" and r.args == {"summary": "done"} and r.reasoning == "ok"


def test_truncated_think_is_recorded_not_raised():
    r = parse_reply("<think>I am still thinking about the polic")
    assert r.tool is None and r.reasoning.startswith("I am still") and "unterminated <think>" in r.errors


def test_malformed_json_salvages_tool_name():
    r = parse_reply('<think>x</think> {"tool": "escalate", "args": {"message": "unterminated}')
    assert r.tool == "escalate" and r.args == {} and any("not valid JSON" in e for e in r.errors)


def test_no_action_is_a_message():
    r = parse_reply("Sure! Here is a poem about clouds.")
    assert r.tool is None and r.message == "Sure! Here is a poem about clouds." and "no tool call found" in r.errors


def test_non_object_args():
    r = parse_reply('{"tool": "finish", "args": [1, 2]}')
    assert r.tool == "finish" and r.args == {} and r.errors


def test_json_without_tool_key_is_not_a_call():
    r = parse_reply('<think>a</think>{"answer": 42}')
    assert r.tool is None
