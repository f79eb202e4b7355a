"""While PostgreSQL is unreachable every route answers 503 at once, and the service recovers by itself.

The database is cut off through a relay (other users of the server are not
disturbed). Each request gets a client deadline of a few seconds: an answer
that waits for the driver's retries (ten attempts, each waiting for a pooled
connection) misses it. After the relay is restored, the service answers
again without a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient

from interfaces.container import Container, build_container
from interfaces.http.app import create_app
from tests.reliability.conftest import CuttableLink, postgres_only, routes_of
from tests.support.http import TenantKeys
from tests.support.settings import make_settings
from tests.support.waits import eventually

pytestmark = postgres_only

#: "About a second", with room for a busy machine.
DEADLINE = aiohttp.ClientTimeout(total=4)
ORDER = {"externalOrderId": "FAST-1", "deliveryAddress": "10 High Street, London SW1A 1AA"}


@pytest.fixture
def linked(link: CuttableLink, postgres_schema: str) -> Iterator[Container]:
    # The default wait for a pooled connection (5 s): the gate, not a short timeout, makes it fast.
    container = build_container(make_settings(link.url(postgres_schema), geocoder="none"))
    yield container
    container.close()


async def test_every_route_answers_503_with_retry_after_within_seconds_of_the_database_going_away_and_recovers(
    aiohttp_client: Any, linked: Container, link: CuttableLink
) -> None:
    client: TestClient = await aiohttp_client(create_app(linked))
    created = linked.use_cases.create_tenant("Fast failure")
    tenant = TenantKeys(str(created.tenant_id), created.admin_api_key)
    response = await client.post(f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=tenant.auth())
    secret = (await response.json())["secret"]
    hook_headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    hook_path = f"/api/integrations/wms/{tenant.tenant_id}"
    response = await client.post(hook_path, data=orjson.dumps(ORDER), headers=hook_headers)
    order_id = (await response.json())["orders"][0]["orderId"]
    fill = {"tenantId": tenant.tenant_id, "orderId": order_id}

    async def answer(method: str, path: str, headers: dict[str, str], body: bytes = b"{}") -> tuple[int, str | None]:
        try:
            async with client.request(method, path, headers=headers, data=body, timeout=DEADLINE) as response:
                await response.read()
                return response.status, response.headers.get("Retry-After")
        except TimeoutError:
            return 0, "no answer within the deadline"

    admin = {**tenant.auth(), "Content-Type": "application/json"}
    prefix = f"/api/tenants/{tenant.tenant_id}/orders/{order_id}"
    named = {
        "history": ("GET", f"{prefix}/history"),
        "as of a version": ("GET", f"{prefix}?asOfVersion=1"),
        "as of a moment": ("GET", f"{prefix}?asOf=2030-01-01T00:00:00Z"),
        "metrics": ("GET", "/metrics"),
        "readiness": ("GET", "/readyz"),
    }
    everything = [(m, p) for m, p in routes_of(client.server.app, fill) if not p.startswith("/dashboard/static")]

    link.cut()
    try:
        # A request already using a pooled connection when the link goes: its statement fails.
        first = await answer("GET", f"{prefix}/history", admin, b"")
        answers = {}
        for method, path in everything:
            answers[f"{method} {path}"] = await answer(method, path, admin)
        for name, (method, path) in named.items():
            answers[name] = await answer(method, path, admin, b"")
        answers["webhook"] = await answer("POST", hook_path, hook_headers, orjson.dumps(ORDER))
    finally:
        link.restore()

    assert first == (503, "1"), first
    slow_or_wrong = {
        route: got for route, got in answers.items() if got[0] == 0 or (got[0] >= 500 and (got[0] != 503 or not got[1]))
    }
    assert not slow_or_wrong, slow_or_wrong
    for name in (*named, "webhook"):
        assert answers[name][0] == 503, (name, answers[name])

    # Back by itself: no restart, every one of those routes answers again.
    async def recovered() -> bool:
        status, _ = await answer("GET", f"{prefix}/history", admin, b"")
        return status == 200

    await eventually(recovered, within=30)
    for name, (method, path) in named.items():
        assert (await answer(method, path, admin, b""))[0] == 200, name
    assert (await answer("POST", hook_path, hook_headers, orjson.dumps(ORDER)))[0] == 200
