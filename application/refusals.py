"""Refused webhook requests, counted by reason, without a row per request.

Policy: an attacker sending wrong secrets must not be able to grow the store
or slow it down. Each refusal only increments a counter in memory, keyed by
(tenant, reason), and only for a tenant whose webhook exists (an unknown
tenant id names nothing to show it on, so it is not counted): memory is
bounded by tenants × reasons. A flusher adds the counts to a small table
every second or so, one UPSERT per key, so every process's refusals add up.
"""

from __future__ import annotations

import threading
from datetime import datetime
from uuid import UUID

from application.ports.refusals import RefusalCount

WRONG_SECRET = "wrong_secret"
DEACTIVATED = "deactivated"
#: reason -> its name in the API
REASONS = {WRONG_SECRET: "wrongSecret", DEACTIVATED: "deactivated"}


class RefusalCounter:
    """Refusals counted in memory until the next flush (thread-safe, no I/O)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, str], tuple[int, datetime]] = {}

    def refused(self, tenant_id: UUID, reason: str, at: datetime, source: str = "webhook") -> None:
        key = (str(tenant_id), source, reason)
        with self._lock:
            count, last = self._pending.get(key, (0, at))
            self._pending[key] = (count + 1, max(last, at))

    def drain(self) -> list[RefusalCount]:
        with self._lock:
            pending, self._pending = self._pending, {}
        return [RefusalCount(t, s, r, count, last) for (t, s, r), (count, last) in pending.items()]

    def restore(self, counts: list[RefusalCount]) -> None:
        """Put back counts a failed flush could not store (they are tried again)."""
        with self._lock:
            for c in counts:
                count, last = self._pending.get((c.tenant_id, c.source, c.reason), (0, c.last_at))
                self._pending[(c.tenant_id, c.source, c.reason)] = (count + c.count, max(last, c.last_at))
