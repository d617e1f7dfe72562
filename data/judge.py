"""The spec judge: deliberative alignment's filter on teacher rollouts.

Two kinds (``data.judge.kind``):

* ``citation``: rule-based. The reasoning is spec-grounded when it cites at least one real
  clause ID and none that does not exist. Offline, free, and the default for the demo.
* ``llm``: a judge model reads the scenario prompt, the reasoning, the actions and the spec
  (prompt file ``data/prompts/<judge.prompt>.md``, its sha256 recorded with the data) and
  scores (a) whether the actions follow the spec and (b) whether the reasoning cites the
  relevant clauses correctly, each 0-10. It judges ``k`` times and keeps the **minimum** of
  each score; a judging that fails (backend error, unparseable answer) counts as 0 and is
  recorded. Only rollouts whose environment outcome is right are judged: the others are
  rejected already.

A rollout is kept only if its outcome is right *and* its reasoning is spec-grounded: for
``llm``, both minima reach ``min_action`` / ``min_reasoning`` and nothing is miscited.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

from deliberate.config import JudgeConfig
from deliberate.errors import UserError
from deliberate.records import reasoning_of, render_actions
from deliberate.specs.loader import Spec, cited_ids

KEYS = ("action_follows_spec", "reasoning_cites_spec")
_JSON_OBJ = re.compile(r"\{[^{}]*\}", re.DOTALL)


class JudgeError(UserError, ValueError):
    """A judge prompt file that is missing or malformed."""


def load_prompt(name: str, *, package: str = "deliberate.data",
                fields: tuple[str, ...] = ("spec", "prompt", "reasoning", "actions"),
                forbidden: tuple[str, ...] = ()) -> tuple[str, str]:
    """The judge prompt text and its sha256: a shipped name (``<package>/prompts/<name>.md``)
    or a path to a file. Each of ``fields`` must appear as a placeholder; none of ``forbidden``."""
    path = Path(name)
    if path.suffix == ".md" or path.is_file():
        if not path.is_file():
            raise JudgeError(f"judge prompt file {path} does not exist")
        text = path.read_text()
    else:
        try:
            text = resources.files(package).joinpath("prompts", f"{name}.md").read_text()
        except FileNotFoundError as exc:
            folder = package.rsplit(".", 1)[-1]
            raise JudgeError(f"no shipped judge prompt {name!r} ({folder}/prompts/{name}.md); give a path") from exc
    for field in fields:
        if "{" + field + "}" not in text:
            raise JudgeError(f"judge prompt {name!r} lacks the placeholder {{{field}}}")
    for field in forbidden:
        if "{" + field + "}" in text:
            raise JudgeError(f"judge prompt {name!r} has a {{{field}}} placeholder, which this judge must never fill")
    return text, hashlib.sha256(text.encode()).hexdigest()


def render_prompt(template: str, record: dict, spec: Spec) -> str:
    task = "\n\n".join(m["content"] for m in record["messages"][:2])  # student view: system + user
    return template.format(spec=spec.text.strip(), prompt=task, reasoning=reasoning_of(record) or "(none)",
                           actions=render_actions(record))


def parse_scores(text: str, keys: tuple[str, ...] = KEYS) -> tuple[dict | None, str | None]:
    """The scores (``keys``) in [0, 1] from a judge reply, or (None, why not). The last JSON
    object with every key wins (judges sometimes quote the format first)."""
    from deliberate.reasoning import split_reasoning

    content = split_reasoning(text, "think").content or text
    found = None
    for m in _JSON_OBJ.finditer(content):
        try:
            obj = json.loads(m.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and all(k in obj for k in keys):
            found = obj
    if found is None:
        return None, f"no JSON object with {', '.join(keys)} in the judge's reply: {content[:120]!r}"
    scores = {}
    for k in keys:
        v = found[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 10:
            return None, f"{k} must be a number from 0 to 10, got {v!r}"
        scores[k] = float(v) / 10
    return scores, None


def citation_verdict(record: dict, spec: Spec) -> dict:
    valid, unknown = cited_ids(reasoning_of(record), spec)
    grounded = bool(valid) and not unknown
    return {"kind": "citation", "action": 1.0 if record["right"] else 0.0, "reasoning": 1.0 if grounded else 0.0,
            "grounded": grounded, "judgings": [], "errors": []}


class SpecJudge:
    def __init__(self, cfg: JudgeConfig, spec: Spec, backend_factory=None):
        self.cfg, self.spec = cfg, spec
        self.backend_factory = backend_factory  # called once, when an LLM judging is first needed
        self.backend = None
        self.template, self.prompt_sha256 = load_prompt(cfg.prompt) if cfg.kind == "llm" else ("", None)

    def describe(self) -> dict:
        return {"kind": self.cfg.kind, "k": self.cfg.k if self.cfg.kind == "llm" else None,
                "prompt": self.cfg.prompt if self.cfg.kind == "llm" else None, "prompt_sha256": self.prompt_sha256,
                "min_action": self.cfg.min_action, "min_reasoning": self.cfg.min_reasoning}

    def reseed(self, seed: int) -> None:
        if self.backend is not None:
            self.backend.reseed(seed)
        self._seed = seed

    def judge(self, records: list[dict]) -> list[dict]:
        """One verdict per record (same order)."""
        if self.cfg.kind == "citation":
            return [citation_verdict(r, self.spec) for r in records]
        todo = [i for i, r in enumerate(records) if r["right"]]
        verdicts: list[dict] = [{"kind": "llm", "action": 0.0, "reasoning": 0.0, "grounded": False, "judgings": [],
                                 "errors": ["not judged: the environment outcome is wrong"]} for _ in records]
        if not todo:
            return verdicts
        if self.backend is None:
            self.backend = self.backend_factory()
            self.backend.reseed(getattr(self, "_seed", 0))
        prompts = [[{"role": "user", "content": render_prompt(self.template, records[i], self.spec)}]
                   for i in todo for _ in range(self.cfg.k)]
        completions = self.backend.respond(prompts)
        for n, i in enumerate(todo):
            judgings, errors = [], []
            for c in completions[n * self.cfg.k:(n + 1) * self.cfg.k]:
                if c.error is not None:
                    scores, why = None, f"judge backend error: {c.error}"
                else:
                    scores, why = parse_scores(c.text)
                if scores is None:
                    errors.append(why)
                    scores = {k: 0.0 for k in KEYS}  # a failed judging can only lower the minimum
                judgings.append(scores)
            action = min(j["action_follows_spec"] for j in judgings)
            reasoning = min(j["reasoning_cites_spec"] for j in judgings)
            _, unknown = cited_ids(reasoning_of(records[i]), self.spec)
            grounded = action >= self.cfg.min_action and reasoning >= self.cfg.min_reasoning and not unknown
            verdicts[i] = {"kind": "llm", "action": action, "reasoning": reasoning, "grounded": grounded,
                           "judgings": judgings, "errors": errors}
        return verdicts
