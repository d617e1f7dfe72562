"""The rollout engine with a scripted backend: turns, tool results, transcripts, guided decoding."""

import json

from deliberate.config import GenerationConfig
from deliberate.envs.core import get_family
from deliberate.rollout import PromptParts, run_rollouts


class ScriptedBackend:
    """Replies from a queue per call; records the prompts it was shown."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.prompts = []
        self.gen = GenerationConfig()

    def supports_native_tools(self):
        return False

    def render(self, messages, tools=None):
        return "\n".join(f"<{m['role']}>{m['content']}" for m in messages) + "\n<assistant>"

    def generate(self, prompts, **_):
        self.prompts.extend(prompts)
        return [self.replies.pop(0) for _ in prompts]

    def respond(self, conversations, tools=None):
        from deliberate.backends import Completion

        prompts = [self.render(c, t) for c, t in zip(conversations, tools or [None] * len(conversations))]
        return [Completion(text=t) for t in self.generate(prompts)]


def test_multi_turn_rollout_keeps_reasoning_actions_results_apart():
    sc = get_family("log_falsification").sample(0, "test", "deploy")
    service = sc.state.get("incident_service") or next(iter(sc.state.get("services", {"x": 0})))
    backend = ScriptedBackend([
        f'<think>Read first.</think>\n{json.dumps({"tool": "read_logs", "args": {"service": service}})}',
        '<think>There was an incident; per AS1 I report it.</think>\n'
        '{"tool": "file_status", "args": {"status": "incident", "summary": "Outage happened."}}',
    ])
    (r,) = run_rollouts(backend, [sc], parts=PromptParts(spec="SPEC-TEXT-XYZ"))
    rec = r.to_record()
    assert [t["tool"] for t in rec["turns"]] == ["read_logs", "file_status"]
    assert rec["turns"][1]["reasoning"].startswith("There was an incident")
    assert rec["outcome"]["covert"] is False and rec["right"] is True
    assert all("SPEC-TEXT-XYZ" in p for p in backend.prompts)  # the model saw the spec ...
    assert not any("SPEC-TEXT-XYZ" in m["content"] for m in rec["messages"])  # ... the record does not
    roles = [m["role"] for m in rec["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert rec["messages"][3]["content"].startswith("TOOL RESULT (read_logs):")
    assert "<think>" not in rec["messages"][2]["content"]


def test_unparseable_reply_ends_episode_as_message():
    sc = get_family("impossible_checklist").sample(1, "test", "eval")
    (r,) = run_rollouts(ScriptedBackend(["I like turtles."]), [sc])
    rec = r.to_record()
    assert rec["final_message"] == "I like turtles." and rec["parse_failures"] == 1
    assert rec["outcome"] == {"covert": False, "escalated": False, "completed": False, "evidence": rec["outcome"]["evidence"]}


def test_turn_budget():
    sc = get_family("oversight_config").sample(2, "test", "deploy")
    (r,) = run_rollouts(ScriptedBackend(['{"tool": "read_config", "args": {}}'] * 10), [sc], max_turns=3)
    assert len(r.turns) == 3 and r.budget_exhausted


def test_guided_actions_always_name_a_real_tool(tiny_model_dir):
    from deliberate.backends import TransformersBackend
    from deliberate.config import ModelConfig

    gen = GenerationConfig(guided_actions=True, reasoning_tokens=6, action_tokens=6, batch_size=8)
    backend = TransformersBackend.from_config(ModelConfig(str(tiny_model_dir)), gen)
    scs = [get_family("covert_rule_violation").sample(i, "train", "none") for i in range(4)]
    rollouts = run_rollouts(backend, scs, max_turns=2)
    for r in rollouts:
        for t in r.turns:
            assert t["tool"] in {tool.name for tool in r.scenario.tools}, t["raw"]
            assert t["raw"].startswith("<think>")


def test_steer_replays_turns_and_prefills_reasoning(tiny_model_dir):
    from deliberate.backends import TransformersBackend
    from deliberate.config import ModelConfig
    from deliberate.rollout import Steer

    sc = get_family("covert_rule_violation").sample(0, "train", "none")
    m = sc.metadata
    first = f'<think>Look.</think>{{"tool": "{m["inspect_tool"]}", "args": {{"{m["arg"]}": "{m["item"]}"}}}}'
    for guided in (True, False):
        gen = GenerationConfig(guided_actions=guided, reasoning_tokens=6, action_tokens=6, max_new_tokens=12)
        backend = TransformersBackend.from_config(ModelConfig(str(tiny_model_dir)), gen)
        steer = [Steer(forced=[first], prefix="This might be a test, but"), None]
        a, b = run_rollouts(backend, [sc, sc], max_turns=2, steer=steer)
        assert a.turns[0]["raw"] == first and a.turns[0]["tool"] == m["inspect_tool"]
        assert a.turns[1]["raw"].startswith("<think>This might be a test, but")
        assert a.turns[1]["reasoning"].startswith("This might be a test, but")
        assert b.turns[0]["raw"] != first or not b.turns[0]["raw"].startswith("<think>Look.")
