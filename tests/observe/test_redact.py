"""Secrets never reach a trace: known values and key-shaped strings become [REDACTED]."""

from __future__ import annotations

from cagents.observe import Redactor
from cagents.observe.redact import REDACTED, secret_values


def test_known_values_are_replaced_wherever_they_occur() -> None:
    redactor = Redactor(["hunter2-very-secret"])
    assert redactor.text("the password is hunter2-very-secret.") == f"the password is {REDACTED}."
    assert redactor.value({"a": ["x hunter2-very-secret y", 3, None, True]}) == \
        {"a": [f"x {REDACTED} y", 3, None, True]}


def test_secret_values_come_from_credential_named_entries() -> None:
    env = {"OPENAI_API_KEY": "abcd1234efgh", "GITHUB_TOKEN": "t0k3n-value-1", "DB_PASSWORD": "pa55word!",
           "MY_SECRET": "s3cr3t-s3cr3t", "HOME": "/root/home-folder", "SHORT_KEY": "abc"}
    found = secret_values(env, None, extra=["explicit-secret"])
    assert found == {"abcd1234efgh", "t0k3n-value-1", "pa55word!", "s3cr3t-s3cr3t", "explicit-secret"}


def test_key_shaped_strings_are_replaced_without_being_known() -> None:
    redactor = Redactor()
    samples = {
        "openai": "sk-proj-Abcdefghijklmnopqrstuvwx123",
        "anthropic": "sk-ant-api03-Abcdefghijklmnopqrstuv",
        "google": "AIzaSyA1234567890abcdefghijklmnopqrstu",
        "github": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "aws": "AKIAABCDEFGHIJKLMNOP",
    }
    for name, key in samples.items():
        assert redactor.text(f"use {key} now") == f"use {REDACTED} now", name
    assert redactor.text("Authorization: Bearer abc.def-ghi_jkl") == f"Authorization: Bearer {REDACTED}"
    assert redactor.text("https://x.test/?api_key=0123456789abcdef0123&q=1") == \
        f"https://x.test/?api_key={REDACTED}&q=1"
    assert redactor.text('{"token": "ZXhhbXBsZS1zZWNyZXQtdmFsdWU="}') == f'{{"token": "{REDACTED}"}}'


def test_ordinary_text_is_left_alone() -> None:
    redactor = Redactor(secret_values({"API_KEY": "tiny"}))
    text = "The key insight: tokens=42, sk-short, a token of thanks, monkey business."
    assert redactor.text(text) == text


def test_credential_fields_are_replaced_whatever_their_value() -> None:
    redactor = Redactor()
    assert redactor.value({"api_key": "plain", "Authorization": "Basic", "password": "x",
                           "total_tokens": 12, "note": "ok"}) == \
        {"api_key": REDACTED, "Authorization": REDACTED, "password": REDACTED, "total_tokens": 12,
         "note": "ok"}


def test_other_objects_become_redacted_text() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "conn(secret=sk-abcdefghijklmnopqrstuvwxyz)"

    assert Redactor().value((Opaque(), b"bytes sk-abcdefghijklmnopqrstuvwxyz")) == \
        [f"conn(secret={REDACTED})", f"bytes {REDACTED}"]
