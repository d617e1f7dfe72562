"""Training-suite families; importing this package registers them."""

from deliberate.envs.train import covert_rule  # noqa: F401
