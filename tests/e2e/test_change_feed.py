"""The change feed, ``GET /api/tenants/{t}/orders/changes``, over real HTTP on both stores.

A consumer following ``nextCursor`` sees every version of every order of its
tenant exactly once, in commit order, with the fields changed and the whole new
state; it never sees another tenant's; a long poll answers when a change arrives.
The big test tails the feed while orders are posted concurrently, in batches
and singly, through two ``wms-intake serve`` processes on one database, and
checks the consumer's final picture against the read model.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient

from bench.loadgen import ServerProcess
from interfaces.container import Container
from tests.support.http import TenantKeys, Webhook, accept_orders
from tests.support.processes import servers_running
from tests.support.settings import SECRET_KEY

ADDRESS = "10 High Street, London SW1A 1AA"


async def changes(
    client: TestClient, tenant: TenantKeys, after: str = "0", key: str | None = None, **params: str
) -> dict[str, Any]:
    response = await client.get(
        f"/api/tenants/{tenant.tenant_id}/orders/changes", params={"after": after, **params}, headers=tenant.auth(key)
    )
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_a_consumer_sees_each_version_once_in_order_with_changes_and_state(
    client: TestClient, webhook: Webhook, make_tenant: Any
) -> None:
    tenant = webhook.tenant
    await accept_orders(
        client,
        webhook,
        [
            {"externalOrderId": "F-1", "deliveryAddress": ADDRESS, "palletCount": 1},
            {"externalOrderId": "F-2", "deliveryAddress": ADDRESS},
        ],
    )
    await accept_orders(
        client,
        webhook,
        {"externalOrderId": "F-1", "deliveryAddress": ADDRESS, "palletCount": 2, "latitude": 51.5, "longitude": -0.1},
    )
    await accept_orders(
        client, webhook, {"externalOrderId": "F-1", "deliveryAddress": ADDRESS, "palletCount": 2}
    )  # no change
    # Another tenant's orders never show in this feed.
    other = make_tenant("Other Co")
    response = await client.post(f"/api/tenants/{other.tenant_id}/integrations/wms/webhook", headers=other.auth())
    other_hook = Webhook(other, "", (await response.json())["secret"])
    await accept_orders(client, other_hook, {"externalOrderId": "F-1", "deliveryAddress": ADDRESS})

    first = await changes(client, tenant, limit="2")
    assert [(c["externalOrderId"], c["version"], c["type"]) for c in first["changes"]] == [
        ("F-1", 1, "OrderCreated"),
        ("F-2", 1, "OrderCreated"),
    ]
    assert first["changes"][0]["changes"]["palletCount"] == 1
    second = await changes(client, tenant, after=first["nextCursor"])
    [update] = second["changes"]
    assert (update["externalOrderId"], update["version"], update["type"]) == ("F-1", 2, "OrderUpdated")
    assert update["changes"] == {"palletCount": 2, "latitude": 51.5, "longitude": -0.1}
    state = update["state"]
    assert (state["palletCount"], state["deliveryAddress"], state["version"], state["latitude"]) == (
        2,
        ADDRESS,
        2,
        51.5,
    )
    assert int(update["position"]) > int(first["changes"][-1]["position"])
    # Caught up: nothing more, and the cursor stays usable.
    last = await changes(client, tenant, after=second["nextCursor"])
    assert last["changes"] == [] and int(last["nextCursor"]) >= int(second["nextCursor"])
    other_feed = await changes(client, other)
    assert [(c["externalOrderId"], c["version"]) for c in other_feed["changes"]] == [("F-1", 1)]

    for role in ("planner", "auditor"):
        response = await client.post(
            f"/api/tenants/{tenant.tenant_id}/api-keys", json={"role": role}, headers=tenant.auth()
        )
        key = (await response.json())["apiKey"]
        assert len((await changes(client, tenant, key=key))["changes"]) == 3
    assert (await client.get(f"/api/tenants/{other.tenant_id}/orders/changes", headers=tenant.auth())).status == 404


@pytest.mark.parametrize("query", ["after=-1", "after=x", "limit=0", "limit=1001", "wait=31", "wait=1.5"])
async def test_bad_parameters_get_400(client: TestClient, tenant: TenantKeys, query: str) -> None:
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/orders/changes?{query}", headers=tenant.auth())
    assert response.status == 400


async def test_a_long_poll_answers_with_the_change_that_arrives(client: TestClient, webhook: Webhook) -> None:
    tenant = webhook.tenant
    cursor = (await changes(client, tenant))["nextCursor"]
    polling = asyncio.create_task(changes(client, tenant, after=cursor, wait="20"))
    await asyncio.sleep(0.1)  # let the poll start waiting (it would answer either way)
    await accept_orders(client, webhook, {"externalOrderId": "LATE-1", "deliveryAddress": ADDRESS})
    answer = await asyncio.wait_for(polling, 20)
    assert [c["externalOrderId"] for c in answer["changes"]] == ["LATE-1"]


# ---------------------------------------------------------------------- tailing under concurrent load


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two ``wms-intake serve`` processes on the test's database."""
    env = {
        "WMS_INTAKE_RATE_LIMIT_PER_SECOND": "0",
        "WMS_INTAKE_LOG_LEVEL": "WARNING",
        "WMS_INTAKE_SECRET_KEY": SECRET_KEY,
    }
    with servers_running(2, database_url, tmp_path, env) as (one, two):
        yield one, two


