"""Ports: what the application needs from the outside, as Protocols.

Infrastructure implements them; tests use the real implementations on real
databases, or loopback fakes for systems we can't run (a WMS, a geocoder).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.geocode_result import GeocodeOutcome


class Clock(Protocol):
    def now(self) -> datetime: ...


#: Keyword argument of ``Application.save`` (passed on to the recorder's
#: ``insert_events``): ``{aggregate id: version}`` of aggregates a command read
#: and decided not to change. The event store's recorders check, inside the
#: insert transaction and after its own inserts, that none of them has an event
#: past that version; if one has, the insert fails with ``IntegrityError``
#: exactly as a conflict on a changed aggregate does.
EXPECTED_VERSIONS = "expected_versions"


class BulkEventReader(Protocol):
    """Reads the stored events of many aggregates in one round trip."""

    def select_events_of(
        self, originator_ids: Iterable[UUID], after: Mapping[UUID, int] | None = None
    ) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of these aggregates, in version order; of an id in
        ``after``, only its events with a higher version."""


class Geocoder(Protocol):
    """Turns a free-text address into coordinates (a local index or a remote service).

    Never raises for a bad address or a failing service: every outcome is a
    ``GeocodeHit`` or a ``GeocodeMiss`` saying whether a retry may help.
    """

    provider: str

    async def geocode(self, address: str) -> GeocodeOutcome: ...

    async def aclose(self) -> None:
        """Release connections (called on the event loop that used the geocoder)."""


class PullSource(Protocol):
    """Fetches a WMS's order payload (the webhook's JSON shape) over HTTP."""

    async def fetch(self, url: str, method: str, secret: str, updated_since: str | None) -> bytes: ...


class Lease(Protocol):
    """The right to run one background job in exactly one process at a time.

    Every process sharing a database asks for the same lease; one holds it,
    the others stand by and take it over when the holder stops or dies. The
    database guards it (a PostgreSQL advisory lock), not process memory.
    """

    name: str

    def acquire(self) -> bool:
        """Take the lease if it is free, without waiting; True while this process
        holds it (asking again while holding it is cheap and checks it is still held)."""

    def release(self) -> None:
        """Give the lease up (stopping); another process may take it at once."""


class SecretBox(Protocol):
    """Encrypts secrets that must be sent later (the pull secret)."""

    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, token: str) -> str: ...


# The ports of each area, in their own modules; re-exported so that
# ``from application.ports import …`` reaches every port.
from application.ports.aggregates import AggregateStore  # noqa: E402
from application.ports.blocking import BlockingRunner  # noqa: E402
from application.ports.geocoding import (  # noqa: E402
    GeocodingMonitor,
    GeocodingQueue,
    GeocodingQueueWriter,
    GeocodingSnapshot,
    QueuedAddress,
)
from application.ports.intake import BatchReceiver  # noqa: E402
from application.ports.projections import Projection, ReadModelUpgrade  # noqa: E402
from application.ports.pull import Claim, PullFetchError, PullUrlCheck, ScheduleClaims, SyncLeases  # noqa: E402

__all__ = [
    "EXPECTED_VERSIONS",
    "AggregateStore",
    "BatchReceiver",
    "BlockingRunner",
    "BulkEventReader",
    "Claim",
    "Clock",
    "Geocoder",
    "GeocodingMonitor",
    "GeocodingQueue",
    "GeocodingQueueWriter",
    "GeocodingSnapshot",
    "Lease",
    "Projection",
    "PullFetchError",
    "PullSource",
    "PullUrlCheck",
    "QueuedAddress",
    "ReadModelUpgrade",
    "ScheduleClaims",
    "SecretBox",
    "SyncLeases",
]
