"""PostgreSQL array literals, sent as one text parameter each and cast in the SQL.

psycopg's list dumper adapts every element in Python, which for the four arrays of a
large insert costs far more than joining escaped strings.
Used by the event insert, the bulk read and the bulk read-model writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID


def array_literal(values: Iterable[Any]) -> str:
    """``{…}`` of text, numbers, UUIDs, bytes (bytea) and NULLs."""
    return "{" + ",".join([_element(v) for v in values]) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, bytes):
        # "\\x<hex>": the array parser turns the doubled backslash into the
        # one of bytea's hex format.
        return '"\\\\x' + value.hex() + '"'
    raise TypeError(f"no array literal for {type(value).__name__}")
