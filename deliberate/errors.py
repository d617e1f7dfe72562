"""The errors that mean "your input is wrong" (config, spec, environment, model, data),
which the CLI prints as one clear message instead of a traceback."""

from __future__ import annotations


def _user_errors() -> tuple[type[BaseException], ...]:
    from deliberate.config import ConfigError
    from deliberate.data.generate import DataYieldError
    from deliberate.data.judge import JudgeError
    from deliberate.data.mix import MixError
    from deliberate.provenance import VerifyError
    from deliberate.envs.core import EnvError
    from deliberate.eval.evaluate import ContaminationError
    from deliberate.eval.report.safety_case import SafetyCaseError
    from deliberate.models import ModelError
    from deliberate.specs.loader import SpecError

    return (ConfigError, SpecError, EnvError, ModelError, DataYieldError, ContaminationError, JudgeError, MixError,
            VerifyError, SafetyCaseError, FileNotFoundError)


def __getattr__(name):  # ``from deliberate.errors import UserError`` gives the tuple above
    if name == "UserError":
        return _user_errors()
    raise AttributeError(name)
