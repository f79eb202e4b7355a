"""The composition root: builds every object the service runs on, from settings.

Nothing is built at import time; tests call ``build_container`` with their
own settings (a temporary SQLite file, a fresh PostgreSQL schema).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from application.blocking import ExecutorRunner
from application.consistency import ConsistentReads
from application.dashboard_sessions import DashboardSessions
from application.follower import ProjectionFollower
from application.geocoding import GeocodingMonitor
from application.intake_app import IntakeApplication
from application.key_usage import KeyUsage
from application.ports.idempotency import IdempotencyStore
from application.projections import DeliveriesProjection, IntegrationsProjection, OrdersProjection, Projection
from application.pull.concurrency import SyncSlots
from application.pull.endpoints_projection import PullEndpointsProjection
from application.pull.schedule import lease_for
from application.pull.sync import PullService
from application.queries import IntakeQueries
from infrastructure.event_store import EventStore, open_event_store
from infrastructure.geocoding.worker import build_geocoding
from infrastructure.idempotency_store import SqlIdempotencyStore
from infrastructure.key_usage import SqlKeyUsageStore
from infrastructure.leases import projection_lease, schema_lock
from infrastructure.pull.loop_source import PerLoopPullSource
from infrastructure.pull.outbound import OutboundPolicy
from infrastructure.pull.scheduler import PullScheduler
from infrastructure.pull.sync_leases import SqlSyncLeases
from infrastructure.read_models.deliveries_view import SqlDeliveriesView
from infrastructure.read_models.integrations_view import SqlIntegrationsView
from infrastructure.read_models.orders_view import SqlOrdersView
from infrastructure.read_models.pull_endpoints_view import SqlPullEndpointsView
from infrastructure.read_models.tracked_view import SqlTrackedView
from infrastructure.read_models.upgrade import ReadModelUpgrade
from infrastructure.refusals_store import RefusalFlusher, SqlRefusalStore
from infrastructure.secret_cipher import SecretCipher
from infrastructure.sessions import SqlSessionStore
from infrastructure.settings import Settings
from infrastructure.sql import Database

log = logging.getLogger(__name__)


class BackgroundWorker(Protocol):
    """Something that runs in the background of ``serve`` or ``worker``."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Container:
    settings: Settings
    #: The use cases, as the interfaces call them.
    use_cases: IntakeApplication
    #: The event store they load from and save to (the projections read it too).
    store: EventStore
    db: Database
    views: dict[str, SqlTrackedView]
    followers: dict[str, ProjectionFollower]
    queries: IntakeQueries
    executor: ThreadPoolExecutor
    #: Dashboard sign-in sessions (the browser's stand-in for an API key).
    sessions: DashboardSessions
    #: Pull from WMS: the use cases, and their outbound HTTP (one session per event loop).
    pull: PullService
    pull_source: PerLoopPullSource
    #: When each API key was last used (written at most once a minute per key).
    key_usage: KeyUsage
    #: Reads that wait for the read models to reach a write (read your own writes).
    consistent: ConsistentReads
    #: Stores the refused-request counts of this process; runs wherever requests are served.
    refusals: RefusalFlusher
    #: Answers kept for Idempotency-Key replays (a table beside the read models).
    idempotency: IdempotencyStore
    #: Extra background work (geocoding, scheduled pulls), started after the followers.
    workers: list[BackgroundWorker] = field(default_factory=list)
    background_running: bool = field(default=False)
    #: Geocoding queue depth and request counts, for the metrics (None: geocoding off).
    geocoding: GeocodingMonitor | None = None

    def start_background(self) -> None:
        """Projections and every other background worker, in this process."""
        if self.background_running:
            return
        for follower in self.followers.values():
            follower.start()
        for worker in self.workers:
            worker.start()
        self.background_running = True

    def stop_background(self) -> None:
        if not self.background_running:
            return
        for worker in reversed(self.workers):
            worker.stop()
        for follower in self.followers.values():
            follower.stop()
        self.background_running = False

    def catch_up(self) -> None:
        """Bring every read model up to date now (tests, CLI)."""
        for follower in self.followers.values():
            follower.catch_up()

    def rebuild(self, name: str) -> dict[str, float]:
        """Drop one read model and replay the whole event store into it."""
        started = time.perf_counter()
        self.views[name].reset()
        events = self.followers[name].catch_up()
        seconds = time.perf_counter() - started
        return {"events": events, "seconds": round(seconds, 3), "eventsPerSecond": round(events / seconds, 1)}

    def projection_lags(self) -> dict[str, int]:
        return {name: follower.lag() for name, follower in self.followers.items()}

    def close(self) -> None:
        self.stop_background()
        self.refusals.stop()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.use_cases.close()


def build_container(settings: Settings | None = None, *, workers: list[BackgroundWorker] | None = None) -> Container:
    """Everything the service runs on. ``workers`` replaces the background
    workers started after the followers (the scheduled pulls, geocoding)."""
    settings = settings or Settings()
    # Processes starting together (serve and worker) create their tables one at a time.
    with schema_lock(settings):
        return _build(settings, workers)


