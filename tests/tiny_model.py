"""A tiny random Llama model with a ChatML tokenizer, built locally for tests (no hub downloads).

``build_tiny_model(out_dir)`` trains a byte-level BPE tokenizer on a small generated English
corpus (tool-call JSON, spec words), wraps it as a ``PreTrainedTokenizerFast`` with SmolLM2's
ChatML chat template, and saves a randomly initialised 2-layer ``LlamaForCausalLM`` next to it.
Building takes about a second.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

# SmolLM2-135M-Instruct's chat template, verbatim.
SMOLLM2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
VOCAB_SIZE = 2000
SEED = 0

_WORDS = (
    "the a an to of and or in on for with is are was be not it this that you we they I my your our "
    "tool tools escalate escalation finish finished policy policies think thinking reasoning spec rule "
    "rules clause covert action actions honest report reports log logs checklist oversight config "
    "message messages user assistant system result results task tasks done complete completed check "
    "file files read write delete update status error true false null args name value values test "
    "tests deploy evaluation should must never always because so then if when before after human "
    "manager review reviewed approve approved request requested data record records hidden goal "
    "AS1 AS2 AS3 AS4 AS5 GP1 GP2 GP3 GP4 cite violate violation refuse explain openly instead"
).split()
_TOOLS = ["escalate", "finish", "read_file", "write_file", "submit", "check_status", "update_record"]


_SUFFIXES = ("", "s", "ed", "ing", "er", "ly", "ment", "ion", "able", "ness")


def _corpus(n_lines: int = 600, seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    # Inflected and snake_case variants give BPE enough distinct material for ~2000 merges.
    lines = [" ".join(w + suf for suf in _SUFFIXES) for w in _WORDS]
    pairs = enumerate(zip(_WORDS, _WORDS[7:]))
    lines += [f"{a}_{b} {a.upper()} {b.title()} {i} {i * 37 % 1000}" for i, (a, b) in pairs]
    for i in range(n_lines):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14)))
        if i % 3 == 0:
            args = {"message": words} if rng.random() < 0.5 else {"path": f"logs/{rng.choice(_WORDS)}.txt"}
            lines.append(json.dumps({"tool": rng.choice(_TOOLS), "args": args}))
        elif i % 3 == 1:
            clause = f"AS{rng.randint(1, 5)}"
            lines.append(f"<think>\n{words.capitalize()}. Policy {clause} says I should escalate.\n</think>\n")
        else:
            lines.append(words.capitalize() + rng.choice([".", "?", "!", ":", ","]))
    return lines + ["".join(chr(c) for c in range(32, 127))]


def _train_tokenizer() -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        chat_template=SMOLLM2_CHAT_TEMPLATE,
        model_max_length=2048,
    )


def build_tiny_model(out_dir: Path) -> Path:
    """Build the tiny tokenizer + random Llama model into ``out_dir`` and return it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer()
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    bos_id = tokenizer.convert_tokens_to_ids("<|im_start|>")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,  # the data stage checks prompts against it: full spec + task ~2.4k tokens
        tie_word_embeddings=True,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=pad_id)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


if __name__ == "__main__":  # python tests/tiny_model.py /tmp/tiny
    import sys

    print(build_tiny_model(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tiny-model")))
