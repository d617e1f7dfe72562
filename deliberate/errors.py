"""The one base class for "your input is wrong" (config, spec, environment, model, data, monitor input).

Every user-facing error derives from :class:`UserError`; the CLI prints it as one line and exits 2,
keeping a traceback for bugs (or ``--debug``). A stage raises it before it loses anything already
computed. Subclasses also keep the builtin base they had (``ValueError``, ``RuntimeError``) so
callers that caught those still do.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user gave us: printed as one clear line, exit code 2."""


class MissingInputError(UserError, FileNotFoundError):
    """A stage's input (a parent stage's output, a file named in the config) is not there."""


class TrainingDataError(UserError, ValueError):
    """What a training stage was given cannot train a model (empty split, every record cut by the
    length limit, a loss that is not a number)."""
