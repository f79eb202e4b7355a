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


class RefusalStore(Protocol):
    def add_counts(self, counts: list[RefusalCount]) -> None: ...

    def refused(self, tenant_id: str) -> dict[str, dict[str, object]]: ...
