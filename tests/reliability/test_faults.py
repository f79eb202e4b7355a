"""Faults injected into a real PostgreSQL: a 200 means all stored, anything else none.

Connections are killed with ``pg_terminate_backend`` from a connection of our
own, the link to the database is cut and restored, the server process is
SIGKILLed in the middle of a save, and (last in the session, marked
``disruptive``) PostgreSQL itself is stopped and started again. Only this
test's schema is touched by the kills: other tests share the server.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient

from application.read_models import OrderFilter
from bench.loadgen import ServerProcess
from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from interfaces.http.app import create_app
from tests.reliability.conftest import (
    BackendKiller,
    CuttableLink,
    admin_connection,
    busy_backends,
    count_topic,
    on_postgres,
    pg_cluster,
    postgres_only,
    read_models_equal_a_rebuild,
    routes_of,
    schema_of,
    wait_for_postgres,
)
from tests.support.http import TenantKeys, Webhook, post_orders
from tests.support.intake import receive
from tests.support.settings import make_settings, postgres_url
from tests.support.waits import eventually, wait_until

TIMEOUT = aiohttp.ClientTimeout(total=90)


# Every test of this module: a request waits at most 1 s for a connection
# before its 503; no geocoding (not under test here, and it costs CPU).
pytestmark = [postgres_only, pytest.mark.settings(db_connect_timeout=1, geocoder="none")]


def orders(prefix: str, count: int) -> list[dict[str, Any]]:
    """``count`` new orders, each with its own address (so its own new customer)."""
    return [
        {
            "externalOrderId": f"{prefix}-{i:05d}",
            "deliveryAddress": f"{i} {prefix} Street, London SW1A 1AA",
            "totalWeight": 1.5,
            "plannedDate": "2025-03-01",
        }
        for i in range(count)
    ]


def stored_orders(container: Container, tenant_id: str, prefix: str) -> int:
    """Orders of ``prefix`` in the event store (their creation events)."""
    needle = f'"{prefix}-'.encode()
    return sum(
        1
        for n in container.use_cases.recorder.select_notifications(start=None, limit=1_000_000)
        if n.topic == "wms-intake:OrderCreated" and needle in n.state and tenant_id.encode() in n.state
    )


def insert_killer(container: Container, limit: int | None) -> BackendKiller:
    schema = schema_of(container)
    return BackendKiller(schema, event_insert(schema), limit=limit).start()


def event_insert(schema: str) -> tuple[str, ...]:
    """What the statements that write events start with: a large batch is sent by COPY."""
    return (f'INSERT INTO "{schema}"."wmsintake_events"', f'COPY "{schema}"."wmsintake_events"')


# ---------------------------------------------------------------------- a killed connection


@on_postgres
async def test_a_connection_killed_in_the_middle_of_a_large_batch_leaves_it_whole_or_absent(
    client: TestClient, webhook: Webhook, container: Container
) -> None:
    killer = insert_killer(container, limit=1)
    try:
        status, body, headers = await post_orders(client, webhook, orders("K", 5000), timeout=TIMEOUT)
    finally:
        killer.stop()

    assert killer.kills, "the insert's connection was killed while it ran"
    stored = stored_orders(container, webhook.tenant.tenant_id, "K")
    # The driver may retry the transaction on a fresh connection: then the
    # request succeeds whole. Otherwise it fails whole, with a 503.
    if status == 200:
        assert body["processed"] == 5000 and stored == 5000
    else:
        assert (status, body) == (503, {"error": body["error"]}) and headers["Retry-After"]
        assert stored == 0
    status, _, _ = await post_orders(client, webhook, orders("K-next", 3), timeout=TIMEOUT)
    assert status == 200


@on_postgres
async def test_a_database_that_keeps_dropping_the_connection_gets_503_with_retry_after_and_nothing_stored(
    client: TestClient, webhook: Webhook, container: Container
) -> None:
    accepted_before = count_topic(container, "wms-intake:DeliveryAccepted")
    killer = insert_killer(container, limit=None)
    try:
        status, body, headers = await post_orders(client, webhook, orders("P", 2000), timeout=TIMEOUT)
    finally:
        killer.stop()

    assert len(killer.kills) > 1
    assert status == 503
    assert set(body) == {"error"} and "database" in body["error"]
    assert int(headers["Retry-After"]) >= 1 and headers["X-Request-Id"]
    assert stored_orders(container, webhook.tenant.tenant_id, "P") == 0
    assert count_topic(container, "wms-intake:DeliveryAccepted") == accepted_before

    # The next request gets a fresh connection and succeeds.
    status, body, _ = await post_orders(client, webhook, orders("P", 2000), timeout=TIMEOUT)
    assert status == 200 and body["processed"] == 2000
    assert stored_orders(container, webhook.tenant.tenant_id, "P") == 2000


@on_postgres
def test_a_projection_whose_connection_is_killed_resumes_and_equals_a_rebuild(database_url: str) -> None:
    # Small projection batches: the catch-up takes many transactions to kill.
    container = build_container(make_settings(database_url, projection_batch_size=100, geocoder="none"))
    try:
        app = container.use_cases
        tenant = app.create_tenant("Projection faults")
        for n in range(6):
            receive(app, tenant.tenant_id, orders(f"R{n}", 200), f"projection-fault-{n}")
        schema = schema_of(container)
        killer = BackendKiller(schema, ("projection_tracking", '"rm_'), limit=3).start()
        container.start_background()
        try:
            assert killer.wait_for_kills(3, within=30), f"kills: {killer.kills}"
        finally:
            killer.stop()
        wait_until(lambda: not any(container.projection_lags().values()), within=60)

        # A kill lands on a follower's own transaction (a failure it recovers
        # from) or on a read the driver retries by itself; either way, what
        # must hold is that every read model ends complete and equal to a rebuild.
        assert len(killer.kills) >= 3
        assert container.views["orders"].list_orders(str(tenant.tenant_id), OrderFilter(), 1, None).items
        rows = container.db.query(f"SELECT count(*) AS n FROM {container.db.table('rm_orders')}")
        assert rows[0]["n"] == 6 * 200
        assert all(read_models_equal_a_rebuild(container).values())
    finally:
        container.close()


# ---------------------------------------------------------------------- the link to the database cut


@pytest.fixture
def linked_container(link: CuttableLink, postgres_schema: str) -> Iterator[Container]:
    container = build_container(make_settings(link.url(postgres_schema), db_connect_timeout=1, geocoder="none"))
    yield container
    container.close()


@pytest.fixture
async def linked_client(aiohttp_client: Any, linked_container: Container) -> TestClient:
    return await aiohttp_client(create_app(linked_container))


async def test_while_the_database_is_unreachable_every_route_answers_503_or_works_and_nothing_is_a_500(
    linked_client: TestClient, linked_container: Container, link: CuttableLink
) -> None:
    client = linked_client
    created = linked_container.use_cases.create_tenant("Cut link")
    tenant = TenantKeys(str(created.tenant_id), created.admin_api_key)
    response = await client.post(f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=tenant.auth())
    hook = Webhook(tenant, "", (await response.json())["secret"])
    status, _, _ = await post_orders(client, hook, orders("L", 5), timeout=TIMEOUT)
    assert status == 200

    async def answer(method: str, path: str) -> tuple[str, tuple[int, str | None]]:
        response = await client.request(
            method, path, headers={**tenant.auth(), "Content-Type": "application/json"}, data=b"{}", timeout=TIMEOUT
        )
        await response.read()
        return f"{method} {path}", (response.status, response.headers.get("Retry-After"))

    link.cut()
    try:
        answers = dict(
            await asyncio.gather(
                *(answer(m, p) for m, p in routes_of(client.server.app, {"tenantId": tenant.tenant_id}))
            )
        )
        status, body, headers = await post_orders(client, hook, orders("L-cut", 5), timeout=TIMEOUT)
        ready = await client.get("/readyz", timeout=TIMEOUT)
    finally:
        link.restore()

    assert (status, int(headers["Retry-After"])) == (503, 1), body
    assert ready.status == 503 and ready.headers["Retry-After"]
    assert (await client.get("/healthz")).status == 200
    broken = {
        route: answer for route, answer in answers.items() if answer[0] >= 500 and (answer[0] != 503 or not answer[1])
    }
    assert not broken, broken
    assert answers[f"GET /api/tenants/{tenant.tenant_id}/orders"][0] == 503

    # Back without a restart: readiness, writes, and the read model.
    async def ready_again() -> bool:
        return (await client.get("/readyz", timeout=TIMEOUT)).status == 200

    await eventually(ready_again, within=30)
    status, _, _ = await post_orders(client, hook, orders("L-after", 5), timeout=TIMEOUT)
    assert status == 200
    assert stored_orders(linked_container, tenant.tenant_id, "L-cut") == 0

    async def shown() -> bool:
        response = await client.get(f"/api/tenants/{tenant.tenant_id}/orders?limit=1000", headers=tenant.auth())
        return response.status == 200 and len((await response.json())["orders"]) == 10

    await eventually(shown, within=30)


# ---------------------------------------------------------------------- the server process killed


def test_a_server_killed_while_saving_5000_orders_has_them_all_or_none_after_restart(
    postgres_schema: str, tmp_path: Path
) -> None:
    url = postgres_url(postgres_schema)
    checker = build_container(Settings(database_url=url, db_pool_size=1, db_max_overflow=2, worker_threads=2))
    quiet = {"WMS_INTAKE_GEOCODER": "none"}
    server = ServerProcess(url, tmp_path / "server.log", env=quiet)
    restarted = ServerProcess(url, tmp_path / "restarted.log", env=quiet)
    try:
        created = checker.use_cases.create_tenant("Killed server")
        tenant = TenantKeys(str(created.tenant_id), created.admin_api_key)
        server.start()
        secret = asyncio.run(_connect(server.base_url, tenant))
        # Acknowledged before the crash: must survive it.
        assert asyncio.run(_post_raw(server.base_url, tenant.tenant_id, secret, orders("ACK", 50))) == 200
        accepted_before = count_topic(checker, "wms-intake:DeliveryAccepted", tenant.tenant_id)

        saving = threading.Event()

        def kill_while_the_insert_runs() -> None:
            with admin_connection() as conn:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if busy_backends(conn, postgres_schema, event_insert(postgres_schema)):
                        saving.set()
                        server.kill()
                        return
                    time.sleep(0.002)

        killer = threading.Thread(target=kill_while_the_insert_runs, daemon=True)
        killer.start()
        outcome = asyncio.run(_post_raw(server.base_url, tenant.tenant_id, secret, orders("BIG", 5000)))
        killer.join(60)
        assert saving.is_set(), f"the save was not seen running; the request got {outcome}"
        assert outcome == "no answer"

        # PostgreSQL rolls back the dead client's transaction once it notices.
        with admin_connection() as conn:
            wait_until(lambda: not busy_backends(conn, postgres_schema, ("wmsintake_events",)), within=30)
        stored = stored_orders(checker, tenant.tenant_id, "BIG")
        accepted = count_topic(checker, "wms-intake:DeliveryAccepted", tenant.tenant_id) - accepted_before
        assert (stored, accepted) in ((0, 0), (5000, 1))
        assert stored_orders(checker, tenant.tenant_id, "ACK") == 50

        restarted.start()
        status = asyncio.run(_post_raw(restarted.base_url, tenant.tenant_id, secret, orders("NEXT", 3)))
        assert status == 200
        wait_until(lambda: not any(checker.projection_lags().values()), within=60)
        rows = checker.db.query(
            f"SELECT count(*) AS n FROM {checker.db.table('rm_orders')} WHERE tenant_id = %s", (tenant.tenant_id,)
        )
        assert rows[0]["n"] == 50 + stored + 3
    finally:
        server.kill()
        restarted.stop()
        checker.close()


async def _connect(base_url: str, tenant: TenantKeys) -> str:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.post(
            f"{base_url}/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=tenant.auth()
        ) as response:
            assert response.status == 201
            return str((await response.json())["secret"])


async def _post_raw(base_url: str, tenant_id: str, secret: str, items: list[dict[str, Any]]) -> int | str:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            async with session.post(
                f"{base_url}/api/integrations/wms/{tenant_id}", data=orjson.dumps(items), headers=headers
            ) as response:
                await response.read()
                return response.status
    except (TimeoutError, aiohttp.ClientError):
        return "no answer"


# ---------------------------------------------------------------------- PostgreSQL stopped and started


@pytest.mark.disruptive
@on_postgres
async def test_postgresql_stopped_and_started_under_traffic_gives_503s_then_recovers_without_a_restart(
    client: TestClient, webhook: Webhook, container: Container
) -> None:
    status, _, _ = await post_orders(client, webhook, orders("before", 20), timeout=TIMEOUT)
    assert status == 200
    wait_until(lambda: not any(container.projection_lags().values()), within=30)
    positions = {name: view.position() for name, view in container.views.items()}

    sent: list[tuple[str, int | None, str | None]] = []
    readiness: list[int] = []
    stop = asyncio.Event()

    async def traffic() -> None:
        n = 0
        while not stop.is_set():
            prefix = f"live{n:04d}"
            n += 1
            try:
                response = await client.post(
                    webhook.path, data=orjson.dumps(orders(prefix, 3)), headers=webhook.headers(), timeout=TIMEOUT
                )
                await response.read()
                sent.append((prefix, response.status, response.headers.get("Retry-After")))
            except (TimeoutError, aiohttp.ClientError):
                sent.append((prefix, None, None))
            readiness.append((await client.get("/readyz", timeout=TIMEOUT)).status)
            await asyncio.sleep(0.05)

    running = asyncio.create_task(traffic())
    try:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(pg_cluster, "stop")
        try:
            # Down for as short as we can: until the service has reported it.
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline and not (503 in readiness and any(s == 503 for _, s, _ in sent)):
                await asyncio.sleep(0.05)
        finally:
            await asyncio.to_thread(pg_cluster, "start")
        await asyncio.to_thread(wait_for_postgres)

        async def recovered() -> bool:
            return bool(readiness) and readiness[-1] == 200 and bool(sent) and sent[-1][1] == 200

        await eventually(recovered, within=60)
    finally:
        stop.set()
        await running

    assert 503 in readiness
    statuses = {status for _, status, _ in sent}
    assert 503 in statuses and statuses <= {200, 503}, sent
    assert all(retry for _, status, retry in sent if status == 503)
    wait_until(lambda: not any(container.projection_lags().values()), within=60)
    tenant_id = webhook.tenant.tenant_id
    for prefix, status, _ in sent:
        assert stored_orders(container, tenant_id, prefix) == (3 if status == 200 else 0), (prefix, status)
    # The read models went on from where they were, and equal a replay from scratch.
    assert all(container.views[name].position() >= position for name, position in positions.items())
    acknowledged = 20 + 3 * sum(1 for _, status, _ in sent if status == 200)
    assert len(container.views["orders"].list_orders(tenant_id, OrderFilter(), 1000, None).items) == acknowledged
    assert all(read_models_equal_a_rebuild(container).values())
