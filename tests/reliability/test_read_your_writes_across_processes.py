"""Read your own writes, across processes: 1,000 write-then-read pairs never see a stale state.

Two ``wms-intake serve`` processes share one database (a PostgreSQL schema,
or one SQLite file). Every pair writes through one process and reads what it
wrote through the other, at once: an order by id and by external id, a
customer, an API key, a pull endpoint, the webhook's state; and the lists
(orders for a date, the delivery log) with ``?after=`` / ``X-Min-Event-Position``
set to the write's ``X-Event-Position``. Eight pairs run at a time; each
worker owns its orders, so the newest write of an order is always its own.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.loadgen import ServerProcess
from interfaces.container import build_container
from tests.support.processes import servers_running
from tests.support.settings import SECRET_KEY, make_settings

PAIRS = 1000
WORKERS = 8
ORDERS_PER_WORKER = 5


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess, dict[str, str]]]:
    container = build_container(make_settings(database_url))
    try:
        created = container.use_cases.create_tenant("Read your writes")
        other = container.use_cases.create_tenant("Webhook toggles")
    finally:
        container.close()
    env = {
        "WMS_INTAKE_GEOCODER": "none",
        "WMS_INTAKE_RATE_LIMIT_PER_SECOND": "0",
        "WMS_INTAKE_SECRET_KEY": SECRET_KEY,
        "WMS_INTAKE_WORKER_THREADS": "8",
        "WMS_INTAKE_DB_POOL_SIZE": "4",
    }
    with servers_running(2, database_url, tmp_path, env) as (a, b):
        yield (
            a,
            b,
            {
                "tenant": str(created.tenant_id),
                "key": created.admin_api_key,
                "other": str(other.tenant_id),
                "other_key": other.admin_api_key,
            },
        )


class Pairs:
    """Runs the pairs and counts what each read saw."""

    def __init__(self, session: aiohttp.ClientSession, urls: tuple[str, str], ids: dict[str, str], secret: str) -> None:
        self.session = session
        self.urls = urls
        self.ids = ids
        self.secret = secret
        self.stale: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.positions: list[int] = []

    def api(self, server: int, path: str, tenant: str = "tenant") -> str:
        return f"{self.urls[server]}/api/tenants/{self.ids[tenant]}{path}"

    def auth(self, tenant: str = "tenant") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ids['key' if tenant == 'tenant' else 'other_key']}"}

    async def write(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any, int]:
        async with self.session.request(method, url, **kwargs) as response:
            body = await response.json() if response.status != 204 else None
            assert response.status < 300, (method, url, response.status, body)
            position = int(response.headers["X-Event-Position"])
            if isinstance(body, dict) and "eventPosition" in body:
                assert body["eventPosition"] == position
            self.positions.append(position)
            return response.status, body, position

    async def read(self, url: str, headers: dict[str, str] | None = None) -> Any:
        async with self.session.get(url, headers={**self.auth(), **(headers or {})}) as response:
            assert response.status == 200, (url, response.status, await response.text())
            return await response.json()

    def check(self, kind: str, ok: bool, what: Any) -> None:
        self.outcomes[kind] += 1
        if not ok:
            self.stale.append(f"{kind}: {what}")

    async def worker(self, k: int, numbers: Iterator[int]) -> None:
        for j, n in enumerate(numbers):
            # Each worker goes through every kind of pair, writing through
            # either process and reading through the other.
            writer = (j + j // 10) % 2
            reader = 1 - writer
            kind = j % 10
            if kind <= 5:
                await self.order_pair(k, n, writer, reader)
            elif kind == 6:
                await self.customer_pair(k, n, writer, reader)
            elif kind == 7 and k == 1:
                # Keys are events of the tenant: issued concurrently, all but one would get a 409.
                await self.api_key_pair(writer, reader)
            elif kind == 8:
                await self.pull_endpoint_pair(n, writer, reader)
            elif k == 0:
                await self.webhook_pair(j // 10 % 2 == 0, writer, reader)
            else:
                await self.order_pair(k, n, writer, reader)

    async def order_pair(self, k: int, n: int, writer: int, reader: int) -> None:
        external = f"W{k}-{n % ORDERS_PER_WORKER}"
        planned = f"2031-01-{k + 1:02d}"
        item = {
            "externalOrderId": external,
            "deliveryAddress": f"{n} Quay St, Leeds LS1 1AA",
            "customerName": f"Customer {n}",
            "totalWeight": n,
            "plannedDate": planned,
        }
        request_id = f"ryw-{k}-{n}-pair"
        _, body, position = await self.write(
            "POST",
            f"{self.urls[writer]}/api/integrations/wms/{self.ids['tenant']}",
            json=item,
            headers={"Authorization": f"Bearer {self.secret}", "X-Request-Id": request_id},
        )
        order_id = body["orders"][0]["orderId"]
        way = n % 3
        if way == 0:
            order = await self.read(self.api(reader, f"/orders/{order_id}"))
            self.check("order by id", (order["totalWeight"], order["customerName"]) == (n, f"Customer {n}"), order)
        elif way == 1:
            order = await self.read(self.api(reader, f"/orders/by-external-id/{external}"))
            self.check(
                "order by external id", (order["totalWeight"], order["customerName"]) == (n, f"Customer {n}"), order
            )
        else:
            page = await self.read(self.api(reader, f"/orders?plannedDate={planned}&after={position}"))
            found = [o for o in page["orders"] if o["externalOrderId"] == external]
            self.check("orders list ?after=", [o["totalWeight"] for o in found] == [n], found)
            log = await self.read(
                self.api(reader, "/integrations/wms/deliveries?limit=50"), {"X-Min-Event-Position": str(position)}
            )
            self.check(
                "delivery log X-Min-Event-Position",
                request_id in {d["requestId"] for d in log["deliveries"]},
                request_id,
            )

    async def customer_pair(self, k: int, n: int, writer: int, reader: int) -> None:
        _, body, _ = await self.write(
            "POST",
            self.api(writer, "/customers"),
            json={"name": f"Shop {n}", "address": f"{n} Mill Lane, York YO1 {k}AA"},
            headers=self.auth(),
        )
        customer = await self.read(self.api(reader, f"/customers/{body['customerId']}"))
        self.check("customer", customer["name"] == f"Shop {n}", customer)

    async def api_key_pair(self, writer: int, reader: int) -> None:
        _, body, _ = await self.write(
            "POST", self.api(writer, "/api-keys"), json={"role": "planner"}, headers=self.auth()
        )
        keys = await self.read(self.api(reader, "/api-keys"))
        self.check("API key", body["id"] in {key["id"] for key in keys["apiKeys"]}, body["id"])

    async def pull_endpoint_pair(self, n: int, writer: int, reader: int) -> None:
        _, body, _ = await self.write(
            "POST",
            self.api(writer, "/integrations/wms/pull-endpoints"),
            json={"url": f"https://wms.example/orders/{n}", "method": "GET"},
            headers=self.auth(),
        )
        listed = await self.read(self.api(reader, "/integrations/wms/pull-endpoints"))
        self.check("pull endpoint", body["id"] in {e["id"] for e in listed["pullEndpoints"]}, body["id"])
        await self.write(
            "PATCH",
            self.api(writer, f"/integrations/wms/pull-endpoints/{body['id']}"),
            json={"intervalMinutes": 60},
            headers=self.auth(),
        )
        status = await self.read(self.api(reader, "/integrations"))
        [endpoint] = [e for e in status["pullEndpoints"] if e["id"] == body["id"]]
        self.check("pull endpoint change", endpoint["intervalMinutes"] == 60, endpoint)

    async def webhook_pair(self, active: bool, writer: int, reader: int) -> None:
        await self.write(
            "PATCH",
            self.api(writer, "/integrations/wms/webhook", "other"),
            json={"active": active},
            headers=self.auth("other"),
        )
        async with self.session.get(self.api(reader, "/integrations", "other"), headers=self.auth("other")) as response:
            status = await response.json()
        self.check("webhook state", status["webhook"]["active"] is active, status)


async def run_pairs(a: ServerProcess, b: ServerProcess, ids: dict[str, str]) -> Pairs:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        secrets = []
        for tenant in ("tenant", "other"):
            key = ids["key" if tenant == "tenant" else "other_key"]
            async with session.post(
                f"{a.base_url}/api/tenants/{ids[tenant]}/integrations/wms/webhook",
                headers={"Authorization": f"Bearer {key}"},
            ) as response:
                assert response.status == 201
                secrets.append((await response.json())["secret"])
        pairs = Pairs(session, (a.base_url, b.base_url), ids, secrets[0])
        # Worker k takes the pair numbers k, k + 8, k + 16, …: 1,000 in all.
        await asyncio.gather(
            *(
                pairs.worker(k, iter(itertools.islice(itertools.count(k, WORKERS), PAIRS // WORKERS)))
                for k in range(WORKERS)
            )
        )
        return pairs


def test_a_thousand_writes_read_at_once_through_another_process_are_never_stale(
    two_servers: tuple[ServerProcess, ServerProcess, dict[str, str]],
) -> None:
    a, b, ids = two_servers
    pairs = asyncio.run(run_pairs(a, b, ids))
    assert sum(pairs.outcomes.values()) >= PAIRS, pairs.outcomes
    assert pairs.stale == [], (len(pairs.stale), pairs.stale[:5], pairs.outcomes)
    assert {
        "order by id",
        "order by external id",
        "orders list ?after=",
        "customer",
        "API key",
        "pull endpoint",
        "webhook state",
    } <= set(pairs.outcomes), pairs.outcomes
