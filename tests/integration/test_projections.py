"""Read models follow the event store: promptly, exactly once, and they survive failures.

Read models are projections maintained exactly once with
tracking written in the same transaction as the rows; in normal operation a
read soon reflects a write; a follower that loses its database
connection is restarted, not left dead. Both stores; the lost-connection test
needs PostgreSQL backends to kill.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
import psycopg
import pytest

from application.commands import IngestResult, Principal, ReceiveBatch
from application.errors import NotFoundError, PayloadRejectedError
from application.read_models import TrackingConflictError
from interfaces.container import Container, build_container
from interfaces.http.presenters.integrations import present_integration_status
from interfaces.http.presenters.orders import present_order
from tests.support.http import TenantKeys
from tests.support.settings import POSTGRES_ON, POSTGRES_URL, make_settings, postgres_url
from tests.support.waits import wait_until

START = datetime(2025, 2, 20, 8, 0, tzinfo=UTC)
ADDRESS = "10 High Street, London SW1A 1AA"
CORE_FOLLOWERS = ("orders", "integrations", "deliveries")


class Wms:
    """A tenant's connected webhook, driven through the application."""

    def __init__(self, container: Container, tenant: TenantKeys) -> None:
        self.container = container
        self.principal: Principal = container.use_cases.authenticate(tenant.tenant_id, tenant.admin_key)
        container.use_cases.connect_webhook(self.principal)
        self.sent = 0

    def send(self, payload: Any) -> IngestResult:
        self.sent += 1
        body = orjson.dumps(payload)
        return self.container.use_cases.receive_batch(
            ReceiveBatch(
                tenant_id=self.principal.tenant_id,
                body=body,
                body_size=len(body),
                channel="webhook",
                request_id=f"request-{self.sent}",
                received_at=START + timedelta(minutes=self.sent),
                max_items=1000,
                max_body_bytes=1 << 20,
            )
        )

    def visible(self, external_id: str) -> dict[str, Any] | None:
        """The order as planning sees it now (no catching up), or None."""
        try:
            return present_order(self.container.queries.order_by_external_id(self.principal, external_id))
        except NotFoundError:
            return None


def dumps(container: Container) -> dict[str, Any]:
    return {name: view.dump() for name, view in container.views.items()}


def up_to_date(container: Container) -> bool:
    latest = container.use_cases.recorder.max_notification_id() or 0
    return all(view.position() == latest for view in container.views.values())


def some_history(wms: Wms) -> None:
    """Creations, updates, no-op repeats, a customer reused and a rejection."""
    wms.send(
        [
            {"externalOrderId": f"H-{i}", "deliveryAddress": f"{i % 3} Mill Lane, York YO1 1AA", "totalWeight": i}
            for i in range(12)
        ]
    )
    wms.send(
        [
            {"externalOrderId": f"H-{i}", "deliveryAddress": f"{i % 3} Mill Lane, York YO1 1AA", "totalWeight": i + 0.5}
            for i in range(0, 12, 2)
        ]
    )
    wms.send({"externalOrderId": "H-1", "deliveryAddress": "1 Mill Lane, York YO1 1AA", "totalWeight": 1})
    wms.send({"externalOrderId": "H-3", "deliveryAddress": "0 Mill Lane, York YO1 1AA", "plannedDate": "2025-03-01"})
    with pytest.raises(PayloadRejectedError):
        wms.send([{"externalOrderId": "H-99", "deliveryAddress": ADDRESS}, {"externalOrderId": ""}])


@pytest.fixture
def wms(container: Container, tenant: TenantKeys) -> Wms:
    return Wms(container, tenant)


# ---------------------------------------------------------------- the background keeps the read side current


def test_a_write_becomes_visible_on_the_read_side_by_itself(container: Container, wms: Wms) -> None:
    container.start_background()
    wms.send({"externalOrderId": "WARM-UP", "deliveryAddress": ADDRESS})
    wait_until(lambda: wms.visible("WARM-UP"), what="the first order after start-up")

    for i in range(3):
        wms.send({"externalOrderId": f"PROMPT-{i}", "deliveryAddress": ADDRESS, "totalWeight": i})
        order = wait_until(lambda: wms.visible(f"PROMPT-{i}"), what=f"order PROMPT-{i} on the read side")
        assert order["totalWeight"] == i
    status = present_integration_status(container.queries.integration_status(wms.principal, "http://127.0.0.1/hook"))
    assert status["webhook"]["lastReceivedAt"] is not None


