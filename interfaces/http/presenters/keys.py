"""Tenant API keys: the one-time answer of a new key, and the list (no secrets)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from application.access.api_keys import ApiKeyRow
from application.commands import IssuedApiKey
from application.key_usage import UsedApiKey


def present_issued_key(issued: IssuedApiKey) -> dict[str, Any]:
    return {"id": issued.key_id, "apiKey": issued.api_key, "role": issued.role.value, "name": issued.name}


def present_key(key: ApiKeyRow) -> dict[str, Any]:
    return {
        "id": key.key_id,
        "name": key.name,
        "role": key.role.value,
        "createdAt": key.created_at,
        "revoked": key.revoked,
    }


def present_key_list(keys: Iterable[ApiKeyRow]) -> dict[str, Any]:
    return {"apiKeys": [present_key(key) for key in keys]}


def present_used_key_list(keys: Iterable[UsedApiKey]) -> dict[str, Any]:
    """The list where key usage is tracked: each key with ``lastUsedAt`` (null: never used)."""
    return {"apiKeys": [{**present_key(used.key), "lastUsedAt": used.last_used_at} for used in keys]}
