"""Credentials out of everything we store or log: one function, used everywhere.

    redact("HTTP 401: {'authorization': 'Bearer sk-abc123...'}")  ->  "HTTP 401: {'authorization': '[REDACTED]'}"

:func:`redact` removes what looks like a credential from a piece of text: ``Authorization``
values, ``Bearer`` tokens, ``api_key=`` / ``token=`` / ``password=`` style pairs (query strings,
JSON, headers), well-known key shapes (``sk-…``, ``hf_…``, ``ghp_…``, ``AKIA…``), URL user
info (``https://user:pass@host``), and the literal value of every key we know of: keys
registered with :func:`register_secret` (the OpenAI backend registers the one it reads) and
the values of environment variables whose names say they hold one (``*_API_KEY``,
``*_TOKEN``, ``*SECRET*``, ``*PASSWORD*``, ``*_AUTH``). :func:`redact_tree` does the same to every string
of a JSON-like value (and to the whole value under a key named like a credential), for config
dumps. :class:`RedactingFilter` applies it to every log record a handler emits
(``deliberate.cli.setup_logging`` installs it).

Stored errors (rollouts' ``error``, judge errors), the W&B config, log lines and the CLI's
error line go through here; model output only loses the literal values of known keys
(:func:`redact_known`), since words like "Bearer" are fair game in a transcript.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

MASK = "[REDACTED]"
MIN_SECRET_LEN = 8  # shorter values would mask ordinary words

_SECRET_NAME = r"(?:api[_-]?key|apikey|x-api-key|access[_-]?token|auth[_-]?token|refresh[_-]?token|id[_-]?token|" \
               r"token|secret|client[_-]?secret|password|passwd|authorization|proxy-authorization)"
_PATTERNS: list[tuple[re.Pattern, str]] = [
    # Authorization: Bearer xxx / "authorization": "Basic xxx" (header dumps, JSON echoes)
    (re.compile(r"""(?i)((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token|digest)\s+)?"""
                r"""[^\s"',;}\]]+"""), r"\1" + MASK),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{4,}"), "Bearer " + MASK),
    # name=value / name: value / "name": "value" for credential-like names (query strings, headers, JSON)
    (re.compile(rf"""(?i)(\b{_SECRET_NAME}["']?\s*(?:=|:)\s*["']?)(?!\[REDACTED\])[^\s"'&,;}}\]]{{6,}}"""),
     r"\1" + MASK),
    # short names that are only credentials in a URL's query string (?key=..., &sig=...)
    (re.compile(r"(?i)([?&;](?:key|sig|signature|code|auth|pwd|pass)=)[^&#\s\"']+"), r"\1" + MASK),
    # well-known key shapes
    (re.compile(r"\b(?:sk|rk|pk)-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_]{8,}"), MASK),
    (re.compile(r"\b(?:hf|ghp|gho|ghs|github_pat|glpat|xox[abprs])[-_][A-Za-z0-9_-]{10,}"), MASK),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), MASK),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), MASK),
    # https://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@"), r"\1" + MASK + "@"),
]
_ENV_SECRET_RE = re.compile(r"(?i)(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|(?:^|_)AUTH(?:_|$))")
_SECRET_KEY_RE = re.compile(rf"(?i)^{_SECRET_NAME}$|(?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password)$")

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a key's literal value: from now on it is masked wherever :func:`redact` runs."""
    if value and len(value) >= MIN_SECRET_LEN:
        with _lock:
            _registered.add(value)


def known_secrets() -> list[str]:
    """Registered keys and the values of credential-named environment variables, longest first."""
    env = {v for k, v in os.environ.items() if _ENV_SECRET_RE.search(k) and v and len(v) >= MIN_SECRET_LEN}
    with _lock:
        values = _registered | env
    return sorted(values, key=len, reverse=True)


def redact_known(text: str) -> str:
    """Only the literal values of known keys masked (for model output)."""
    if not text:
        return text
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(text: Any) -> Any:
    """``text`` with everything that looks like a credential masked (non-strings returned as given)."""
    if not isinstance(text, str) or not text:
        return text
    text = redact_known(text)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def is_secret_name(name: str) -> bool:
    """Does a field, header or query-parameter name say it holds a credential (``api_key``,
    ``token``, ``password``, ``sig``; not ``api_key_env``, which names a variable)?"""
    return bool(_SECRET_KEY_RE.search(name) or name.lower() in ("key", "sig", "signature", "auth", "pwd", "pass"))


def redact_tree(value: Any) -> Any:
    """A copy of a JSON-like value with every string redacted and the value of every key named like a
    credential (``api_key``, ``token``, ``password``; not ``api_key_env``, which names a variable) masked."""
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _SECRET_KEY_RE.search(k) and value[k] not in (None, "")
                    else redact_tree(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return redact(value)


class RedactingFilter(logging.Filter):
    """Masks credentials in every record a handler emits (message, arguments and traceback text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem to report, not ours
            return True
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