async def test_a_tailing_consumer_sees_every_version_of_every_order_once_in_order_under_concurrent_load(
    servers: tuple[ServerProcess, ServerProcess], client: TestClient, webhook: Webhook, container: Container, store: str
) -> None:
    # PostgreSQL: 20,000 orders; SQLite (one writer at a time): 2,000.
    orders = 20_000 if store == "postgres" else 2_000
    batch_size = 200
    singles = orders // 10
    batched = orders - singles
    rng = random.Random(7)
    tenant = webhook.tenant
    bases = [server.base_url for server in servers]

    seen: dict[str, list[int]] = {}
    states: dict[str, dict[str, Any]] = {}
    positions: list[int] = []
    writing = True

    async with aiohttp.ClientSession() as session:

        async def send(n: int, payload: Any) -> None:
            async with session.post(
                bases[n % 2] + webhook.path, data=orjson.dumps(payload), headers=webhook.headers()
            ) as response:
                assert response.status == 200, await response.text()

        async def consume() -> None:
            cursor = "0"
            while True:
                async with session.get(
                    f"{bases[0]}/api/tenants/{tenant.tenant_id}/orders/changes",
                    params={"after": cursor, "limit": "1000", "wait": "1"},
                    headers=tenant.auth(),
                ) as response:
                    assert response.status == 200, await response.text()
                    page = await response.json()
                for change in page["changes"]:
                    positions.append(int(change["position"]))
                    seen.setdefault(change["orderId"], []).append(change["version"])
                    states[change["orderId"]] = change["state"]
                cursor = page["nextCursor"]
                if not writing and not page["changes"]:
                    return

        async def send_batches(worker: int) -> None:
            for start in range(worker * batch_size, batched, batch_size * 4):
                await send(
                    worker,
                    [
                        {"externalOrderId": f"B-{n}", "deliveryAddress": ADDRESS, "palletCount": n % 7}
                        for n in range(start, min(start + batch_size, batched))
                    ],
                )
                # Now and then a batch updates earlier orders (second and third versions).
                if start and rng.random() < 0.3:
                    earlier = rng.sample(range(0, start), min(batch_size, start))
                    await send(
                        worker + 1,
                        [
                            {
                                "externalOrderId": f"B-{n}",
                                "deliveryAddress": ADDRESS,
                                "totalWeight": rng.randint(1, 10**6),
                            }
                            for n in earlier
                        ],
                    )

        async def send_singles(worker: int) -> None:
            for n in range(worker, singles, 16):
                await send(n, {"externalOrderId": f"S-{n}", "deliveryAddress": ADDRESS, "plannedDate": "2025-02-22"})

        started = time.monotonic()
        consumer = asyncio.create_task(consume())
        await asyncio.gather(*(send_batches(w) for w in range(4)), *(send_singles(w) for w in range(16)))
        writing = False
        await asyncio.wait_for(consumer, 60)

    assert positions == sorted(positions) and len(positions) == len(set(positions))
    assert len(seen) == orders
    for versions in seen.values():
        assert versions == list(range(1, len(versions) + 1))
    # The final picture equals the read model once it has caught up.
    container.catch_up()
    rows = container.db.query(
        f"SELECT order_id, version, pallet_count, total_weight, planned_date, delivery_address "
        f"FROM {container.db.table('rm_orders')} WHERE tenant_id = %s",
        (tenant.tenant_id,),
    )
    assert len(rows) == orders
    for row in rows:
        state = states[row["order_id"]]
        assert (
            state["version"],
            state["palletCount"],
            state["totalWeight"],
            state["plannedDate"],
            state["deliveryAddress"],
        ) == (row["version"], row["pallet_count"], row["total_weight"], row["planned_date"], row["delivery_address"])
        assert seen[row["order_id"]][-1] == row["version"]
    print(f"{store}: {orders} orders, {len(positions)} changes tailed in {time.monotonic() - started:.1f} s")
