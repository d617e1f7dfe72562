"""Reasoning classifiers: evaluation awareness and covert intent, offline and LLM."""
