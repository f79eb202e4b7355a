"""Scheduled pulls: the real PullScheduler on real databases against a fake WMS on 127.0.0.1.

Time is injected: every scheduler and pull service here reads one manual clock,
so "one interval later" is a call, not a wait. Ticks are real (a few ms apart).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import uuid4

import pytest

from application.blocking import ExecutorRunner
from application.commands import Principal
from application.pull.schedule import Claim, lease_for
from application.timestamps import iso
from infrastructure.pull.scheduler import PullScheduler
from infrastructure.read_models.pull_endpoints_view import SqlPullEndpointsView
from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from interfaces.http.presenters.pull import present_pull_endpoints
from tests.support.fake_wms import FakeWms
from tests.support.settings import POSTGRES_ON, make_settings, postgres_url
from tests.support.waits import eventually

SECRET_KEY = "test-only-pull-secret-key-4f9c2a7e1b3d5f60a8c9e7d1"
START = datetime(2025, 2, 22, 6, 0, tzinfo=UTC)


class ManualClock:
    """A clock that moves only when told to (shared by threads)."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


PULL_SETTINGS = {"secret_key": SECRET_KEY, "pull_tick_seconds": 0.02}
pytestmark = pytest.mark.settings(**PULL_SETTINGS)


def pull_settings(database_url: str) -> Settings:
    return make_settings(database_url, **PULL_SETTINGS)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def wms() -> AsyncIterator[FakeWms]:
    async with FakeWms() as fake:
        yield fake


def view_of(container: Container) -> SqlPullEndpointsView:
    return cast(SqlPullEndpointsView, container.views["pull_endpoints"])


def scheduler_for(container: Container, clock: ManualClock, max_in_flight: int = 8) -> PullScheduler:
    """The container's pull service and read model, scheduled by ``clock``."""
    container.pull.clock = clock
    return PullScheduler(
        container.pull,
        view_of(container),
        ExecutorRunner(container.executor),
        clock=clock,
        tick_seconds=container.settings.pull_tick_seconds,
        lease=lease_for(container.settings.pull_timeout_seconds),
        max_in_flight=max_in_flight,
        close_outbound=container.pull_source.close,
    )


@dataclass(frozen=True)
class Workers:
    """Two processes' worth of workers on one database, and the admin of a tenant there."""

    #: The first process's container: the test adds endpoints and reads their statuses through it.
    container: Container
    schedulers: list[PullScheduler]
    principal: Principal


@pytest.fixture
def workers(settings: Settings, clock: ManualClock) -> Iterator[Workers]:
    """Containers with their followers and a scheduler each, all started."""
    built: list[tuple[Container, PullScheduler]] = []
    for _ in range(2):
        container = build_container(settings, workers=[])
        built.append((container, scheduler_for(container, clock)))
    for container, scheduler in built:
        container.start_background()
        scheduler.start()
    first = built[0][0]
    yield Workers(first, [s for _, s in built], admin_of(first))
    for container, scheduler in built:
        scheduler.stop()
        container.close()


def admin_of(container: Container) -> Principal:
    created = container.use_cases.create_tenant("Acme Deliveries")
    return container.use_cases.authenticate(str(created.tenant_id), created.admin_api_key)


def order_for(path: str) -> dict[str, Any]:
    return {"externalOrderId": f"ORD{path.replace('/', '-')}", "deliveryAddress": "10 High Street, London SW1A 1AA"}


async def statuses_when(container: Container, principal: Principal, check: Any) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        entries = present_pull_endpoints(container.pull.list_endpoints(principal))["pullEndpoints"]
        return entries if check(entries) else []  # empty: not yet

    return list(await eventually(probe))


async def ticks_pass(schedulers: list[PullScheduler], count: int = 3) -> None:
    """Wait until every scheduler has looked for due work ``count`` more times."""
    marks = [s.ticks for s in schedulers]

    async def done() -> bool:
        return all(s.ticks >= mark + count for s, mark in zip(schedulers, marks, strict=True))

    await eventually(done)


