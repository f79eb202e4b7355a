"""Partial acceptance on request: ``POST /api/integrations/wms/{t}?atomic=false``.

The valid items are stored (in one transaction), each invalid item is reported
with the status and problems it would have got alone, the answer counts both,
``lastReceivedAt`` moves only when something was stored, and the delivery log
keeps both parts. Without the parameter the batch stays all or nothing. Over
real HTTP, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.support.http import Webhook, post_orders, webhook_status
from tests.support.waits import eventually

ADDRESS = "10 High Street, London SW1A 1AA"
UNKNOWN_CUSTOMER = "00000000-0000-0000-0000-000000000000"


#: The webhook query that asks to keep the valid items of a batch with invalid ones.
PARTIAL = "?atomic=false"


async def deliveries(client: TestClient, hook: Webhook, count: int) -> list[dict[str, Any]]:
    tenant = hook.tenant

    async def enough() -> list[dict[str, Any]] | None:
        response = await client.get(
            f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries", headers=tenant.auth()
        )
        found = (await response.json())["deliveries"]
        return found if len(found) >= count else None

    return list(await eventually(enough))


async def order_by_external_id(client: TestClient, hook: Webhook, external_id: str) -> dict[str, Any] | None:
    tenant = hook.tenant
    response = await client.get(
        f"/api/tenants/{tenant.tenant_id}/orders/by-external-id/{external_id}", headers=tenant.auth()
    )
    return dict(await response.json()) if response.status == 200 else None


async def test_valid_items_are_stored_and_each_invalid_one_is_reported_with_its_status(
    client: TestClient, webhook: Webhook
) -> None:
    status, first, _ = await post_orders(
        client, webhook, {"externalOrderId": "P-2", "deliveryAddress": ADDRESS}, query=PARTIAL
    )
    assert status == 200 and first["orders"][0]["created"] is True
    batch = [
        {"externalOrderId": "P-1", "deliveryAddress": ADDRESS, "plannedDate": "2025-02-22"},
        {"externalOrderId": "BAD-VALIDATION", "deliveryAddress": ADDRESS, "totalWeight": -1},
        {"externalOrderId": "BAD-DATE", "deliveryAddress": ADDRESS, "plannedDate": "2025-02-30"},
        {"externalOrderId": "BAD-CUSTOMER", "customerId": UNKNOWN_CUSTOMER},
        {"externalOrderId": "P-2", "deliveryAddress": ADDRESS, "palletCount": 3},
        "not an object",
    ]
    status, body, _ = await post_orders(client, webhook, batch, query=PARTIAL)
    assert status == 200, body
    assert (body["accepted"], body["atomic"], body["processed"], body["rejected"]) == (True, False, 2, 4)
    assert [(o["index"], o["externalOrderId"], o["created"]) for o in body["orders"]] == [
        (0, "P-1", True),
        (4, "P-2", False),
    ]
    rejected = {item["index"]: item for item in body["rejectedItems"]}
    assert [(i, rejected[i]["status"], rejected[i]["error"]) for i in sorted(rejected)] == [
        (1, 400, "Validation failed"),
        (2, 422, "Invalid plannedDate"),
        (3, 400, "Customer not found"),
        (5, 400, "Invalid payload shape"),
    ]
    assert rejected[1]["details"] == [
        {
            "index": 1,
            "externalOrderId": "BAD-VALIDATION",
            "field": "totalWeight",
            "message": "totalWeight must not be negative",
        }
    ]
    assert rejected[2]["fieldErrors"]["plannedDate"][0].startswith("item 2 (externalOrderId 'BAD-DATE')")
    assert rejected[3]["details"][0]["field"] == "customerId"
    assert rejected[3]["externalOrderId"] == "BAD-CUSTOMER"

    async def stored() -> dict[str, Any] | None:
        order = await order_by_external_id(client, webhook, "P-2")
        return order if order and order["palletCount"] == 3 else None

    await eventually(stored)
    assert await order_by_external_id(client, webhook, "P-1") is not None
    for refused in ("BAD-VALIDATION", "BAD-DATE", "BAD-CUSTOMER"):
        assert await order_by_external_id(client, webhook, refused) is None

    [latest, _] = await deliveries(client, webhook, 2)
    assert (latest["status"], latest["processed"], latest["rejected"]) == (200, 2, 4)
    assert [item["index"] for item in latest["rejectedItems"]] == [1, 2, 3, 5]
    assert latest["error"] is None


async def test_a_partial_batch_with_nothing_valid_stores_nothing_and_does_not_move_last_received(
    client: TestClient, webhook: Webhook
) -> None:
    status, body, _ = await post_orders(
        client,
        webhook,
        [
            {"externalOrderId": "BAD-DATE", "deliveryAddress": ADDRESS, "plannedDate": "22/02/2025"},
            {"externalOrderId": "BAD-CUSTOMER", "customerId": UNKNOWN_CUSTOMER},
        ],
        query=PARTIAL,
    )
    assert status == 400, body
    assert body["error"] == "Every order was rejected"
    assert (body["accepted"], body["processed"], body["rejected"], body["orders"]) == (False, 0, 2, [])
    assert [item["status"] for item in body["rejectedItems"]] == [422, 400]

    status, body, _ = await post_orders(
        client,
        webhook,
        [{"externalOrderId": "BAD-DATE", "deliveryAddress": ADDRESS, "plannedDate": "x"}],
        query=PARTIAL,
    )
    assert status == 422 and body["rejected"] == 1

    [latest, earlier] = await deliveries(client, webhook, 2)
    assert (latest["status"], earlier["status"]) == (422, 400)
    assert earlier["error"]["rejectedItems"][1]["error"] == "Customer not found"
    assert (await webhook_status(client, webhook.tenant))["lastReceivedAt"] is None

    status, body, _ = await post_orders(
        client, webhook, [{"externalOrderId": "OK", "deliveryAddress": ADDRESS}], query=PARTIAL
    )
    assert status == 200 and body["processed"] == 1

    async def moved() -> bool:
        return (await webhook_status(client, webhook.tenant))["lastReceivedAt"] is not None

    await eventually(moved)


@pytest.mark.parametrize(
    ("payload", "status", "error"), [(b"{not json", 400, "Invalid JSON"), (b'"a string"', 400, "Invalid payload shape")]
)
async def test_what_concerns_the_whole_body_still_refuses_it_whole(
    client: TestClient, webhook: Webhook, payload: bytes, status: int, error: str
) -> None:
    got, body, _ = await post_orders(client, webhook, payload, query=PARTIAL)
    assert (got, body["error"]) == (status, error)


async def test_without_the_parameter_a_mixed_batch_stays_all_or_nothing(client: TestClient, webhook: Webhook) -> None:
    batch = [
        {"externalOrderId": "A-1", "deliveryAddress": ADDRESS},
        {"externalOrderId": "A-2", "deliveryAddress": ADDRESS, "plannedDate": "2025-02-30"},
    ]
    for query in ("", "?atomic=true"):
        status, body, _ = await post_orders(client, webhook, batch, query=query)
        assert status == 422 and set(body) == {"error", "fieldErrors"}
    status, body, _ = await post_orders(client, webhook, batch, query="?atomic=maybe")
    assert status == 400 and body["error"] == "Invalid query parameter"
    status, _, _ = await post_orders(
        client, webhook, [{"externalOrderId": "A-3", "deliveryAddress": ADDRESS}], query=PARTIAL
    )
    assert status == 200
    await eventually(lambda: order_by_external_id(client, webhook, "A-3"))
    assert await order_by_external_id(client, webhook, "A-1") is None
