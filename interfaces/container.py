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

from application.dashboard_sessions import DashboardSessions
from application.follower import ProjectionFollower
from application.intake_app import IntakeApplication
from application.projections import DeliveriesProjection, IntegrationsProjection, OrdersProjection
from application.queries import IntakeQueries
from infrastructure.persistence import open_event_store
from infrastructure.read_models.deliveries_view import SqlDeliveriesView
from infrastructure.read_models.integrations_view import SqlIntegrationsView
from infrastructure.read_models.orders_view import SqlOrdersView
from infrastructure.read_models.tracked_view import SqlTrackedView
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
    app: IntakeApplication
    db: Database
    views: dict[str, SqlTrackedView]
    followers: dict[str, ProjectionFollower]
    queries: IntakeQueries
    executor: ThreadPoolExecutor
    #: Dashboard sign-in sessions (the browser's stand-in for an API key).
    sessions: DashboardSessions
    #: Extra background work (geocoding, scheduled pulls), started after the followers.
    workers: list[BackgroundWorker] = field(default_factory=list)
    background_running: bool = field(default=False)

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
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.app.close()


def build_container(settings: Settings | None = None, **overrides: Any) -> Container:
    settings = settings or Settings()
    app, db = open_event_store(settings)
    orders = SqlOrdersView(db)
    integrations = SqlIntegrationsView(db)
    deliveries = SqlDeliveriesView(db)
    views: dict[str, SqlTrackedView] = {v.name: v for v in (orders, integrations, deliveries)}
    for view in views.values():
        view.create_tables()
    projections = {
        "orders": OrdersProjection(),
        "integrations": IntegrationsProjection(),
        "deliveries": DeliveriesProjection(),
    }
    followers = {
        name: ProjectionFollower(
            app.recorder,
            app.mapper,
            projections[name],
            views[name],
            batch_size=settings.projection_batch_size,
            poll_interval=settings.projection_poll_interval,
        )
        for name in views
    }
    for follower in followers.values():
        app.on_saved(follower.wake)
    container = Container(
        settings=settings,
        app=app,
        db=db,
        views=views,
        followers=followers,
        queries=IntakeQueries(orders, integrations, deliveries),
        executor=ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="intake"),
        sessions=_dashboard_sessions(app, db, settings),
    )
    for name, value in overrides.items():
        setattr(container, name, value)
    return container


def _dashboard_sessions(app: IntakeApplication, db: Database, settings: Settings) -> DashboardSessions:
    store = SqlSessionStore(db)
    store.create_table()
    return DashboardSessions(app, store, app.clock, timedelta(minutes=settings.session_ttl_minutes))
