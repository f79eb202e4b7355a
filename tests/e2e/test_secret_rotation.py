"""Webhook secret rotation without downtime, over real HTTP, on SQLite and PostgreSQL.

``POST …/webhook/secret`` with ``{"previousValidForSeconds": N}`` keeps the
old secret working for N seconds beside the new one; the delivery log says
which secret each batch used; ending the window early, deactivating, or the
window running out leave only the current secret. Without a body the old
secret stops at once, as documented.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from interfaces.container import Container
from tests.support.http import Webhook, post_orders, webhook_status
from tests.support.waits import eventually

ORDER = b'{"externalOrderId": "ROT-1", "deliveryAddress": "10 High Street, London SW1A 1AA"}'


class MovableClock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment


async def post_with(client: TestClient, hook: Webhook, secret: str, body: bytes = ORDER) -> int:
    return (await post_orders(client, hook, body, secret=secret))[0]


async def rotate(client: TestClient, hook: Webhook, body: Any = None) -> tuple[int, dict[str, Any]]:
    tenant = hook.tenant
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook/secret", json=body, headers=tenant.auth()
    )
    return response.status, dict(await response.json())


async def test_during_the_window_both_secrets_work_and_the_log_says_which_was_used(
    client: TestClient, webhook: Webhook
) -> None:
    old = webhook.secret
    status, body = await rotate(client, webhook, {"previousValidForSeconds": 3600})
    assert status == 200
    new = body["secret"]
    assert new != old and body["previousSecretExpiresAt"].endswith("Z")

    assert await post_with(client, webhook, old) == 200
    assert await post_with(client, webhook, new) == 200
    assert await post_with(client, webhook, old, b"not json") == 400
    assert await post_with(client, webhook, "whs_wrong") == 401

    tenant = webhook.tenant

    async def three_deliveries() -> list[dict[str, Any]] | None:
        response = await client.get(
            f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries", headers=tenant.auth()
        )
        deliveries = (await response.json())["deliveries"]
        return deliveries if len(deliveries) == 3 else None

    deliveries = await eventually(three_deliveries)
    # Newest first: the rejected one (old secret), the new secret's, the old secret's.
    assert [(d["status"], d["secretUsed"]) for d in deliveries] == [
        (400, "previous"),
        (200, "current"),
        (200, "previous"),
    ]

    async def window_shown() -> dict[str, Any] | None:
        hook = await webhook_status(client, webhook.tenant)
        return hook if hook["previousSecretExpiresAt"] else None

    shown = await eventually(window_shown)
    assert shown["previousSecretExpiresAt"] == body["previousSecretExpiresAt"]

    # Ending the window early: the old secret stops, the new one goes on.
    response = await client.delete(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook/previous-secret", headers=tenant.auth()
    )
    assert response.status == 204
    assert await post_with(client, webhook, old) == 401
    assert await post_with(client, webhook, new) == 200

    async def window_gone() -> bool:
        return (await webhook_status(client, webhook.tenant))["previousSecretExpiresAt"] is None

    await eventually(window_gone)


async def test_deactivating_ends_both_secrets_and_reactivating_brings_back_only_the_current(
    client: TestClient, webhook: Webhook
) -> None:
    old = webhook.secret
    _, body = await rotate(client, webhook, {"previousValidForSeconds": 600})
    new = body["secret"]
    tenant = webhook.tenant
    path = f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook"
    assert (await client.patch(path, json={"active": False}, headers=tenant.auth())).status == 200
    assert await post_with(client, webhook, old) == 401
    assert await post_with(client, webhook, new) == 401
    assert (await client.patch(path, json={"active": True}, headers=tenant.auth())).status == 200
    assert await post_with(client, webhook, old) == 401
    assert await post_with(client, webhook, new) == 200


async def test_the_previous_secret_stops_when_its_window_ends(
    client: TestClient, webhook: Webhook, container: Container
) -> None:
    clock = MovableClock()
    container.use_cases.clock = clock
    old = webhook.secret
    _, body = await rotate(client, webhook, {"previousValidForSeconds": 60})
    new = body["secret"]
    clock.moment += timedelta(seconds=59)
    assert await post_with(client, webhook, old) == 200
    clock.moment += timedelta(seconds=2)
    assert await post_with(client, webhook, old) == 401
    assert await post_with(client, webhook, new) == 200


async def test_without_a_window_the_old_secret_stops_at_once_as_documented(
    client: TestClient, webhook: Webhook
) -> None:
    old = webhook.secret
    # No previousSecretExpiresAt: the answer is the documented one (plus the write's position).
    status, body = await rotate(client, webhook)
    assert status == 200 and set(body) == {"secret", "eventPosition"}
    assert await post_with(client, webhook, old) == 401
    status, body = await rotate(client, webhook, {"previousValidForSeconds": 0})
    assert status == 200 and set(body) == {"secret", "eventPosition"}


@pytest.mark.parametrize("window", [-1, 604801, "60", 1.5, None])
async def test_a_window_out_of_range_gets_400_and_changes_nothing(
    client: TestClient, webhook: Webhook, window: Any
) -> None:
    status, body = await rotate(client, webhook, {"previousValidForSeconds": window})
    assert status == 400, body
    assert await post_with(client, webhook, webhook.secret) == 200
