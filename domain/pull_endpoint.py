"""The PullEndpoint aggregate: a WMS URL that orders are pulled from ("Pull from WMS").

A tenant may have several. Each holds its target (URL and method), an optional
schedule (``interval_minutes``), the pull secret *sealed* (encrypted by the
application; the domain never sees it in clear), and the record of every sync
attempt, successful or not. The schedule is decided here, so the event store
is the authority on when an endpoint is next due: every event that moves it
carries the new ``next_sync_at``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValueError, PullEndpointRemovedError, StalePullError
from domain.source import Source

METHODS: frozenset[str] = frozenset({"GET", "POST"})
MIN_INTERVAL_MINUTES = 1
MAX_INTERVAL_MINUTES = 7 * 24 * 60
MAX_URL_LENGTH = 2000
#: Every URL a pull endpoint accepts, and only those (the API's schema states
#: the same pattern): http or https, a host name or IPv4 address (no
#: credentials, no IPv6 literal), an optional port up to 65535, then visible
#: ASCII only (international names and paths are sent punycoded and
#: percent-encoded, as HTTP sends them anyway).
URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9\-._~!$&'()*+,;=%]+"
    r"(?::(?:[0-9]{0,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
    r"(?:[/?#][!-~]*)?$"
)
_URL = re.compile(URL_PATTERN)
#: Repeated failures space attempts out, but never further apart than this
#: (or the interval itself, when that is longer): a WMS that recovers is
#: pulled again within the hour.
MAX_BACKOFF = timedelta(hours=1)
MAX_ERROR_LENGTH = 500
TRIGGERS: frozenset[str] = frozenset({"manual", "schedule"})


@dataclass(frozen=True)
class PullTarget:
    """Where and how to pull: an absolute http(s) URL without credentials, GET or POST."""

    url: str
    method: str

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidValueError("method must be GET or POST")
        if not self.url or len(self.url) > MAX_URL_LENGTH:
            raise InvalidValueError(f"url must be 1 to {MAX_URL_LENGTH} characters")
        if any(ch.isspace() or not ch.isprintable() for ch in self.url):
            raise InvalidValueError("url must not contain spaces or control characters")
        try:
            parts = urlsplit(self.url)
            host = parts.hostname
            _ = parts.port  # reading it validates the port
        except ValueError:
            raise InvalidValueError("url is not a valid URL") from None
        if parts.scheme not in ("http", "https"):
            raise InvalidValueError("url must start with http:// or https://")
        if not host:
            raise InvalidValueError("url must name a host")
        if parts.username is not None or parts.password is not None:
            raise InvalidValueError("url must not contain credentials: the WMS gets the pull secret as a Bearer token")
        if not _URL.fullmatch(self.url):
            raise InvalidValueError(
                "url must be http(s)://host[:port][/path] in visible ASCII: a host name or IPv4 "
                "address, a port up to 65535 (percent-encode other characters)"
            )


def checked_interval(minutes: int | None) -> int | None:
    """``None`` (no schedule: "Sync now" only) or whole minutes within the allowed range."""
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidValueError("intervalMinutes must be a whole number of minutes")
    if not MIN_INTERVAL_MINUTES <= minutes <= MAX_INTERVAL_MINUTES:
        raise InvalidValueError(f"intervalMinutes must be between {MIN_INTERVAL_MINUTES} and {MAX_INTERVAL_MINUTES}")
    return minutes


def next_sync_after(interval_minutes: int | None, finished_at: datetime, failures_in_a_row: int) -> datetime | None:
    """When a scheduled endpoint is next due after an attempt that finished at ``finished_at``.

    After a success, one interval later. After ``n`` failures in a row the wait
    doubles each time (``interval × 2ⁿ``) up to the larger of the interval and
    ``MAX_BACKOFF``. No schedule, no next sync.
    """
    if interval_minutes is None:
        return None
    interval = timedelta(minutes=interval_minutes)
    if failures_in_a_row <= 0:
        return finished_at + interval
    ceiling = max(interval, MAX_BACKOFF)
    # The exponent is bounded so the product stays a sane timedelta.
    return finished_at + min(interval * (1 << min(failures_in_a_row, 16)), ceiling)


@dataclass(frozen=True)
class SyncAttempt:
    """What happened when the service pulled once: the facts an attempt event records.

    ``reason`` names the kind of failure (``unreachable``, ``timeout``,
    ``http_status``, ``too_large``, ``redirect_refused``, ``redirect_loop``,
    ``refused_address``, ``invalid_url``, ``unsupported_media_type``,
    ``rejected``, ``secret_echoed``, ``superseded``, ``removed``,
    ``secret_unreadable``); ``error`` is a short sentence safe to show (it
    never holds the secret).
    """

    attempt_id: UUID
    trigger: str
    started_at: datetime
    finished_at: datetime
    ok: bool
    processed: int | None = None
    reason: str | None = None
    error: str | None = None
    updated_since: datetime | None = None
    #: Which target (URL and method) the attempt pulled from: the endpoint's
    #: ``target_generation`` when the attempt started.
    target_generation: int | None = None
    #: The WMS asked not to be called again before this (its ``Retry-After``).
    not_before: datetime | None = None

    def __post_init__(self) -> None:
        if self.trigger not in TRIGGERS:
            raise InvalidValueError(f"unknown sync trigger {self.trigger!r}")
        if self.finished_at < self.started_at:
            raise InvalidValueError("a sync attempt cannot finish before it started")
        if self.ok and (self.processed is None or self.processed < 0 or self.error is not None):
            raise InvalidValueError("a successful attempt has a processed count and no error")
        if not self.ok and (not self.reason or not self.error):
            raise InvalidValueError("a failed attempt says why")


class PullEndpoint(Aggregate):
    """One WMS URL of one tenant that the service pulls orders from."""

    TOPIC = "wms-intake:PullEndpoint"

    class Event(Aggregate.Event):
        TOPIC = "wms-intake:PullEndpoint.Event"

    class Created(Aggregate.Created):
        # Never recorded: an endpoint starts "Added". Declared so the library's
        # default creation class gets its own topic instead of inheriting (and
        # taking over) the base Event's.
        TOPIC = "wms-intake:PullEndpointCreated"

    class Added(Aggregate.Created):
        TOPIC = "wms-intake:PullEndpointAdded"
        tenant_id: str
        url: str
        method: str
        interval_minutes: int | None
        sealed_secret: str
        added_at: datetime
        next_sync_at: datetime | None
        source: dict[str, str | None]

    @classmethod
    def add(
        cls,
        tenant_id: UUID,
        target: PullTarget,
        interval_minutes: int | None,
        sealed_secret: str,
        added_at: datetime,
        source: Source,
    ) -> PullEndpoint:
        """A new endpoint; a scheduled one is first due one interval after it was added."""
        interval = checked_interval(interval_minutes)
        if not sealed_secret:
            raise InvalidValueError("a pull endpoint needs its sealed secret")
        return cls(
            tenant_id=str(tenant_id),
            url=target.url,
            method=target.method,
            interval_minutes=interval,
            sealed_secret=sealed_secret,
            added_at=added_at,
            next_sync_at=next_sync_after(interval, added_at, 0),
            source=source.as_record(),
        )

    @event(Added)
    def __init__(
        self,
        tenant_id: str,
        url: str,
        method: str,
        interval_minutes: int | None,
        sealed_secret: str,
        added_at: datetime,
        next_sync_at: datetime | None,
        source: dict[str, str | None],
    ) -> None:
        self.tenant_id = tenant_id
        self.url = url
        self.method = method
        self.interval_minutes = interval_minutes
        self.sealed_secret = sealed_secret
        self.added_at = added_at
        self.next_sync_at = next_sync_at
        self.removed = False
        self.failures_in_a_row = 0
        self.last_finished_at: datetime | None = None
        self.last_success_started_at: datetime | None = None
        self.target_generation = 0
        self.newest_stored_sync_start: datetime | None = None

    # ------------------------------------------------------------------ configuration

    @property
    def target(self) -> PullTarget:
        return PullTarget(self.url, self.method)

    def retarget(self, target: PullTarget, source: Source) -> bool:
        """Point at another URL or method; a no-op records nothing.

        The next pull after a change sends no ``updatedSince`` (it may be
        another WMS, or one that lost track), and past failures are forgotten.
        The cursor belongs to the target it was earned from: a sync that
        started before this change never writes it (``target_generation``).
        """
        self._check_not_removed()
        if target == self.target:
            return False
        self._record_retargeted(url=target.url, method=target.method, source=source.as_record())
        return True

    @event("Retargeted", topic="wms-intake:PullEndpointRetargeted")
    def _record_retargeted(self, url: str, method: str, source: dict[str, str | None]) -> None:
        self.url = url
        self.method = method
        self.last_success_started_at = None
        self.failures_in_a_row = 0
        self.target_generation += 1

    def change_interval(self, interval_minutes: int | None, changed_at: datetime, source: Source) -> bool:
        """Set, change or drop the schedule; a no-op records nothing.

        The next sync is one (backed-off) interval after the last attempt, or
        after this change when there was none: due at once if that is past.
        """
        self._check_not_removed()
        interval = checked_interval(interval_minutes)
        if interval == self.interval_minutes:
            return False
        since = self.last_finished_at or changed_at
        self._record_interval_changed(
            interval_minutes=interval,
            next_sync_at=next_sync_after(interval, since, self.failures_in_a_row),
            source=source.as_record(),
        )
        return True

    @event("IntervalChanged", topic="wms-intake:PullEndpointIntervalChanged")
    def _record_interval_changed(
        self, interval_minutes: int | None, next_sync_at: datetime | None, source: dict[str, str | None]
    ) -> None:
        self.interval_minutes = interval_minutes
        self.next_sync_at = next_sync_at

    def regenerate_secret(self, sealed_secret: str, source: Source) -> None:
        """A new secret replaces the old one at once (the WMS must be given it)."""
        self._check_not_removed()
        if not sealed_secret:
            raise InvalidValueError("a pull endpoint needs its sealed secret")
        self._record_secret_regenerated(sealed_secret=sealed_secret, source=source.as_record())

    @event("SecretRegenerated", topic="wms-intake:PullEndpointSecretRegenerated")
    def _record_secret_regenerated(self, sealed_secret: str, source: dict[str, str | None]) -> None:
        self.sealed_secret = sealed_secret

    def remove(self, removed_at: datetime, source: Source) -> None:
        """Stop pulling; a removed endpoint accepts no more changes."""
        self._check_not_removed()
        self._record_removed(removed_at=removed_at, source=source.as_record())

    @event("Removed", topic="wms-intake:PullEndpointRemoved")
    def _record_removed(self, removed_at: datetime, source: dict[str, str | None]) -> None:
        self.removed = True
        self.next_sync_at = None

    # ------------------------------------------------------------------ syncing

    def is_due(self, now: datetime) -> bool:
        """Whether the schedule wants a sync at ``now``."""
        return not self.removed and self.next_sync_at is not None and self.next_sync_at <= now

    def store_pulled_batch(self, sync_started_at: datetime, delivery_id: str) -> None:
        """Note that the data of the sync started at ``sync_started_at`` is being stored.

        Saved in the same transaction as the batch's orders, so two batches of
        one endpoint are stored one after the other: the one whose sync
        started earlier, arriving after a later one was stored, is refused
        (``StalePullError``) and stores nothing.
        """
        self._check_not_removed()
        newest = self.newest_stored_sync_start
        if newest is not None and sync_started_at < newest:
            raise StalePullError(
                f"a sync that started at {newest.isoformat()} already stored newer data "
                f"than this one (started at {sync_started_at.isoformat()})"
            )
        self._record_batch_stored(sync_started_at=sync_started_at, delivery_id=delivery_id)

    @event("BatchStored", topic="wms-intake:PullEndpointBatchStored")
    def _record_batch_stored(self, sync_started_at: datetime, delivery_id: str) -> None:
        self.newest_stored_sync_start = sync_started_at

    def record_sync(self, attempt: SyncAttempt, source: Source) -> None:
        """Record one attempt and move the schedule: success resets the backoff.

        The cursor (``updatedSince``) moves only on a success that pulled from
        the current target and started later than the cursor. A WMS's
        ``Retry-After`` delays the next scheduled sync, within the backoff's
        ceiling.
        """
        self._check_not_removed()
        failures = 0 if attempt.ok else self.failures_in_a_row + 1
        current = self.last_success_started_at
        advances_cursor = (
            attempt.ok
            and attempt.target_generation in (None, self.target_generation)
            and (current is None or attempt.started_at >= current)
        )
        next_sync_at = next_sync_after(self.interval_minutes, attempt.finished_at, failures)
        if next_sync_at is not None and attempt.not_before is not None and self.interval_minutes is not None:
            ceiling = attempt.finished_at + max(timedelta(minutes=self.interval_minutes), MAX_BACKOFF)
            next_sync_at = max(next_sync_at, min(attempt.not_before, ceiling))
        self._record_sync_attempted(
            attempt_id=str(attempt.attempt_id),
            trigger=attempt.trigger,
            started_at=attempt.started_at,
            finished_at=attempt.finished_at,
            outcome="ok" if attempt.ok else "failed",
            processed=attempt.processed,
            reason=attempt.reason,
            error=attempt.error[:MAX_ERROR_LENGTH] if attempt.error else None,
            updated_since=attempt.updated_since,
            failures_in_a_row=failures,
            next_sync_at=next_sync_at,
            source=source.as_record(),
            advances_cursor=advances_cursor,
        )

    @event("SyncAttempted", topic="wms-intake:PullEndpointSyncAttempted")
    def _record_sync_attempted(
        self,
        attempt_id: str,
        trigger: str,
        started_at: datetime,
        finished_at: datetime,
        outcome: str,
        processed: int | None,
        reason: str | None,
        error: str | None,
        updated_since: datetime | None,
        failures_in_a_row: int,
        next_sync_at: datetime | None,
        source: dict[str, str | None],
        advances_cursor: bool | None = None,
    ) -> None:
        self.last_finished_at = finished_at
        # Attempts recorded before ``advances_cursor`` existed moved it on success.
        if advances_cursor or (advances_cursor is None and outcome == "ok"):
            self.last_success_started_at = started_at
        self.failures_in_a_row = failures_in_a_row
        self.next_sync_at = next_sync_at

    def _check_not_removed(self) -> None:
        if self.removed:
            raise PullEndpointRemovedError(str(self.id))
