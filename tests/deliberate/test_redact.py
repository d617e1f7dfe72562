"""deliberate/redact.py: what looks like a credential is masked in stored errors, URLs, config dumps and logs."""

import logging

import pytest

from deliberate.redact import MASK, RedactingFilter, redact, redact_known, redact_tree, register_secret

CANARY = "sk-canary-7d1e0b9a44c2f3e8"


@pytest.mark.parametrize("text,gone", [
    ('HTTP 400: {"headers": {"authorization": "Bearer abcdefgh12345678"}}', "abcdefgh12345678"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("got header Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig from client", "eyJhbGciOiJIUzI1NiJ9"),
    ("https://api.example.com/v1?api_key=abcd1234efgh&x=1", "abcd1234efgh"),
    ("https://api.example.com/v1?key=AIzaSyA-1234567890abcdefghijklmnopqrstu", "AIzaSyA-1234"),
    ("https://alice:hunter2hunter2@api.example.com/v1", "hunter2hunter2"),
    ("the key is sk-proj-abcdefghijklmnop1234", "abcdefghijklmnop1234"),
    ("token hf_abcdefghijklmnopqrstuvwxyz", "hf_abcdefghijklmnop"),
    ("{'password': 'correct-horse-battery'}", "correct-horse-battery"),
    ("x-api-key: 0123456789abcdef", "0123456789abcdef"),
])
def test_redact_masks_credentials(text, gone):
    out = redact(text)
    assert gone not in out and MASK in out


@pytest.mark.parametrize("text", [
    "HTTP 500: internal server error (after 3 attempts)",
    "api_key_env: OPENAI_API_KEY",
    "data.generation.max_new_tokens: must be > 0, got -1",
    "sorted by key: value order",
    "http://127.0.0.1:8000/v1",
])
def test_redact_keeps_ordinary_text(text):
    assert redact(text) == text


def test_registered_and_environment_secrets_are_masked_anywhere(monkeypatch):
    register_secret("plainvalue-without-shape-1234")
    assert redact("echo: plainvalue-without-shape-1234!") == f"echo: {MASK}!"
    monkeypatch.setenv("SOME_SERVICE_API_KEY", "zz-unusual-shaped-secret")
    assert redact_known("model said zz-unusual-shaped-secret") == f"model said {MASK}"
    assert redact_known("Bearer words in a transcript stay") == "Bearer words in a transcript stay"


def test_redact_tree_masks_credential_keys_but_keeps_variable_names():
    cfg = {"data": {"teacher": {"endpoint": {"base_url": "https://h/v1?api_key=abcdef123456",
                                             "api_key_env": "OPENAI_API_KEY"}}},
           "extra": [{"api_key": "short"}, {"password": ""}], "n": 3}
    out = redact_tree(cfg)
    assert out["data"]["teacher"]["endpoint"]["api_key_env"] == "OPENAI_API_KEY"
    assert "abcdef123456" not in out["data"]["teacher"]["endpoint"]["base_url"]
    assert out["extra"] == [{"api_key": MASK}, {"password": ""}] and out["n"] == 3


def test_logging_filter_masks_messages_and_arguments(caplog):
    logger = logging.getLogger("deliberate.test_redact")
    handler_records = []

    class Keep(logging.Handler):
        def emit(self, record):
            handler_records.append(self.format(record))

    h = Keep()
    h.addFilter(RedactingFilter())
    logger.addHandler(h)
    try:
        logger.warning("request failed: %s", f"Authorization: Bearer {CANARY}")
        try:
            raise RuntimeError(f"boom {CANARY}")
        except RuntimeError:
            logger.exception("crashed")
    finally:
        logger.removeHandler(h)
    assert handler_records and not any(CANARY in r for r in handler_records)
    assert "boom" in handler_records[1]
