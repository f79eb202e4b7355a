"""Getting coordinates for queued addresses, and recording them on their ``Location``.

Geocoding has two halves, so a slow or failing geocoding service never holds up the event
store follower (nor, of course, a webhook):

* ``GeocodingRequests`` (``requests.py``) is a projection: a tracked follower of the event
  store (exactly once, resumable, like the read models) that turns
  ``Customer.Created`` and order events carrying a delivery address into
  rows of a durable per-tenant address queue. The same normalised address is
  queued once per tenant.
* ``GeocodingProcessor`` (here) drains that queue: it asks the configured geocoder,
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
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.geocode_result import REMOTE_ERROR, GeocodeHit, GeocodeMiss, GeocodeOutcome
from application.geocoding.policy import GeocodingStats, RetryPolicy
from application.ports import Clock, Geocoder
from application.ports.aggregates import AggregateStore
from application.ports.geocoding import GeocodingQueue, QueuedAddress
from domain.errors import InvalidValueError
from domain.ids import location_id
from domain.location import Location

log = logging.getLogger(__name__)


@dataclass(eq=False)
class GeocodingProcessor:
    """Drains the queue: geocode, then record the answer on the ``Location``.

    Async because remote geocoders are; store calls run in threads so
    several addresses can be in flight (the remote adapter's rate limiter
    spaces the actual requests).
    """

    store: AggregateStore
    queue: GeocodingQueue
    geocoder: Geocoder
    fallback: Geocoder | None = None
    _: KW_ONLY
    clock: Clock
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    stats: GeocodingStats = field(default_factory=GeocodingStats)
    batch_size: int = 8

    def now(self) -> float:
        return self.clock.now().timestamp()

    async def drain(self) -> int:
        """Geocode the addresses due now (one claim); return how many were handled.

        A claim is handled as a unit: one read of every claimed address's
        Location, the geocoder asked for each (concurrently), and every answer
        recorded with one ``save`` — a burst of new addresses costs a few
        transactions, not a few per address.
        """
        claimed = await asyncio.to_thread(self.queue.claim_due, self.now(), self.batch_size, self.policy.lease_seconds)
        if not claimed:
            return 0
        try:
            known = await asyncio.to_thread(self._load_all, claimed)
        except Exception:
            log.exception("geocoding could not read the locations of %d addresses", len(claimed))
            return len(claimed)
        outcomes = await asyncio.gather(*(self._outcome_safely(item, known.get(self._key(item))) for item in claimed))
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
        except Exception:
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
        found = self.store.load_many({self._key(item) for item in items})
        return {oid: loc for oid, loc in found.items() if isinstance(loc, Location)}

    def _record_all(
        self, items: list[QueuedAddress], known: Mapping[UUID, Location], outcomes: list[GeocodeOutcome | None]
    ) -> None:
        answered = [
            (item, self._answer(item, known.get(self._key(item)), outcome))
            for item, outcome in zip(items, outcomes, strict=False)
            if outcome is not None
        ]
        if not answered:
            return
        try:
            self.store.save(*(location for _, location in answered))
        except IntegrityError:
            # Another worker recorded one of these first: save the rest one by
            # one (the answers are rebuilt on freshly loaded locations).
            for item, outcome in zip(items, outcomes, strict=False):
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
                    outcome.lat, outcome.lon, outcome.precision, outcome.provider, outcome.matched_address
                )
            except InvalidValueError as error:
                location.geocoding_failed(f"{outcome.provider} answered {error}", retryable=False, cause=REMOTE_ERROR)
        else:
            location.geocoding_failed(outcome.reason, retryable=outcome.retryable, cause=outcome.cause)
        return location

    def _record(self, item: QueuedAddress, known: Location | None, outcome: GeocodeOutcome) -> None:
        if known is not None and not known.needs_geocoding:
            self.queue.resolved(item)
            return
        location = self._answer(item, known, outcome)
        try:
            self.store.save(location)
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
