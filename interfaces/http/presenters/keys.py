"""Tenant API keys: the one-time answer of a new key, and the list (no secrets)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from application.commands import IssuedApiKey

#: What the list shows of a key (``lastUsedAt`` only where key usage is tracked).
_LISTED = ("id", "name", "role", "createdAt", "revoked", "lastUsedAt")


def present_issued_key(issued: IssuedApiKey) -> dict[str, Any]:
    return {"id": issued.key_id, "apiKey": issued.api_key, "role": issued.role.value, "name": issued.name}


def present_key_list(keys: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The use cases answer with the wire names already; this keeps to the documented keys."""
    return {"apiKeys": [{name: key[name] for name in _LISTED if name in key} for key in keys]}
