"""Inspect AI interop: our families as Inspect tasks, Inspect tasks in our eval, Inspect logs."""
