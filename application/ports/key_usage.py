"""When each API key was last used: where it is kept, and the keys it is shown for."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.access.api_keys import ApiKeyRow
from application.commands import Principal


class KeyUsageStore(Protocol):
    def record(self, tenant_id: UUID, key_id: str, at: datetime) -> None:
        """Set the key's last use to ``at`` unless a later one is stored."""

    def last_used(self, tenant_id: UUID) -> dict[str, datetime]:
        """key id -> last use, for the tenant's keys that were ever used."""


class ApiKeyLister(Protocol):
    def list_api_keys(self, principal: Principal) -> list[ApiKeyRow]: ...
