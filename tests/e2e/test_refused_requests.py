"""Refused webhook requests show in the integration status, by reason, with
the last time, without a row per request.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from interfaces.container import Container
from tests.support.http import TenantKeys, Webhook
from tests.support.waits import eventually


async def refused(client: TestClient, tenant: TenantKeys) -> dict[str, Any]:
    async def connected() -> Any:
        response = await client.get(f"/api/tenants/{tenant.tenant_id}/integrations", headers=tenant.auth())
        assert response.status == 200
        return (await response.json())["webhook"]

    return (await eventually(connected))["refusedRequests"]  # type: ignore[no-any-return]  # the presented body is untyped JSON


async def test_wrong_secrets_and_a_deactivated_webhook_are_counted_by_reason_with_the_last_time(
    client: TestClient, webhook: Webhook, tenant: TenantKeys, container: Container
) -> None:
    assert await refused(client, tenant) == {
        "wrongSecret": {"count": 0, "lastAt": None},
        "deactivated": {"count": 0, "lastAt": None},
    }
    order = orjson.dumps({"externalOrderId": "R-1", "deliveryAddress": "1 High St, York YO1 7HH"})
    for _ in range(12):
        response = await client.post(webhook.path, data=order, headers=webhook.headers("whs_an-old-secret"))
        assert response.status == 401
    response = await client.patch(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", json={"active": False}, headers=tenant.auth()
    )
    assert response.status == 200
    for _ in range(2):
        response = await client.post(webhook.path, data=order, headers=webhook.headers())
        assert response.status == 401

    async def counted() -> Any:
        found = await refused(client, tenant)
        return found if found["wrongSecret"]["count"] == 12 and found["deactivated"]["count"] == 2 else None

    found = await eventually(counted)
    assert found["wrongSecret"]["lastAt"] <= found["deactivated"]["lastAt"]
    # An accepted request counts nothing, an unknown tenant names no row.
    response = await client.post(
        "/api/integrations/wms/00000000-0000-0000-0000-000000000001", data=order, headers=webhook.headers()
    )
    assert response.status == 401
    container.refusals.flush()
    rows = container.db.query(f"SELECT tenant_id, reason, count FROM {container.db.table('auth_refusals')}")
    assert sorted((r["reason"], int(r["count"])) for r in rows) == [("deactivated", 2), ("wrong_secret", 12)]
    assert {r["tenant_id"] for r in rows} == {tenant.tenant_id}
