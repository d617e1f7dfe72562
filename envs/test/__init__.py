"""Test-suite (held-out) families; importing this package registers them."""

from deliberate.envs.test import impossible_checklist, log_falsification, oversight_config  # noqa: F401
