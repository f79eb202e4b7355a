"""Read your own writes over HTTP: positions out on writes, bounded waits on reads.

Across two processes under load: ``tests/reliability/test_read_your_writes_across_processes.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from interfaces.container import Container, build_container
from interfaces.http.app import create_app
from tests.support.http import TenantKeys, Webhook
from tests.support.settings import make_settings


async def written(response: Any) -> tuple[int, Any]:
    """The position a write answered with (header), and its body."""
    assert response.status < 300, (response.status, await response.text())
    body = await response.json() if response.status != 204 else None
    return int(response.headers["X-Event-Position"]), body


async def test_every_write_answers_with_its_position_in_a_header_and_in_the_bodies_it_owns(
    client: TestClient, tenant: TenantKeys
) -> None:
    api, auth = f"/api/tenants/{tenant.tenant_id}", tenant.auth()
    positions = []

    position, body = await written(await client.post(f"{api}/integrations/wms/webhook", headers=auth))
    assert body["eventPosition"] == position
    positions.append(position)
    secret = body["secret"]

    # The webhook's documented body stays exactly as documented: the position is in the header only.
    response = await client.post(
        f"/api/integrations/wms/{tenant.tenant_id}",
        data=b'{"externalOrderId":"P-1","deliveryAddress":"1 A St"}',
        headers={"Authorization": f"Bearer {secret}"},
    )
    position, body = await written(response)
    assert set(body) == {"accepted", "processed", "orders"}
    positions.append(position)

    for method, path, payload in [
        ("POST", "/customers", {"name": "Shop", "address": "2 B St"}),
        ("POST", "/api-keys", {"role": "auditor"}),
        ("POST", "/integrations/wms/webhook/secret", None),
        ("PATCH", "/integrations/wms/webhook", {"active": False}),
        ("POST", "/integrations/wms/pull-endpoints", {"url": "https://wms.example/o", "method": "GET"}),
    ]:
        position, body = await written(await client.request(method, api + path, json=payload, headers=auth))
        assert body["eventPosition"] == position, path
        positions.append(position)
        if path.endswith("pull-endpoints"):
            endpoint = body["id"]
        if path == "/api-keys":
            key_id = body["id"]

    position, body = await written(
        await client.patch(
            f"{api}/integrations/wms/pull-endpoints/{endpoint}", json={"intervalMinutes": 5}, headers=auth
        )
    )
    assert body["eventPosition"] == position
    positions.append(position)
    for path in (f"/integrations/wms/pull-endpoints/{endpoint}", f"/api-keys/{key_id}"):
        position, _ = await written(await client.delete(api + path, headers=auth))
        positions.append(position)
    assert positions == sorted(set(positions)), "each write is later in the event store than the one before"

    # A write that changed nothing (deactivating again) names the current position.
    position, body = await written(
        await client.patch(f"{api}/integrations/wms/webhook", json={"active": False}, headers=auth)
    )
    assert body["eventPosition"] == position >= positions[-1]


@pytest.fixture
def stopped_read_models(database_url: str) -> Iterator[Container]:
    """A service whose read models do not follow the event store (nothing runs them)."""
    container = build_container(make_settings(database_url, read_wait_seconds=0.3))
    yield container
    container.close()


@pytest.fixture
async def still(aiohttp_client: Any, stopped_read_models: Container) -> TestClient:
    return await aiohttp_client(create_app(stopped_read_models, run_background=False))


async def test_a_read_waits_for_the_read_model_and_past_the_bound_answers_503_with_retry_after(
    still: TestClient, stopped_read_models: Container
) -> None:
    created = stopped_read_models.use_cases.create_tenant("Acme")
    tenant = TenantKeys(str(created.tenant_id), created.admin_api_key)
    api, auth = f"/api/tenants/{tenant.tenant_id}", tenant.auth()
    _, hook = await written(await still.post(f"{api}/integrations/wms/webhook", headers=auth))
    webhook = Webhook(tenant, hook["webhookUrl"], hook["secret"])
    response = await still.post(
        webhook.path,
        data=orjson.dumps({"externalOrderId": "W-1", "deliveryAddress": "1 A St", "plannedDate": "2030-05-01"}),
        headers=webhook.headers(),
    )
    position, body = await written(response)
    order_id = body["orders"][0]["orderId"]

    reads = [
        (f"{api}/orders/{order_id}", {}),
        (f"{api}/orders/by-external-id/W-1", {}),
        (f"{api}/orders?plannedDate=2030-05-01&after={position}", {}),
        (f"{api}/orders?plannedDate=2030-05-01", {"X-Min-Event-Position": str(position)}),
        (f"{api}/integrations/wms/deliveries?after={position}", {}),
        (f"{api}/integrations", {}),
        (f"{api}/integrations/wms/pull-endpoints", {}),
    ]
    for path, headers in reads:
        response = await still.get(path, headers={**auth, **headers})
        assert response.status == 503, (path, response.status)
        assert int(response.headers["Retry-After"]) >= 1
        assert "has not reached position" in (await response.json())["error"]

    # What the event store has never seen is not worth waiting for.
    missing = await still.get(f"{api}/orders/00000000-0000-4000-8000-000000000000", headers=auth)
    assert missing.status == 404
    assert (await still.get(f"{api}/orders/by-external-id/NOPE", headers=auth)).status == 404

    stopped_read_models.catch_up()
    order = await (await still.get(f"{api}/orders/{order_id}", headers=auth)).json()
    assert order["externalOrderId"] == "W-1" and order["plannedDate"] == "2030-05-01"
    for path, headers in reads:
        response = await still.get(path, headers={**auth, **headers})
        assert response.status == 200, (path, response.status)
    page = await (await still.get(f"{api}/orders?plannedDate=2030-05-01&after={position}", headers=auth)).json()
    assert [o["orderId"] for o in page["orders"]] == [order_id]


async def test_a_position_that_is_not_one_gets_400(client: TestClient, tenant: TenantKeys) -> None:
    api, auth = f"/api/tenants/{tenant.tenant_id}", tenant.auth()
    for query, headers in [
        ("?after=abc", {}),
        ("?after=-1", {}),
        ("?after=1.5", {}),
        (f"?after={2**63}", {}),
        ("", {"X-Min-Event-Position": "soon"}),
        # Beyond anything the event store holds: no write ever answered with it.
        ("?after=999999999", {}),
    ]:
        response = await client.get(f"{api}/orders{query}", headers={**auth, **headers})
        assert response.status == 400, (query, headers, response.status)
        assert "position" in (await response.json())["error"]
