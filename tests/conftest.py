"""Shared fixtures: a tiny random model built once per session, and an offline, W&B-free environment."""

from __future__ import annotations

import pytest
from tiny_model import build_tiny_model


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
