"""Dashboard sessions: where they are kept, and who checks the API key they stand for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.commands import Principal


@dataclass(frozen=True)
class SessionRecord:
    """What the store keeps of a session: never the token, never the key."""

    tenant_id: UUID
    key_id: str
    created_at: datetime
    expires_at: datetime


class SessionStore(Protocol):
    """Server-side dashboard sessions, looked up by the hash of their token."""

    def add(self, token_hash: str, record: SessionRecord) -> None: ...

    def find(self, token_hash: str, now: datetime) -> SessionRecord | None:
        """The session if it exists and has not expired at ``now``."""

    def remove(self, token_hash: str) -> None: ...

    def remove_expired(self, now: datetime) -> int: ...


class KeyAuthenticator(Protocol):
    """The part of the intake application that knows the tenants' API keys."""

    def authenticate_own_tenant(self, api_key: str) -> Principal: ...

    def principal_of_key(self, tenant_id: UUID, key_id: str) -> Principal: ...