# ---------------------------------------------------------------- exactly once, across processes


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_ON, reason="WMS_INTAKE_TEST_POSTGRES=off (local runs only)")
async def test_two_workers_on_one_postgresql_run_each_due_sync_exactly_once(
    postgres_schema: str, clock: ManualClock, wms: FakeWms
) -> None:
    settings = pull_settings(postgres_url(postgres_schema))
    containers = [build_container(settings, workers=[]) for _ in range(2)]
    schedulers = [scheduler_for(c, clock) for c in containers]
    try:
        for container, scheduler in zip(containers, schedulers, strict=True):
            container.start_background()
            scheduler.start()
        principal = admin_of(containers[0])
        paths = [f"/wms-{i}" for i in range(4)]
        for path in paths:
            wms.serve_json(path, [order_for(path)])
            containers[1].pull.add_endpoint(principal, wms.url(path), "GET", 1)

        for round_ in (1, 2, 3):
            now = iso(clock.advance(minutes=1))
            await statuses_when(
                containers[round_ % 2],
                principal,
                lambda entries: len(entries) == 4 and all(e["lastSyncAt"] == now for e in entries),
            )
            await ticks_pass(schedulers)

            assert [len(wms.requests_to(path)) for path in paths] == [round_] * 4
            assert sum(s.started for s in schedulers) == 4 * round_
        entries = present_pull_endpoints(containers[0].pull.list_endpoints(principal))["pullEndpoints"]
        assert all(e["lastSyncStatus"] == "ok" and e["lastProcessed"] == 1 for e in entries)
        assert {e["nextSyncAt"] for e in entries} == {iso(clock.now() + timedelta(minutes=1))}
    finally:
        for container, scheduler in zip(containers, schedulers, strict=True):
            scheduler.stop()
            container.close()


async def test_concurrent_claims_of_a_due_endpoint_have_exactly_one_winner(
    settings: Settings, clock: ManualClock
) -> None:
    containers = [build_container(settings, workers=[]) for _ in range(2)]
    try:
        principal = admin_of(containers[0])
        for container in containers:
            container.pull.clock = clock
        containers[0].pull.add_endpoint(principal, "http://wms.example/orders", "GET", 1)
        containers[0].catch_up()
        now = clock.advance(minutes=1)
        lease = now + timedelta(minutes=5)
        views = [view_of(c) for c in containers]

        for _ in range(10):
            barrier = threading.Barrier(len(views))
            won: list[Claim] = []
            lock = threading.Lock()

            def claim(view: SqlPullEndpointsView) -> None:
                barrier.wait()
                claims = view.claim_due(now, lease, 5)
                with lock:
                    won.extend(claims)

            threads = [threading.Thread(target=claim, args=(view,)) for view in views]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

            assert len(won) == 1
            assert views[0].claim_due(now, lease, 5) == []  # still leased
            views[1].release(won[0])
    finally:
        for container in containers:
            container.close()


# ---------------------------------------------------------------- one scheduler


async def test_a_scheduled_endpoint_is_pulled_every_interval_and_not_before(
    workers: Workers, clock: ManualClock, wms: FakeWms
) -> None:
    container, schedulers, principal = workers.container, workers.schedulers, workers.principal
    wms.serve_json("/orders", [order_for("/orders")])
    added = container.pull.add_endpoint(principal, wms.url("/orders"), "POST", 5)

    await statuses_when(container, principal, lambda entries: len(entries) == 1)

    for expected in (1, 2, 3):
        clock.advance(minutes=4)  # still inside the interval
        await ticks_pass(schedulers)
        assert len(wms.requests_to("/orders")) == expected - 1

        now = iso(clock.advance(minutes=1))
        [entry] = await statuses_when(container, principal, lambda entries: entries[0]["lastSyncAt"] == now)

        assert entry["id"] == str(added.endpoint_id) and entry["lastSyncStatus"] == "ok"
        assert entry["nextSyncAt"] == iso(clock.now() + timedelta(minutes=5))
        assert len(wms.requests_to("/orders")) == expected
    # Incremental: each pull sends when the previous successful one started.
    assert [r.json() for r in wms.requests_to("/orders")] == [
        {},
        {"updatedSince": iso(START + timedelta(minutes=5))},
        {"updatedSince": iso(START + timedelta(minutes=10))},
    ]


