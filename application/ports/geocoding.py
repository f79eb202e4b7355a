"""What geocoding needs from the outside: the durable address queue, and what it reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class QueuedAddress:
    """One tenant's address waiting for coordinates; ``attempts`` retryable misses so far."""

    tenant_id: str
    address_key: str
    address: str
    attempts: int


class GeocodingQueueWriter(Protocol):
    """What the follower writes, in the same transaction as its tracking move."""

    def order_placed(self, order_id: str, tenant_id: str) -> None:
        """Remember an order's tenant (order updates do not repeat it)."""

    def enqueue(self, tenant_id: str, address: str, due_at: float) -> None: ...

    def enqueue_for_order(self, order_id: str, address: str, due_at: float) -> None:
        """Queue an address for the tenant of an order placed earlier."""


class GeocodingQueue(Protocol):
    """The durable queue of addresses to geocode, shared by every process.

    Times are seconds since the epoch. An address is queued once per tenant:
    queueing it again does nothing while it is queued or resolved, and
    re-opens it if it was parked after a retryable failure.
    """

    def claim_due(self, now: float, limit: int, lease_seconds: float) -> list[QueuedAddress]:
        """Take up to ``limit`` due addresses; each is invisible to other
        claimers for ``lease_seconds`` (a crashed worker's claim expires)."""

    def next_due(self) -> float | None:
        """When the earliest queued address falls due (None: queue empty)."""

    def resolved(self, item: QueuedAddress) -> None:
        """Done for good: the location is recorded."""

    def parked(self, item: QueuedAddress) -> None:
        """Failed retryably after every attempt: wait until the address is seen again."""

    def retry_later(self, item: QueuedAddress, due_at: float, attempts: int, error: str) -> None:
        """Release the claim; the address falls due again at ``due_at``."""

    def depth(self) -> int:
        """How many addresses are waiting for coordinates."""


@dataclass(frozen=True)
class GeocodingSnapshot:
    """What the metrics show: addresses waiting, and requests so far."""

    pending: int
    requests: Mapping[tuple[str, str], int] = field(default_factory=dict)


class GeocodingMonitor(Protocol):
    def snapshot(self) -> GeocodingSnapshot:
        """Measured now (reads the database: call it off the event loop)."""
