"""Geocoding as background work of ``serve`` / ``worker``, built from settings.

Two threads: the queue follower (a ``ProjectionFollower``, like the read
models) and the drainer, which runs the async ``GeocodingProcessor`` on its
own event loop (remote geocoders are async; the HTTP server's loop is never
used for geocoding, so a webhook never waits for it).
"""

from __future__ import annotations

import asyncio
import logging

from application.background import BackgroundLoop
from application.follower import ProjectionFollower
from application.geocoding import GeocodingProcessor, GeocodingRequests, GeocodingSnapshot, RetryPolicy
from application.intake_app import IntakeApplication
from application.ports import Geocoder
from infrastructure.geocoding.offline_adapter import OfflineUkAdapter
from infrastructure.geocoding.offline_uk import OfflineUkGeocoder
from infrastructure.geocoding.queue import SqlGeocodingQueue
from infrastructure.geocoding.remote import RemoteGeocoder
from infrastructure.leases import projection_lease
from infrastructure.settings import Settings
from infrastructure.sql import Database

log = logging.getLogger(__name__)

#: Longest sleep of an idle drainer: addresses queued by another process's
#: follower are picked up at least this often.
MAX_IDLE_SECONDS = 1.0
MAX_FAILURE_BACKOFF = 5.0


class GeocodingWorker:
    """Follows the event store into the geocoding queue, and drains it."""

    def __init__(
        self,
        follower: ProjectionFollower,
        queue: SqlGeocodingQueue,
        processor: GeocodingProcessor,
        *,
        poll_interval: float,
    ) -> None:
        self.follower = follower
        self.queue = queue
        self.processor = processor
        self.poll_interval = poll_interval
        # Supervised like the followers: a failure (database restart) is
        # retried with backoff; stopping cancels a drain in flight.
        self._background = BackgroundLoop(
            "geocoding",
            self._drain_pass,
            first_backoff=poll_interval,
            longest_backoff=MAX_FAILURE_BACKOFF,
            on_exit=processor.close,
            cancel_on_stop=True,
        )
        queue.on_enqueued(self.notify)

    def wake(self) -> None:
        """Something was saved: the follower looks for new addresses now."""
        self.follower.wake()

    def notify(self) -> None:
        """Addresses were queued: the drainer looks now (called from any thread)."""
        self._background.wake()

    def snapshot(self) -> GeocodingSnapshot:
        return GeocodingSnapshot(pending=self.queue.depth(), requests=self.processor.stats.requests())

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self.follower.start()
        self._background.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._background.stop(timeout)
        self.follower.stop()

    async def _drain_pass(self) -> float:
        handled = await self.processor.drain()
        return 0.0 if handled else await self._idle_seconds()

    async def _idle_seconds(self) -> float:
        due = await asyncio.to_thread(self.queue.next_due)
        if due is None:
            return MAX_IDLE_SECONDS
        return min(max(due - self.processor.now(), 0.0), MAX_IDLE_SECONDS)


def build_geocoding(settings: Settings, app: IntakeApplication, db: Database) -> GeocodingWorker | None:
    """The geocoding worker the settings ask for; None when geocoding is off.

    ``offline-uk``: the embedded geocoder alone. A remote service: that
    service first, the offline geocoder as its fallback. A missing offline
    data package fails here, at startup, not on the first order.
    """
    if settings.geocoder == "none":
        return None
    # 128 parsed areas (~46 MB) hold the whole of GB: with fewer, nationwide
    # traffic keeps re-parsing areas, and a parse costs far more than a lookup.
    offline = OfflineUkAdapter(OfflineUkGeocoder(max_cached_areas=128))
    primary: Geocoder = offline
    fallback: Geocoder | None = None
    if settings.geocoder != "offline-uk":
        primary = RemoteGeocoder(
            settings.geocoder,
            base_url=settings.geocoder_url,
            user_agent=settings.geocoder_user_agent,
            api_key=settings.geocoder_api_key,
            rate_per_second=settings.geocoder_rate_per_second,
            timeout_seconds=settings.geocoder_timeout_seconds,
        )
        fallback = offline
    queue = SqlGeocodingQueue(db)
    queue.create_tables()
    follower = ProjectionFollower(
        app.recorder,
        app.mapper,
        GeocodingRequests(),
        queue,
        batch_size=settings.projection_batch_size,
        poll_interval=settings.projection_poll_interval,
        coalesce=settings.projection_coalesce_seconds,
        # One process at a time follows the store into the queue, so no order is queued twice;
        # draining is shared safely through row claims.
        lease=projection_lease(settings, "geocoding"),
    )
    policy = RetryPolicy(
        max_attempts=settings.geocoder_max_attempts,
        base_delay=settings.geocoder_retry_base_seconds,
        lease_seconds=max(60.0, 4 * settings.geocoder_timeout_seconds),
    )
    # The offline index answers in microseconds: claim big batches so a burst
    # of new addresses is recorded in a few saves. A remote service is rate
    # limited, so a claim holds only what it can answer within the lease.
    processor = GeocodingProcessor(
        app,
        queue,
        primary,
        fallback,
        clock=app.clock,
        policy=policy,
        batch_size=500 if settings.geocoder == "offline-uk" else 8,
    )
    return GeocodingWorker(follower, queue, processor, poll_interval=settings.projection_poll_interval)