async def test_failures_back_off_and_a_success_restores_the_interval(
    workers: Workers, clock: ManualClock, wms: FakeWms
) -> None:
    container, schedulers, principal = workers.container, workers.schedulers, workers.principal
    wms.serve_bytes("/orders", b"down for maintenance", status=503, content_type="text/plain")
    container.pull.add_endpoint(principal, wms.url("/orders"), "GET", 1)

    first = iso(clock.advance(minutes=1))
    [entry] = await statuses_when(container, principal, lambda e: e and e[0]["lastSyncAt"] == first)
    assert entry["lastSyncStatus"] == "failed" and "503" in entry["lastError"]
    assert entry["nextSyncAt"] == iso(clock.now() + timedelta(minutes=2))  # 1 min x 2^1

    clock.advance(minutes=1)
    await ticks_pass(schedulers)
    assert len(wms.requests_to("/orders")) == 1  # backing off

    second = iso(clock.advance(minutes=1))
    [entry] = await statuses_when(container, principal, lambda e: e[0]["lastSyncAt"] == second)
    assert entry["nextSyncAt"] == iso(clock.now() + timedelta(minutes=4))  # 1 min x 2^2

    wms.serve_json("/orders", [order_for("/orders")])
    third = iso(clock.advance(minutes=4))
    [entry] = await statuses_when(container, principal, lambda e: e[0]["lastSyncAt"] == third)
    assert entry["lastSyncStatus"] == "ok" and entry["lastError"] is None and entry["lastProcessed"] == 1
    assert entry["nextSyncAt"] == iso(clock.now() + timedelta(minutes=1))
    assert len(wms.requests_to("/orders")) == 3


async def test_a_slow_wms_does_not_hold_up_other_endpoints(
    settings: Settings, clock: ManualClock, wms: FakeWms
) -> None:
    container = build_container(settings, workers=[])
    scheduler = scheduler_for(container, clock)
    try:
        container.start_background()
        scheduler.start()
        principal = admin_of(container)
        wms.stall("/slow")
        wms.serve_json("/fast", [order_for("/fast")])
        slow = container.pull.add_endpoint(principal, wms.url("/slow"), "GET", 1)
        fast = container.pull.add_endpoint(principal, wms.url("/fast"), "GET", 1)
        clock.advance(minutes=1)

        def synced(entries: list[dict[str, Any]], endpoint_id: str) -> bool:
            return any(e["id"] == endpoint_id and e["lastSyncStatus"] == "ok" for e in entries)

        await statuses_when(container, principal, lambda e: synced(e, str(fast.endpoint_id)))
        assert len(wms.requests_to("/slow")) == 1  # the slow one is still waiting for its WMS
        assert not synced(
            present_pull_endpoints(container.pull.list_endpoints(principal))["pullEndpoints"], str(slow.endpoint_id)
        )

        wms.release()
        await statuses_when(container, principal, lambda e: synced(e, str(slow.endpoint_id)))
    finally:
        wms.release()
        scheduler.stop()
        container.close()


async def test_a_claim_the_event_store_contradicts_is_released_without_a_sync(
    settings: Settings, clock: ManualClock, wms: FakeWms
) -> None:
    container = build_container(settings, workers=[])
    try:
        container.pull.clock = clock
        principal = admin_of(container)
        wms.serve_json("/orders", [order_for("/orders")])
        added = container.pull.add_endpoint(principal, wms.url("/orders"), "GET", 1)
        container.catch_up()
        now = clock.advance(minutes=1)
        view = view_of(container)
        [claim] = view.claim_due(now, now + timedelta(minutes=5), 5)
        assert (await container.pull.sync_scheduled(claim.endpoint_id, claim.attempt_id)) is not None
        view.release(claim)  # as if the lease had run out before the read model caught up

        # The read model has not applied the attempt yet: the row still looks due.
        [stale] = view.claim_due(now, now + timedelta(minutes=5), 5)
        assert await container.pull.sync_scheduled(stale.endpoint_id, stale.attempt_id) is None
        assert len(wms.requests) == 1

        # A removed endpoint is not synced either, whatever its row says.
        container.pull.remove_endpoint(principal, str(added.endpoint_id))
        assert await container.pull.sync_scheduled(added.endpoint_id, uuid4()) is None
        container.catch_up()
        assert view.claim_due(clock.advance(minutes=10), clock.now() + timedelta(minutes=5), 5) == []
        assert len(wms.requests) == 1
    finally:
        await container.pull_source.close()
        container.close()


def test_the_container_runs_a_pull_scheduler_with_the_configured_tick(container: Container) -> None:
    [scheduler] = [w for w in container.workers if isinstance(w, PullScheduler)]
    assert scheduler.tick_seconds == container.settings.pull_tick_seconds
    assert scheduler.lease > timedelta(seconds=container.settings.pull_timeout_seconds)
