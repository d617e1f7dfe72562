"""Chat templates for assistant-only SFT loss.

TRL masks the loss to the tokens a template wraps in ``{% generation %}`` ... ``{% endgeneration %}``.
:func:`training_template` returns a template that has those markers: the tokenizer's own when it
already does, the shipped ChatML one (``templates/chatml_training.jinja``) for ChatML models,
and an error naming the problem otherwise. The SFT stage saves the result with the trained
tokenizer, so inference renders reasoning exactly as training did.
"""

from __future__ import annotations

import importlib.resources

from trl.chat_template_utils import has_generation_markers

SHIPPED = {"ChatML": "chatml_training.jinja"}


def shipped_template(family: str) -> str:
    folder = importlib.resources.files("deliberate.training") / "templates"
    return (folder / SHIPPED[family]).read_text(encoding="utf-8")


def training_template(tokenizer) -> str:
    """A chat template with ``{% generation %}`` markers for ``tokenizer``'s model family."""
    template = tokenizer.chat_template
    if isinstance(template, str) and has_generation_markers(template):
        return template
    if isinstance(template, str) and "<|im_start|>" in template:
        return shipped_template("ChatML")
    name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    problem = "has no chat template" if not template else "has no {% generation %} markers"
    raise ValueError(
        f"chat template of {name} {problem} and is not a family we ship a training template for "
        f"({', '.join(SHIPPED)}); provide a chat template with {{% generation %}}...{{% endgeneration %}} around "
        "each assistant turn (reasoning, action and end-of-turn token) in the model folder's chat_template.jinja, "
        "or set sft.assistant_only_loss: false"
    )
