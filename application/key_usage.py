"""When each API key was last used, without an event per request.

Policy: "last used" is operational state, not a business fact, so it lives in
a small table beside the read models, never in the event store. A key's row is
written at most once per ``resolution`` per process (and a write never moves
the time backwards), so a busy key costs one write a minute, not one per
request; the time shown is therefore exact to within that resolution.
A dashboard session counts as a use of the key it signed in with.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from application.access.api_keys import ApiKeyRow
from application.commands import Principal
from application.ports import Clock
from application.ports.key_usage import ApiKeyLister, KeyUsageStore
from application.timestamps import iso_or_none

DEFAULT_RESOLUTION = timedelta(minutes=1)


@dataclass(eq=False)
class KeyUsage:
    """Notes each key's uses (at most one write per ``resolution``) and lists keys with them."""

    store: KeyUsageStore
    keys: ApiKeyLister
    clock: Clock
    resolution: timedelta = DEFAULT_RESOLUTION
    _written: dict[tuple[UUID, str], datetime] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def due(self, principal: Principal) -> bool:
        """Whether this use must be written (cheap: no I/O, so callers ask first)."""
        last = self._written.get((principal.tenant_id, principal.key_id))
        return last is None or self.clock.now() - last >= self.resolution

    def used(self, principal: Principal) -> None:
        """Note a use of the principal's key (a write only when one is due)."""
        key = (principal.tenant_id, principal.key_id)
        now = self.clock.now()
        with self._lock:
            last = self._written.get(key)
            if last is not None and now - last < self.resolution:
                return
            self._written[key] = now
        self.store.record(principal.tenant_id, principal.key_id, now)

    def list_keys(self, principal: Principal) -> list[UsedApiKey]:
        """The tenant's keys (admins only), each with its last use (None: never used)."""
        keys = self.keys.list_api_keys(principal)
        last_used = self.store.last_used(principal.tenant_id)
        return [UsedApiKey(key, iso_or_none(last_used.get(key.key_id))) for key in keys]


@dataclass(frozen=True)
class UsedApiKey:
    """A listed key and when it was last used (None: never)."""

    key: ApiKeyRow
    last_used_at: str | None