def _build(settings: Settings, workers: list[BackgroundWorker] | None) -> Container:
    store, db = open_event_store(settings)
    app = IntakeApplication(store)
    orders = SqlOrdersView(db, geocoding=settings.geocoder != "none")
    integrations = SqlIntegrationsView(db)
    deliveries = SqlDeliveriesView(db)
    pull_endpoints = SqlPullEndpointsView(db)
    views: dict[str, SqlTrackedView] = {v.name: v for v in (orders, integrations, deliveries, pull_endpoints)}
    for view in views.values():
        view.create_tables()
    projections: dict[str, Projection[Any]] = {
        "orders": OrdersProjection(),
        "integrations": IntegrationsProjection(),
        "deliveries": DeliveriesProjection(),
        "pull_endpoints": PullEndpointsProjection(),
    }
    followers = {
        name: ProjectionFollower(
            store.recorder,
            store.mapper,
            projections[name],
            views[name],
            batch_size=settings.projection_batch_size,
            poll_interval=settings.projection_poll_interval,
            coalesce=settings.projection_coalesce_seconds,
            lease=projection_lease(settings, name),
        )
        for name in views
    }
    for name, follower in followers.items():
        store.on_saved(follower.wake)
        # A read model whose stored version is older is rebuilt beside the old
        # tables by its follower (the lease holder), then swapped in.
        follower.upgrade = ReadModelUpgrade(
            views[name], store.recorder, store.mapper, type(projections[name])(), settings.projection_batch_size
        )
    refusal_store = SqlRefusalStore(db)
    refusal_store.create_table()
    executor = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="intake")
    pull, pull_source, pull_scheduler = _pull_from_wms(app, pull_endpoints, executor, settings)
    queries = IntakeQueries(orders, integrations, deliveries, pull_endpoints, refusal_store)
    usage_store = SqlKeyUsageStore(db)
    usage_store.create_table()
    geocoding = build_geocoding(settings, app, db)
    if geocoding is not None:
        store.on_saved(geocoding.wake)
    if workers is None:
        workers = [pull_scheduler, *([geocoding] if geocoding is not None else [])]
    return Container(
        settings=settings,
        use_cases=app,
        store=store,
        db=db,
        views=views,
        followers=followers,
        queries=queries,
        executor=executor,
        sessions=_dashboard_sessions(app, db, settings),
        pull=pull,
        pull_source=pull_source,
        workers=workers,
        geocoding=geocoding,
        key_usage=KeyUsage(usage_store, app.keys, app.clock),
        consistent=_consistent_reads(store, queries, views, followers, executor, settings),
        refusals=RefusalFlusher(app.auth_refusals, refusal_store),
        idempotency=_idempotency_store(db, settings),
    )


def _consistent_reads(
    store: EventStore,
    queries: IntakeQueries,
    views: dict[str, SqlTrackedView],
    followers: dict[str, ProjectionFollower],
    executor: ThreadPoolExecutor,
    settings: Settings,
) -> ConsistentReads:
    """Reads by id see every acknowledged write; lists wait for a given position."""
    assert store.event_positions is not None  # a SQL store always has them
    return ConsistentReads(
        queries,
        store.event_positions,
        views,
        ExecutorRunner(executor),
        timeout=settings.read_wait_seconds,
        wake={name: follower.hurry for name, follower in followers.items()},
    )


def _idempotency_store(db: Database, settings: Settings) -> IdempotencyStore:
    store = SqlIdempotencyStore(db, SecretCipher.from_settings(settings.secret_key, settings.key_file))
    store.create_table()
    return store


def _dashboard_sessions(app: IntakeApplication, db: Database, settings: Settings) -> DashboardSessions:
    store = SqlSessionStore(db)
    store.create_table()
    return DashboardSessions(app.keys, store, app.clock, timedelta(minutes=settings.session_ttl_minutes))


def _pull_from_wms(
    app: IntakeApplication, view: SqlPullEndpointsView, executor: ThreadPoolExecutor, settings: Settings
) -> tuple[PullService, PerLoopPullSource, PullScheduler]:
    """Pull from WMS: the use cases, the guarded outbound HTTP, and the scheduler worker."""
    source = PerLoopPullSource(
        OutboundPolicy(
            allow_private=settings.pull_allow_private,
            connect_timeout=min(5.0, settings.pull_timeout_seconds),
            total_timeout=settings.pull_timeout_seconds,
            max_body_bytes=settings.max_body_bytes,
        )
    )
    run = ExecutorRunner(executor)
    leases = SqlSyncLeases(view.db)
    leases.create_table()
    service = PullService(
        app,
        app,
        source,
        SecretCipher.from_settings(settings.secret_key, settings.key_file),
        view,
        run,
        clock=app.clock,
        max_items=settings.max_batch_items,
        max_body_bytes=settings.max_body_bytes,
        leases=leases,
        lease=lease_for(settings.pull_timeout_seconds),
        slots=SyncSlots(settings.pull_max_concurrent),
        check_url=source.check_url,
    )
    scheduler = PullScheduler(
        service,
        view,
        run,
        clock=app.clock,
        tick_seconds=settings.pull_tick_seconds,
        lease=lease_for(settings.pull_timeout_seconds),
        close_outbound=source.close,
    )
    return service, source, scheduler
