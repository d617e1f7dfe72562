"""Chat templates for assistant-only SFT loss.

TRL masks the loss to the tokens a template wraps in ``{% generation %}`` markers.
:func:`training_template` returns the tokenizer's own template when it has them, else the shipped
template of the model's family (``templates/*.jinja``: ChatML, Qwen, Llama-3, gpt-oss) with its
settings read from the model's template, and an error naming the problem otherwise. The contract
every template keeps and the family table: docs/training-templates.md.
"""

from __future__ import annotations

import importlib.resources
import json
import re

from trl.chat_template_utils import has_generation_markers

SHIPPED = {
    "ChatML": "chatml_training.jinja",
    "Qwen": "qwen_training.jinja",
    "Llama-3": "llama3_training.jinja",
    "gpt-oss": "harmony_training.jinja",
}

_PROBE = "DELIBERATE-PROBE"


def shipped_template(family: str, **settings) -> str:
    """The shipped training template of ``family`` (a key of :data:`SHIPPED`), with ``settings``
    (e.g. ``default_system="..."`` for Qwen) written into its settings lines."""
    folder = importlib.resources.files("deliberate.training") / "templates"
    template = (folder / SHIPPED[family]).read_text(encoding="utf-8")
    for name, value in settings.items():
        line = re.compile(r"^(\{%- set " + re.escape(name) + r" = ).*( -%\})$", re.MULTILINE)
        # JSON strings and true/false are also Jinja literals.
        template, found = line.subn(lambda m, v=value: m.group(1) + json.dumps(v) + m.group(2), template, count=1)
        if not found:
            raise KeyError(f"the {family} training template has no setting {name!r}")
    return template


def template_family(tokenizer) -> str | None:
    """The shipped family for ``tokenizer``: by its chat template, or by its added tokens when it
    has no chat template; None when neither matches a family we ship."""
    text = _template_text(tokenizer) or " ".join(tokenizer.get_added_vocab())
    if "<|channel|>" in text or "<|start|>" in text:
        return "gpt-oss"
    if "<|start_header_id|>" in text:
        return "Llama-3"
    if "<|im_start|>" in text:
        if "<tool_call>" in text or "<think>" in text or "Qwen" in text:
            return "Qwen"
        return "ChatML"
    return None


def training_template(tokenizer) -> str:
    """A chat template with ``{% generation %}`` markers for ``tokenizer``'s model family."""
    template = tokenizer.chat_template
    if isinstance(template, str) and has_generation_markers(template):
        return template
    family = template_family(tokenizer)
    if family == "Qwen":
        return shipped_template(family, **_qwen_settings(tokenizer))
    if family == "Llama-3":
        text = _template_text(tokenizer)
        if not text:  # no template to follow: the current (3.1/3.3) layout
            return shipped_template(family)
        return shipped_template(family, knowledge_preamble="Cutting Knowledge Date" in text,
                                dated_today="strftime_now" in text)
    if family is not None:
        return shipped_template(family)
    name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    problem = "has no chat template" if not template else "has no {% generation %} markers"
    raise ValueError(
        f"chat template of {name} {problem} and is not a family we ship a training template for "
        f"({', '.join(SHIPPED)}); provide a chat template with {{% generation %}}...{{% endgeneration %}} around "
        "each assistant turn (reasoning, action and end-of-turn token) in the model folder's chat_template.jinja, "
        "or set sft.assistant_only_loss: false"
    )


def _template_text(tokenizer) -> str:
    template = tokenizer.chat_template
    if isinstance(template, dict):  # named templates: the default one is what chats render with
        template = template.get("default")
    return template if isinstance(template, str) else ""


def _qwen_settings(tokenizer) -> dict:
    """What the model's own template shows for a lone user turn: the system prompt it adds when a
    conversation has none (Qwen2.5: "You are Qwen, created by Alibaba Cloud. ..."; Qwen3: none), and
    whether its generation prompt opens the <think> block (QwQ, Qwen3-*-Thinking-2507, Qwen3.5+)."""
    text = _template_text(tokenizer)
    if not text:
        return {}
    try:
        rendered = tokenizer.apply_chat_template([{"role": "user", "content": _PROBE}], chat_template=text,
                                                 add_generation_prompt=True, tokenize=False)
    except Exception:  # a template that cannot render a lone user turn: Qwen3's defaults
        return {}
    found = re.match(r"<\|im_start\|>system\n(.*?)<\|im_end\|>\n<\|im_start\|>user\n" + _PROBE, rendered, re.DOTALL)
    return {"default_system": found.group(1) if found else "",
            "think_in_prompt": rendered.endswith("<|im_start|>assistant\n<think>\n")}