def test_an_update_becomes_visible_on_the_read_side_by_itself(container: Container, wms: Wms) -> None:
    container.start_background()
    wms.send({"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 1})
    wait_until(lambda: wms.visible("A"), what="the first order after start-up")

    wms.send({"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 2})

    wait_until(lambda: (wms.visible("A") or {}).get("version") == 2, what="the update on the read side")


# ---------------------------------------------------------------- exactly once


def test_catching_up_applies_every_event_once_and_again_changes_nothing(container: Container, wms: Wms) -> None:
    some_history(wms)

    container.catch_up()

    assert up_to_date(container)
    assert all(follower.lag() == 0 for follower in container.followers.values())
    before = dumps(container)
    assert [follower.catch_up() for follower in container.followers.values()] == [0] * len(container.followers)
    assert dumps(container) == before
    # Each event counted once: versions match the event store, one log row per delivery.
    for i in range(12):
        order = wms.visible(f"H-{i}")
        assert order is not None
        assert order["version"] == len(list(container.use_cases.events.get(UUID(order["orderId"]))))  # type: ignore[attr-defined]  # the store is typed by its port
    assert len(before["deliveries"]["rm_deliveries"]) == wms.sent


def test_a_rebuild_from_position_zero_gives_the_same_tables(container: Container, wms: Wms) -> None:
    some_history(wms)
    container.catch_up()
    before = dumps(container)

    for name in container.views:
        container.rebuild(name)

    assert dumps(container) == before
    assert up_to_date(container)


def test_a_follower_with_a_stale_position_is_refused_and_writes_nothing(
    settings: Any, container: Container, wms: Wms
) -> None:
    other = build_container(settings)
    try:
        some_history(wms)
        view = other.views["deliveries"]
        stale = view.position()
        container.catch_up()
        before = dumps(container)

        with pytest.raises(TrackingConflictError):
            with view.batch(stale, stale + 1):
                pass

        assert dumps(container) == before
        assert other.followers["deliveries"].catch_up() == 0
    finally:
        other.close()


def test_two_followers_racing_on_one_database_give_the_same_tables_as_one(database_url: str) -> None:
    # Small batches: many tracking moves, so the two really interleave.
    settings = make_settings(database_url, projection_batch_size=3)
    first, second = build_container(settings), build_container(settings)
    try:
        created = first.use_cases.create_tenant("Racing Co")
        wms = Wms(first, TenantKeys(str(created.tenant_id), created.admin_api_key))
        some_history(wms)
        barrier = threading.Barrier(2, timeout=30)

        def catch_up(container: Container) -> None:
            barrier.wait()
            container.catch_up()

        with ThreadPoolExecutor(2) as pool:
            for done in [pool.submit(catch_up, c) for c in (first, second)]:
                done.result(timeout=120)

        assert up_to_date(first)
        raced = dumps(first)
        for name in first.views:
            first.rebuild(name)
        assert dumps(first) == raced
        assert dumps(second) == raced
    finally:
        second.close()
        first.close()


# ---------------------------------------------------------------- supervision


def test_a_follower_whose_queries_fail_keeps_running_and_catches_up(container: Container, wms: Wms) -> None:
    container.start_background()
    wms.send({"externalOrderId": "BEFORE", "deliveryAddress": ADDRESS})
    wait_until(lambda: wms.visible("BEFORE"), what="the first order after start-up")
    failures = {name: container.followers[name].failures for name in CORE_FOLLOWERS}
    tracking = container.db.table("projection_tracking")

    # A real database error for every follower: its tracking table is gone for a moment.
    with container.db.transaction() as cursor:
        cursor.execute(f"ALTER TABLE {tracking} RENAME TO projection_tracking_away")
    try:
        wms.send({"externalOrderId": "DURING", "deliveryAddress": ADDRESS})
        wait_until(
            lambda: all(container.followers[n].failures > failures[n] for n in CORE_FOLLOWERS),
            what="every follower meeting the error",
        )
        assert wms.visible("DURING") is None
    finally:
        with container.db.transaction() as cursor:
            cursor.execute(
                f"ALTER TABLE {container.db.table('projection_tracking_away')} RENAME TO projection_tracking"
            )

    wait_until(lambda: wms.visible("DURING"), what="the order written during the outage")
    wms.send({"externalOrderId": "AFTER", "deliveryAddress": ADDRESS})
    wait_until(lambda: wms.visible("AFTER"), what="an order written after the outage")
    wait_until(lambda: up_to_date(container), what="every read model")


@pytest.fixture
def pg(postgres_schema: str) -> Iterator[tuple[Container, str]]:
    built = build_container(make_settings(postgres_url(postgres_schema)))
    yield built, postgres_schema
    built.close()


def backends(admin: psycopg.Connection[Any], schema: str, *, waiting_only: bool) -> list[int]:
    """Backends of this test alone: their last query names its private schema."""
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND query ILIKE %s" + (" AND wait_event_type = 'Lock'" if waiting_only else ""),
        (f'%"{schema}".%',),
    ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_ON, reason="WMS_INTAKE_TEST_POSTGRES=off")
def test_a_follower_whose_connection_is_killed_is_restarted_not_left_dead(pg: tuple[Container, str]) -> None:
    container, schema = pg
    created = container.use_cases.create_tenant("Acme")
    wms = Wms(container, TenantKeys(str(created.tenant_id), created.admin_api_key))
    container.start_background()
    wms.send({"externalOrderId": "BEFORE", "deliveryAddress": ADDRESS})
    wait_until(lambda: wms.visible("BEFORE"), what="the first order after start-up")

    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        # Hold the followers mid-query (waiting for a lock), then kill their connections.
        with psycopg.connect(POSTGRES_URL) as blocker:
            blocker.execute(f'LOCK TABLE "{schema}"."projection_tracking" IN ACCESS EXCLUSIVE MODE')
            wms.send({"externalOrderId": "DURING", "deliveryAddress": ADDRESS})
            waiting = wait_until(
                lambda: (lambda pids: pids if len(pids) >= len(CORE_FOLLOWERS) else None)(
                    backends(admin, schema, waiting_only=True)
                ),
                what="the followers waiting on the tracking table",
            )
            for pid in waiting:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            blocker.rollback()

        # A killed read is retried on a fresh connection, a killed write fails
        # the follower's step: either way the follower must carry on.
        gone = set(waiting)
        wait_until(
            lambda: not gone & set(backends(admin, schema, waiting_only=False)), what="the killed backends to be gone"
        )
        wait_until(lambda: wms.visible("DURING"), what="the order written while the followers were cut off")

        # Now every connection of this test's pool at once, as a database restart would.
        for pid in backends(admin, schema, waiting_only=False):
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    wms.send({"externalOrderId": "AFTER", "deliveryAddress": ADDRESS})
    wait_until(lambda: wms.visible("AFTER"), what="an order written after the restart")
    wait_until(lambda: up_to_date(container), what="every read model")
