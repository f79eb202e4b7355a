"""Geocoding in the background: which addresses need coordinates, and getting them.

Two halves, so a slow or failing geocoding service never holds up the event
store follower (nor, of course, a webhook):

* ``GeocodingRequests`` is a projection: a tracked follower of the event
  store (exactly once, resumable, like the read models) that turns
  ``Customer.Created`` and order events carrying a delivery address into
  rows of a durable per-tenant address queue. The same normalised address is
  queued once per tenant.
* ``GeocodingProcessor`` drains that queue: it asks the configured geocoder,
  and records the answer on the address's ``Location`` aggregate
  (``Geocoded`` or ``GeocodingFailed``) with one ``save``.

Retry policy (ours, deliberately narrow): only a miss the geocoder marks
retryable (timeout, 429, 5xx, unreachable) is retried, after an exponential,
jittered backoff that is never shorter than the service's ``Retry-After``.
The row is rescheduled in the queue and the processor moves on to other
addresses. After ``max_attempts`` the service counts as down: the fallback
geocoder (the offline UK one) is asked, and if it has no answer either,
``GeocodingFailed(retryable=True)`` is recorded, which leaves the address
open to be tried again when an order next uses it. A permanent miss (the
service found nothing, refused the query) goes to the fallback at once and is
recorded once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import singledispatchmethod
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.geocode_result import REMOTE_ERROR, GeocodeHit, GeocodeMiss, GeocodeOutcome
from application.intake_app import IntakeApplication
from application.ports import Clock, Geocoder
from domain.addresses import normalise_address
from domain.customer import Customer
from domain.errors import InvalidValueError
from domain.ids import location_id
from domain.location import Location
from domain.order import Order

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------- the queue


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


def _topics(*classes: type) -> frozenset[str]:
    return frozenset(getattr(c, "TOPIC") for c in classes)


class GeocodingRequests:
    """The follower's projection: every address a customer or an order brings."""

    name = "geocoding"
    topics = _topics(Customer.Created, Order.Created, Order.Updated)  # type: ignore[attr-defined]

    @singledispatchmethod
    def process(self, event: Any, writer: GeocodingQueueWriter) -> None:
        """Events of other types need no coordinates."""

    @process.register
    def _(self, event: Customer.Created, writer: GeocodingQueueWriter) -> None:
        writer.enqueue(event.tenant_id, event.address, event.timestamp.timestamp())

    @process.register
    def _(self, event: Order.Created, writer: GeocodingQueueWriter) -> None:
        order_id = str(event.originator_id)
        writer.order_placed(order_id, event.tenant_id)
        address = event.details.get("delivery_address")
        # An order placed with the WMS's own coordinates is located already.
        provided = event.details.get("latitude") is not None
        if isinstance(address, str) and normalise_address(address) and not provided:
            writer.enqueue(event.tenant_id, address, event.timestamp.timestamp())

    @process.register
    def _(self, event: Order.Updated, writer: GeocodingQueueWriter) -> None:  # type: ignore[name-defined]
        address = event.changes.get("delivery_address")
        # A new address that came with coordinates needs no geocoding; one
        # without them (the order drops its old ones) does.
        provided = event.changes.get("latitude") is not None
        if isinstance(address, str) and normalise_address(address) and not provided:
            writer.enqueue_for_order(
                str(event.originator_id), address, event.timestamp.timestamp()
            )


# ---------------------------------------------------------------------- policy and stats


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a retryable miss is tried again."""

    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 300.0
    #: A Retry-After longer than this is capped (a misconfigured service must
    #: not park an address for days).
    max_retry_after: float = 3600.0
    #: How long a claim hides an address from other workers.
    lease_seconds: float = 120.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: jittered exponential
        backoff, never less than the service's Retry-After."""
        backoff = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        jittered = random.uniform(backoff / 2, backoff)
        asked = min(retry_after, self.max_retry_after) if retry_after else 0.0
        return max(jittered, asked)


