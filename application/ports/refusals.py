"""Refused webhook requests: where their counts are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class RefusalCount:
    tenant_id: str
    source: str
    reason: str
    count: int
    last_at: datetime


@dataclass(frozen=True)
class RefusalTally:
    """How often a tenant was refused for one reason, and when last (None: never)."""

    count: int
    last_at: str | None


NO_REFUSALS = RefusalTally(0, None)


class RefusalStore(Protocol):
    def add_counts(self, counts: list[RefusalCount]) -> None: ...

    def refused(self, tenant_id: str) -> dict[str, RefusalTally]:
        """reason -> its tally, for every reason the tenant was refused for."""
