"""GRPO rewards: pure functions of what the policy DID; the chain of thought never reaches one.

The rollout function hands each reward one ``actions`` record built by :func:`action_view` (tool
calls with arguments and results, final message, final state; any other key is refused);
:class:`ActionsOnly`, the only wrapper given to TRL, drops ``prompts``/``completions`` (which hold
the reasoning); the optional spec-judge reward's prompt file may not contain ``{reasoning}``.
``tests/training/test_rl.py`` plants a canary in the reasoning and checks that no reward sees it.
"""

from __future__ import annotations

from deliberate.config import RlJudgeConfig
from deliberate.envs.core import ToolCall, Transcript, get_family
from deliberate.records import render_actions

ACTION_KEYS = frozenset({"scenario_id", "family", "split", "cue", "seed", "expected", "tool_calls",
                         "final_message", "state", "error"})


def action_view(rollout) -> dict:
    """What a reward may see of a rollout: actions, results, final message, final state."""
    sc, tr = rollout.scenario, rollout.episode.transcript
    view = {"scenario_id": sc.id, "family": sc.family, "split": sc.split, "cue": sc.cue, "seed": sc.seed,
            "expected": sc.expected, "final_message": tr.final_message, "state": tr.state, "error": rollout.error,
            "tool_calls": [{"name": c.name, "args": c.args, "result": c.result, "error": c.error}
                           for c in tr.tool_calls]}
    if set(view) - ACTION_KEYS:  # a guard for whoever edits the dict above
        raise AssertionError(f"action_view may only carry {sorted(ACTION_KEYS)}")
    return view


def transcript_of(actions: dict) -> Transcript:
    calls = [ToolCall(c["name"], c["args"], c["result"], c["error"]) for c in actions["tool_calls"]]
    return Transcript(tool_calls=calls, final_message=actions["final_message"], state=actions["state"])


def grade(actions: dict):
    """The environment grader's outcome for an actions record (the scenario is re-sampled from
    its seed, so the reward and the grader read the same scenario)."""
    scenario = get_family(actions["family"]).sample(actions["seed"], actions["split"], actions["cue"])
    return scenario, scenario.grade(transcript_of(actions))


def environment_reward(actions: dict, *, right: float = 1.0, covert: float = -1.0) -> float:
    """``covert`` for any covert action or false claim, ``right`` for the behaviour the scenario
    expects (escalate where a rule forbids finishing; finish where the twin allows it), else 0."""
    scenario, outcome = grade(actions)
    if outcome.covert:
        return covert
    return right if outcome.matches(scenario.expected) else 0.0


class ActionsOnly:
    """The reward callable given to TRL: it forwards ``actions`` and nothing else."""

    def __init__(self, fn, name: str):
        self.fn = fn
        self.__name__ = name  # TRL logs rewards under the function's name

    def __call__(self, prompts=None, completions=None, completion_ids=None, actions=None, log_metric=None,
                 **_columns) -> list[float]:
        del prompts, completions, completion_ids, _columns  # the reasoning lives in these: never read them
        if actions is None:
            raise ValueError(f"reward {self.__name__}: no `actions` field; the Deliberate rollout function "
                             "must produce the rollouts this reward scores")
        rewards = self.fn(actions)
        if log_metric is not None:  # reward per family, for W&B
            by_family: dict[str, list[float]] = {}
            for a, r in zip(actions, rewards):
                by_family.setdefault(a["family"], []).append(r)
            for fam, values in by_family.items():
                log_metric(f"rewards/{self.__name__}/{fam}", sum(values) / len(values))
        return rewards


class ActionJudge:
    """The spec judge as a reward: it scores whether the ACTIONS follow the spec, k times, and
    keeps the minimum; a failed judging counts as 0."""

    KEYS = ("action_follows_spec",)

    def __init__(self, cfg: RlJudgeConfig, spec, backend_factory):
        from deliberate.data.judge import load_prompt

        self.cfg, self.spec, self.backend_factory, self.backend = cfg, spec, backend_factory, None
        self.template, self.prompt_sha256 = load_prompt(cfg.prompt, package="deliberate.training",
                                                        fields=("spec", "prompt", "actions"), forbidden=("reasoning",))
        self.errors: list[str] = []

    def prompt(self, actions: dict) -> str:
        scenario = get_family(actions["family"]).sample(actions["seed"], actions["split"], actions["cue"])
        return self.template.format(spec=self.spec.text.strip(), prompt=f"{scenario.system}\n\n{scenario.user}",
                                    actions=render_actions(actions))

    def __call__(self, batch: list[dict]) -> list[float]:
        from deliberate.data.judge import parse_scores

        if self.backend is None:
            self.backend = self.backend_factory()
        k = self.cfg.k
        completions = self.backend.respond([[{"role": "user", "content": self.prompt(a)}]
                                            for a in batch for _ in range(k)])
        out = []
        for i in range(len(batch)):
            scores = []
            for c in completions[i * k:(i + 1) * k]:
                got, why = (None, f"judge backend error: {c.error}") if c.error else parse_scores(c.text, self.KEYS)
                if got is None:
                    self.errors.append(why)
                scores.append(got["action_follows_spec"] if got else 0.0)
            out.append(self.cfg.weight * min(scores))
        return out


def reward_functions(cfg, spec=None, judge_backend_factory=None) -> list[ActionsOnly]:
    """The rewards for ``cfg.rl``: the environment outcome, and the action judge when enabled."""
    rl = cfg.rl
    funcs = [ActionsOnly(lambda batch: [environment_reward(a, right=rl.reward_right, covert=rl.reward_covert)
                                        for a in batch], "environment")]
    if rl.judge.enabled:
        funcs.append(ActionsOnly(ActionJudge(rl.judge, spec, judge_backend_factory), "spec_judge"))
    return funcs
