"""Guided action decoding: JSON tool calls that small models can make.

A 135M-parameter model rarely writes a well-formed tool call by itself. With
``generation.guided_actions: true`` each reply is built in three parts, the model making
every choice:

1. **reasoning**: free generation after a forced ``<think>``, stopped at ``</think>``;
2. **tool**: after the forced prefix ``{"tool": "``, the model's next-token distribution is
   restricted to the scenario's tool names (the first token of each name; names that
   share a first token share its probability equally) and a tool is sampled from it
   (greedy at temperature 0);
3. **argument**: the tool's first parameter is opened (``"args": {"message": "``) and its
   value generated freely up to the closing quote; a boolean is chosen between ``true``
   and ``false`` the same way as the tool. Tools without parameters get ``{}``.

This is constrained decoding of the documented JSON protocol, as serving engines offer it
(guided choice / JSON schema); it changes the form of the reply, never the decision. Base
and trained models are evaluated with the same setting.
"""

from __future__ import annotations

import json

import torch

THINK_OPEN, THINK_CLOSE, ACTION_OPEN = "<think>", "</think>", '{"tool": "'


@torch.no_grad()
def _choose(backend, prompts: list[str], options: list[list[str]]) -> list[str]:
    """Sample one option per prompt from the model's next-token distribution over the options."""
    tok, gen = backend.tokenizer, backend.gen
    logits = backend.next_logits(prompts)  # the prompts continue cached steps: only their ends run
    out: list[str] = []
    temperature = gen.temperature if gen.choice_temperature is None else gen.choice_temperature
    for row, opts in enumerate(options):
        firsts = [tok(o, add_special_tokens=False).input_ids[0] for o in opts]
        share = {t: firsts.count(t) for t in firsts}
        scores = torch.stack([logits[row, t] for t in firsts]) - torch.log(
            torch.tensor([float(share[t]) for t in firsts]))
        if temperature > 0:
            probs = torch.softmax(scores / temperature, dim=0)
            pick = int(torch.multinomial(probs, 1, generator=backend.torch_generator()))
        else:
            pick = int(scores.argmax())
        out.append(opts[pick])
    return out


def guided_replies(backend, prompts: list[str], tools_per_prompt: list[list],
                   prefixes: list[str | None] | None = None) -> list[str]:
    """One guided reply per prompt; ``prefixes`` (optional, per prompt) start the reasoning with
    given text that the model then continues (counterfactual resampling)."""
    gen = backend.gen
    pre = [p or "" for p in (prefixes or [None] * len(prompts))]
    thoughts = backend.generate([p + THINK_OPEN + x for p, x in zip(prompts, pre)],
                                max_new_tokens=gen.reasoning_tokens, stop=[THINK_CLOSE])
    heads = [THINK_OPEN + (x + t.split(THINK_CLOSE)[0]).strip() + THINK_CLOSE + "\n" + ACTION_OPEN
             for x, t in zip(pre, thoughts)]
    names = _choose(backend, [p + h for p, h in zip(prompts, heads)], [[t.name for t in ts] for ts in tools_per_prompt])

    replies = [""] * len(prompts)
    free: list[int] = []  # rows whose first argument is free text
    free_prompts: list[str] = []
    bools: list[int] = []
    for i, (head, name, tools) in enumerate(zip(heads, names, tools_per_prompt)):
        tool = next(t for t in tools if t.name == name)
        props = list(tool.parameters.get("properties", {}).items())
        if not props:
            replies[i] = head + name + '", "args": {}}'
            continue
        key, schema = props[0]
        head = head + name + '", "args": {' + json.dumps(key) + ": "
        if schema.get("type") == "boolean":
            bools.append(i)
        else:
            head += '"'
            free.append(i)
            free_prompts.append(prompts[i] + head)
        replies[i] = head
    if free:
        values = backend.generate(free_prompts, max_new_tokens=gen.action_tokens, stop=['"'])
        for i, v in zip(free, values):
            value = v.split('"')[0].replace("\\", "").replace("\n", " ").strip()
            replies[i] += value + '"}}'
    if bools:
        picks = _choose(backend, [prompts[i] + replies[i] for i in bools], [["true", "false"]] * len(bools))
        for i, v in zip(bools, picks):
            replies[i] += v + "}}"
    return replies
