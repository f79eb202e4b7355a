"""Ports: what the application needs from the outside, as Protocols.

Infrastructure implements them; tests use the real implementations on real
databases, or loopback fakes for systems we can't run (a WMS, a geocoder).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent


class Clock(Protocol):
    def now(self) -> datetime: ...


class BulkEventReader(Protocol):
    """Reads the stored events of many aggregates in one round trip."""

    def select_events_of(self, originator_ids: Iterable[UUID]) -> dict[UUID, list[StoredEvent]]: ...


class HealthProbe(Protocol):
    def check(self) -> None:
        """Raise if the database cannot be reached."""


class PullSource(Protocol):
    """Fetches a WMS's order payload (the webhook's JSON shape) over HTTP."""

    async def fetch(
        self, url: str, method: str, secret: str, updated_since: str | None
    ) -> bytes: ...


class SecretBox(Protocol):
    """Encrypts secrets that must be sent later (the pull secret)."""

    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, token: str) -> str: ...


class Page(Protocol):
    items: Sequence[dict[str, object]]
    next_cursor: str | None