class GeocodingStats:
    """Geocoding requests by provider and outcome, counted in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str]] = Counter()

    def count(self, provider: str, outcome: GeocodeOutcome) -> None:
        with self._lock:
            self._requests[(provider, outcome_label(outcome))] += 1

    def requests(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._requests)


def outcome_label(outcome: GeocodeOutcome) -> str:
    if isinstance(outcome, GeocodeHit):
        return "ok"
    if outcome.not_found:
        return "not_found"
    return "retryable_error" if outcome.retryable else "error"


@dataclass(frozen=True)
class GeocodingSnapshot:
    """What the metrics show: addresses waiting, and requests so far."""

    pending: int
    requests: Mapping[tuple[str, str], int] = field(default_factory=dict)


class GeocodingMonitor(Protocol):
    def snapshot(self) -> GeocodingSnapshot:
        """Measured now (reads the database: call it off the event loop)."""


# ---------------------------------------------------------------------- the processor


class GeocodingProcessor:
    """Drains the queue: geocode, then record the answer on the ``Location``.

    Async because remote geocoders are; store calls run in threads so
    several addresses can be in flight (the remote adapter's rate limiter
    spaces the actual requests).
    """

    def __init__(
        self,
        app: IntakeApplication,
        queue: GeocodingQueue,
        geocoder: Geocoder,
        fallback: Geocoder | None = None,
        *,
        clock: Clock,
        policy: RetryPolicy | None = None,
        stats: GeocodingStats | None = None,
        batch_size: int = 8,
    ) -> None:
        self.app = app
        self.queue = queue
        self.geocoder = geocoder
        self.fallback = fallback
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.stats = stats or GeocodingStats()
        self.batch_size = batch_size

    def now(self) -> float:
        return self.clock.now().timestamp()

    async def drain(self) -> int:
        """Geocode the addresses due now (one claim); return how many were handled.

        A claim is handled as a unit: one read of every claimed address's
        Location, the geocoder asked for each (concurrently), and every answer
        recorded with one ``save`` — a burst of new addresses costs a few
        transactions, not a few per address.
        """
        claimed = await asyncio.to_thread(
            self.queue.claim_due, self.now(), self.batch_size, self.policy.lease_seconds
        )
        if not claimed:
            return 0
        try:
            known = await asyncio.to_thread(self._load_all, claimed)
        except Exception:  # noqa: BLE001 - the claims lapse and are tried again
            log.exception("geocoding could not read the locations of %d addresses", len(claimed))
            return len(claimed)
        outcomes = await asyncio.gather(
            *(self._outcome_safely(item, known.get(self._key(item))) for item in claimed)
        )
        await asyncio.to_thread(self._record_all, claimed, known, outcomes)
        return len(claimed)

    async def close(self) -> None:
        await self.geocoder.aclose()
        if self.fallback is not None:
            await self.fallback.aclose()

    async def handle(self, item: QueuedAddress) -> None:
        """One address on its own (same policy as ``drain``)."""
        known = await asyncio.to_thread(self._load_all, [item])
        outcome = await self._outcome_safely(item, known.get(self._key(item)))
        await asyncio.to_thread(self._record_all, [item], known, [outcome])

    async def _outcome_safely(self, item: QueuedAddress, location: Location | None) -> GeocodeOutcome | None:
        try:
            return await self._outcome(item, location)
        except Exception:  # noqa: BLE001 - one address must not stop the others
            # The claim stays: the address is tried again when its lease ends.
            log.exception("geocoding of a queued address of tenant %s failed", item.tenant_id)
            return None

    async def _outcome(self, item: QueuedAddress, location: Location | None) -> GeocodeOutcome | None:
        """The answer to record, or None when there is nothing to record now."""
        if location is not None and not location.needs_geocoding:
            await asyncio.to_thread(self.queue.resolved, item)
            return None
        outcome = await self._ask(self.geocoder, item.address)
        if isinstance(outcome, GeocodeMiss) and outcome.retryable:
            attempt = item.attempts + 1
            if attempt < self.policy.max_attempts:
                due = self.now() + self.policy.delay(attempt, outcome.retry_after)
                await asyncio.to_thread(self.queue.retry_later, item, due, attempt, outcome.reason)
                return None
        if isinstance(outcome, GeocodeMiss) and self.fallback is not None:
            outcome = _either(outcome, await self._ask(self.fallback, item.address))
        return outcome

    async def _ask(self, geocoder: Geocoder, address: str) -> GeocodeOutcome:
        outcome = await geocoder.geocode(address)
        self.stats.count(geocoder.provider, outcome)
        return outcome

    @staticmethod
    def _key(item: QueuedAddress) -> UUID:
        return location_id(UUID(item.tenant_id), item.address_key)

    def _load_all(self, items: list[QueuedAddress]) -> dict[UUID, Location]:
        found = self.app.load_many({self._key(item) for item in items})
        return {oid: loc for oid, loc in found.items() if isinstance(loc, Location)}

    def _record_all(
        self,
        items: list[QueuedAddress],
        known: Mapping[UUID, Location],
        outcomes: list[GeocodeOutcome | None],
    ) -> None:
        answered = [
            (item, self._answer(item, known.get(self._key(item)), outcome))
            for item, outcome in zip(items, outcomes)
            if outcome is not None
        ]
        if not answered:
            return
        try:
            self.app.save(*(location for _, location in answered))
        except IntegrityError:
            # Another worker recorded one of these first: save the rest one by
            # one (the answers are rebuilt on freshly loaded locations).
            for item, outcome in zip(items, outcomes):
                if outcome is not None:
                    self._record(item, self._load_all([item]).get(self._key(item)), outcome)
            return
        for item, location in answered:
            self._settle(item, location)

    def _answer(self, item: QueuedAddress, known: Location | None, outcome: GeocodeOutcome) -> Location:
        location = known or Location.of_address(UUID(item.tenant_id), item.address)
        if isinstance(outcome, GeocodeHit):
            try:
                location.geocoded(
                    outcome.lat, outcome.lon, outcome.precision, outcome.provider,
                    outcome.matched_address,
                )
            except InvalidValueError as error:
                location.geocoding_failed(
                    f"{outcome.provider} answered {error}", retryable=False, cause=REMOTE_ERROR
                )
        else:
            location.geocoding_failed(outcome.reason, retryable=outcome.retryable, cause=outcome.cause)
        return location

    def _record(self, item: QueuedAddress, known: Location | None, outcome: GeocodeOutcome) -> None:
        if known is not None and not known.needs_geocoding:
            self.queue.resolved(item)
            return
        location = self._answer(item, known, outcome)
        try:
            self.app.save(location)
        except IntegrityError:
            # Another worker recorded this location first: its answer stands,
            # and the next claim (now) reloads it and settles the queue row.
            log.info("location of a tenant %s address was recorded elsewhere", item.tenant_id)
            self.queue.retry_later(item, self.now(), item.attempts, "recorded concurrently")
            return
        self._settle(item, location)

    def _settle(self, item: QueuedAddress, location: Location) -> None:
        if location.needs_geocoding:
            self.queue.parked(item)
        else:
            self.queue.resolved(item)


def _either(primary: GeocodeMiss, fallback: GeocodeOutcome) -> GeocodeOutcome:
    """The fallback's hit; else one miss telling both stories. It stays
    retryable only if the primary service's failure was."""
    if isinstance(fallback, GeocodeHit):
        return fallback
    return GeocodeMiss(
        provider=primary.provider,
        reason=f"{primary.provider}: {primary.reason}; {fallback.provider}: {fallback.reason}",
        retryable=primary.retryable,
        not_found=primary.not_found and fallback.not_found,
        # The fallback was asked last: its answer says what is missing.
        cause=fallback.cause,
    )
