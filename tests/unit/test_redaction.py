"""Redaction of secrets: every form a secret takes in text is found and replaced."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from application.redaction import REDACTED, Redactor

SECRET = "pls_Zq3vN8xK2mW7rT5yB1cD4fG6hJ9kL0pQsUeIoAaSdFg"


def forms() -> dict[str, str]:
    escaped = "".join(f"\\u{ord(ch):04x}" for ch in SECRET)
    return {
        "exact": SECRET,
        "underscore JSON-escaped": SECRET.replace("_", "\\u005f"),
        "every character JSON-escaped": escaped,
        "escaped twice": SECRET.replace("_", "\\\\u005F"),
        "URL-encoded": SECRET.replace("_", "%5F"),
        "URL-encoded twice": SECRET.replace("_", "%255f"),
        "every character URL-encoded": "".join(f"%{ord(ch):02X}" for ch in SECRET),
        "HTML character references": "".join(f"&#{ord(ch)};" for ch in SECRET),
        "cut off after 12": SECRET[:12],
        "a middle run of 12": SECRET[17:29],
        "the tail": SECRET[-15:],
        "inside a JSON string": json.dumps({"token": SECRET}),
        "quoted for a URL": quote(SECRET, safe=""),
    }


@pytest.mark.parametrize("name", list(forms()))
def test_each_form_of_the_secret_is_found_and_redacted(name: str) -> None:
    text = f"before {forms()[name]} after"
    redactor = Redactor([SECRET])

    redacted = redactor.text(text)

    assert redactor.contains(text)
    assert REDACTED in redacted and redacted.startswith("before ") and redacted.endswith(" after")
    assert not redactor.contains(redacted)


def test_runs_shorter_than_12_characters_and_other_text_are_left_alone() -> None:
    redactor = Redactor([SECRET])
    text = f"id {SECRET[:11]} and {SECRET[20:31]}, 100% ok & done \\n"

    assert not redactor.contains(text)
    assert redactor.text(text) == text


def test_a_json_value_is_redacted_throughout_keys_included() -> None:
    redactor = Redactor([SECRET, "whs_" + "x" * 43])
    value = {"error": "Validation failed", "details": [{"externalOrderId": SECRET, SECRET[:14]: 1, "n": 3}]}

    assert redactor.value(value) == {
        "error": "Validation failed",
        "details": [{"externalOrderId": REDACTED, REDACTED: 1, "n": 3}],
    }


def test_no_secret_redacts_nothing() -> None:
    assert Redactor([]).value({"a": SECRET}) == {"a": SECRET}
    assert not Redactor([""]).contains(SECRET)
