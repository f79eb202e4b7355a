"""Redaction of secrets from anything the service stores, logs or answers.

A WMS may echo the Bearer token it was sent (inside an order, an error page, a
header it quotes), and the webhook's sender may put its own secret in a field.
Whatever comes back is redacted before it reaches an event, a read model, the
delivery log, a log line or a response, in every form a secret can take there:

* exactly;
* escaped as JSON (``\\u005f``, ``\\/``), URL-encoded (``%5F``, ``%255F``) or as
  an HTML character reference (``&#95;``), in any mix;
* cut off or embedded: any run of ``MIN_ECHO`` (12) or more characters of a
  secret. A secret is 43 random characters after its prefix: 12 of them in a
  row do not happen by chance.

One ``Redactor`` holds the secrets of one request or sync; ``value`` walks a
JSON-like value (keys too) and ``text`` one string. ``contains`` tells whether
a secret is there at all (a pulled body that holds one is refused whole, since
redacting order data would store something the WMS never meant).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: The shortest run of a secret's characters that is treated as the secret.
MIN_ECHO = 12
REDACTED = "[redacted]"
#: Any 12 characters of a secret contain one of its 6-character pieces that
#: start at a multiple of 6: a cheap first look before the exact search.
_PROBE = MIN_ECHO // 2
_ENCODED = re.compile(
    r"\\+u([0-9a-fA-F]{4})"  # JSON \uXXXX, however often the backslash was escaped
    r"|\\+([\"\\/])"  # JSON \" \\ \/
    r"|%(?:25)*([0-9a-fA-F]{2})"  # URL encoding, also encoded twice or more
    r"|&#[xX]([0-9a-fA-F]{1,6});"  # HTML character references
    r"|&#([0-9]{1,7});"
)

#: What every escape the pattern undoes, other than ``\\"`` and ``\\/``, starts with.
_RARE_MARKS = ("\\u", "\\\\", "%", "&#")


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = tuple(s for s in secrets if s)
        pieces: set[str] = set()
        probes: set[str] = set()
        for secret in self._secrets:
            if len(secret) <= MIN_ECHO:
                pieces.add(secret)
                probes.add(secret)
                continue
            pieces.update(secret[i : i + MIN_ECHO] for i in range(len(secret) - MIN_ECHO + 1))
            probes.update(secret[i : i + _PROBE] for i in range(0, len(secret) - _PROBE + 1, _PROBE))
        self._pieces = frozenset(pieces)
        self._probes = tuple(probes)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    # ---------------------------------------------------------------- queries

    def contains(self, data: str | bytes) -> bool:
        """Whether ``data`` holds a secret in any of the forms above."""
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        if not self._secrets or not text:
            return False
        if self._spans_in(text):
            return True
        if _ENCODED.search(text) is None:
            return False
        # The escapes JSON is full of are undone by plain replacement (a large
        # body may hold hundreds of thousands), the rare ones by the pattern,
        # whose scan of a large text is slow: only when one may be there.
        view = text.replace('\\"', '"').replace("\\/", "/")
        if any(mark in view for mark in _RARE_MARKS):
            view = _ENCODED.sub(_decoded_char, view)
        return bool(self._spans_in(view))

    # ---------------------------------------------------------------- redaction

    def text(self, value: str) -> str:
        """``value`` with every secret (in any form) replaced by ``[redacted]``."""
        spans = self._covered(value)
        if not spans:
            return value
        parts: list[str] = []
        position = 0
        for start, end in spans:
            parts.append(value[position:start])
            parts.append(REDACTED)
            position = end
        parts.append(value[position:])
        return "".join(parts)

    def value(self, value: Any) -> Any:
        """A JSON-like value (dicts, lists, strings, numbers) redacted throughout, keys too."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value

    # ---------------------------------------------------------------- the search

    def _covered(self, text: str) -> list[tuple[int, int]]:
        """The spans of ``text`` (merged, in order) that hold a secret's characters."""
        if not self._secrets or not text:
            return []
        spans = self._spans_in(text)
        if _ENCODED.search(text) is not None and self._spans_in(_ENCODED.sub(_decoded_char, text)):
            # Only now, with a secret known to be there, map each decoded
            # character back to the characters it came from.
            decoded, origin = _decode(text)
            spans += [(origin[start][0], origin[end - 1][1]) for start, end in self._spans_in(decoded)]
        return _merge(spans)

    def _spans_in(self, text: str) -> list[tuple[int, int]]:
        if not any(probe in text for probe in self._probes):
            return []
        spans: list[tuple[int, int]] = []
        for piece in self._pieces:
            start = text.find(piece)
            while start != -1:
                spans.append((start, start + len(piece)))
                start = text.find(piece, start + 1)
        return spans


def _decode(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with escapes decoded, and for each decoded character its span in ``text``."""
    chars: list[str] = []
    origin: list[tuple[int, int]] = []
    position = 0
    for match in _ENCODED.finditer(text):
        start, end = match.span()
        chars.append(text[position:start])
        origin.extend((i, i + 1) for i in range(position, start))
        chars.append(_decoded_char(match))
        origin.append((start, end))
        position = end
    chars.append(text[position:])
    origin.extend((i, i + 1) for i in range(position, len(text)))
    return "".join(chars), origin


def _decoded_char(match: re.Match[str]) -> str:
    unicode_escape, json_escape, percent, html_hex, html_decimal = match.groups()
    if json_escape is not None:
        return json_escape
    code = (
        int(unicode_escape, 16)
        if unicode_escape is not None
        else int(percent, 16)
        if percent is not None
        else int(html_hex, 16)
        if html_hex is not None
        else int(html_decimal)
    )
    try:
        return chr(code)
    except (ValueError, OverflowError):
        return "\ufffd"


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
