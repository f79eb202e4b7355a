"""The documented WMS webhook, end to end over real HTTP, on SQLite and PostgreSQL.

Each test states the sentence of the contract (docs/contract.md) it proves.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp.test_utils import TestClient

from interfaces.http.examples import DOCUMENTED_SINGLE
from tests.support.http import TenantKeys, Webhook, create_customer, later_write, post_orders, webhook_status
from tests.support.waits import eventually

# The documentation's examples, verbatim: the single order is the API's own
# documented example, laid out one field a line as the contract shows it.
DOC_SINGLE = json.dumps(DOCUMENTED_SINGLE, indent=0).encode()

DOC_CURL = b'{"externalOrderId":"ORD-1","deliveryAddress":"10 High St, London SW1A 1AA","customerName":"Acme","plannedDate":"2025-02-22"}'


def doc_batch(customer_id: str) -> bytes:
    """The documented batch; its ``"clxx..."`` placeholder stands for a real customer id."""
    return b"""[
{
"externalOrderId": "WMS-ORD-001",
"deliveryAddress": "10 High Street, London SW1A 1AA",
"customerName": "Acme Ltd",
"totalWeight": 25.5
},
{
"externalOrderId": "WMS-ORD-002",
"customerId": "%s",
"totalWeight": 10,
"plannedDate": "2025-02-22"
}
]""" % customer_id.encode()


async def orders_for(
    client: TestClient, tenant: TenantKeys, planned_date: str | None = None, *, reached: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The tenant's orders; with ``reached`` (``later_write``), once the read model shows every earlier write."""
    query = f"?plannedDate={planned_date}" if planned_date else ""
    response = await client.get(
        f"/api/tenants/{tenant.tenant_id}/orders{query}", headers={**tenant.auth(), **(reached or {})}
    )
    assert response.status == 200
    return list((await response.json())["orders"])


async def integration(
    client: TestClient, tenant: TenantKeys, *, reached: dict[str, str] | None = None
) -> dict[str, Any]:
    """The webhook's integration status, once the read model shows the connection
    (and, with ``reached``, every write before ``later_write``)."""

    async def connected() -> Any:
        return await webhook_status(client, tenant, reached)

    return dict(await eventually(connected))


async def test_the_documented_single_order_is_created_and_planned_for_its_date(
    client: TestClient, webhook: Webhook
) -> None:
    status, body, headers = await post_orders(client, webhook, DOC_SINGLE)
    assert status == 200
    assert body["accepted"] is True and body["processed"] == 1
    [entry] = body["orders"]
    assert entry["externalOrderId"] == "WMS-ORD-001" and entry["created"] is True
    assert headers["X-Request-Id"]

    async def planned() -> list[dict[str, Any]]:
        return await orders_for(client, webhook.tenant, "2025-02-22")

    [order] = await eventually(planned)
    assert order["orderId"] == entry["orderId"]
    assert order["customerName"] == "Acme Ltd"
    assert order["deliveryAddress"] == "10 High Street, London SW1A 1AA"
    assert order["totalWeight"] == 25.5 and order["palletCount"] == 1
    assert await orders_for(client, webhook.tenant, "2025-02-23") == []


async def test_the_documented_curl_body_is_accepted(client: TestClient, webhook: Webhook) -> None:
    status, body, _ = await post_orders(client, webhook, DOC_CURL)
    assert status == 200
    assert body["orders"][0]["externalOrderId"] == "ORD-1"

    async def planned() -> list[dict[str, Any]]:
        return await orders_for(client, webhook.tenant, "2025-02-22")

    [order] = await eventually(planned)
    assert order["customerName"] == "Acme"


async def test_the_documented_batch_creates_both_orders_in_input_order(client: TestClient, webhook: Webhook) -> None:
    tenant = webhook.tenant
    customer_id = await create_customer(client, tenant, "Existing Co", "1 Dock Road, Leeds LS1 1AA")

    status, body, _ = await post_orders(client, webhook, doc_batch(customer_id))
    assert status == 200
    assert body["processed"] == 2
    assert [o["externalOrderId"] for o in body["orders"]] == ["WMS-ORD-001", "WMS-ORD-002"]
    assert all(o["created"] for o in body["orders"])

    async def second() -> Any:
        r = await client.get(
            f"/api/tenants/{tenant.tenant_id}/orders/by-external-id/WMS-ORD-002", headers=tenant.auth()
        )
        return await r.json() if r.status == 200 else None

    order = await eventually(second)
    assert order["customerId"] == customer_id and order["customerName"] == "Existing Co"
    assert order["totalWeight"] == 10 and order["plannedDate"] == "2025-02-22"


async def test_a_wrong_or_missing_secret_gets_401_with_the_same_body(
    client: TestClient, webhook: Webhook, make_tenant: Any
) -> None:
    other = make_tenant("Other")
    cases = [
        {"Content-Type": "application/json"},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Basic {webhook.secret}"},
        {"Authorization": "Bearer "},
    ]
    bodies = []
    for headers in cases:
        r = await client.post(webhook.path, data=DOC_CURL, headers=headers)
        assert r.status == 401
        assert r.headers["WWW-Authenticate"] == "Bearer"
        bodies.append(await r.read())
    # Another tenant (no webhook connected), and an unknown tenant id, with a real secret.
    for path in (f"/api/integrations/wms/{other.tenant_id}", "/api/integrations/wms/not-a-tenant"):
        r = await client.post(path, data=DOC_CURL, headers=webhook.headers())
        assert r.status == 401
        bodies.append(await r.read())
    assert set(bodies) == {b'{"error":"Unauthorized"}'}
    assert await orders_for(client, webhook.tenant, reached=await later_write(client, webhook.tenant)) == []


async def test_authentication_is_checked_before_the_body_is_read(client: TestClient, webhook: Webhook) -> None:
    # Invalid JSON and an oversized declared length still get 401 first.
    r = await client.post(webhook.path, data=b"{not json", headers={"Authorization": "Bearer wrong"})
    assert r.status == 401


async def test_a_deactivated_webhook_gets_401_and_last_received_at_does_not_move(
    client: TestClient, webhook: Webhook
) -> None:
    tenant = webhook.tenant
    r = await client.patch(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", json={"active": False}, headers=tenant.auth()
    )
    assert r.status == 200
    status, body, _ = await post_orders(client, webhook, DOC_CURL)
    assert (status, body) == (401, {"error": "Unauthorized"})

    async def inactive() -> Any:
        hook = await integration(client, tenant)
        return hook if hook["active"] is False else None

    hook = await eventually(inactive)
    assert hook["lastReceivedAt"] is None
    r = await client.patch(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", json={"active": True}, headers=tenant.auth()
    )
    assert r.status == 200
    status, _, _ = await post_orders(client, webhook, DOC_CURL)
    assert status == 200


async def test_a_regenerated_secret_replaces_the_old_one_at_once(client: TestClient, webhook: Webhook) -> None:
    tenant = webhook.tenant
    r = await client.post(f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook/secret", headers=tenant.auth())
    assert r.status == 200
    new_secret = (await r.json())["secret"]
    assert new_secret != webhook.secret
    assert (await post_orders(client, webhook, DOC_CURL))[0] == 401
    assert (await post_orders(client, webhook, DOC_CURL, secret=new_secret))[0] == 200


async def test_invalid_json_gets_400(client: TestClient, webhook: Webhook) -> None:
    status, body, _ = await post_orders(client, webhook, b'{"externalOrderId": ')
    assert (status, body) == (400, {"error": "Invalid JSON"})


async def test_json_that_is_not_orders_gets_400_invalid_payload_shape(client: TestClient, webhook: Webhook) -> None:
    for shape in (b'"text"', b"42", b"null", b"[1, 2]", b'[{"externalOrderId": "A", "deliveryAddress": "x"}, []]'):
        status, body, _ = await post_orders(client, webhook, shape)
        assert status == 400, shape
        assert body["error"] == "Invalid payload shape"
        assert "details" in body


async def test_validation_lists_every_problem_of_every_item(client: TestClient, webhook: Webhook) -> None:
    items = [
        {"deliveryAddress": "1 A St"},
        {"externalOrderId": "B"},
        {"externalOrderId": "", "deliveryAddress": "x"},
        {
            "externalOrderId": "D",
            "deliveryAddress": "x",
            "totalWeight": -1,
            "volume": "big",
            "palletCount": 1.5,
            "specialHandling": "fragile",
        },
        {"externalOrderId": "E", "deliveryAddress": "x", "specialHandling": ["ok", 3]},
    ]
    status, body, _ = await post_orders(client, webhook, items)
    assert status == 400
    assert body["error"] == "Validation failed"
    found = {(d["index"], d["field"]) for d in body["details"]}
    assert found == {
        (0, "externalOrderId"),
        (1, "deliveryAddress"),
        (2, "externalOrderId"),
        (3, "totalWeight"),
        (3, "volume"),
        (3, "palletCount"),
        (3, "specialHandling"),
        (4, "specialHandling"),
    }
    by_key = {(d["index"], d["field"]): d for d in body["details"]}
    assert by_key[(1, "deliveryAddress")]["message"] == "deliveryAddress or customerId is required"
    assert by_key[(3, "totalWeight")]["externalOrderId"] == "D"
    assert await orders_for(client, webhook.tenant, reached=await later_write(client, webhook.tenant)) == []


async def test_an_invalid_planned_date_gets_422_with_a_message_per_bad_item(
    client: TestClient, webhook: Webhook
) -> None:
    items = [
        {"externalOrderId": "OK", "deliveryAddress": "x", "plannedDate": "2025-02-22"},
        {"externalOrderId": "FEB30", "deliveryAddress": "x", "plannedDate": "2025-02-30"},
        {"externalOrderId": "UK", "deliveryAddress": "x", "plannedDate": "22/02/2025"},
        {"externalOrderId": "COMPACT", "deliveryAddress": "x", "plannedDate": "20250222"},
        {"externalOrderId": "NUMBER", "deliveryAddress": "x", "plannedDate": 20250222},
        {"externalOrderId": "NULL", "deliveryAddress": "x", "plannedDate": None},
    ]
    status, body, _ = await post_orders(client, webhook, items)
    assert status == 422
    assert body["error"] == "Invalid plannedDate"
    messages = body["fieldErrors"]["plannedDate"]
    assert len(messages) == 4
    for index, ref in ((1, "FEB30"), (2, "UK"), (3, "COMPACT"), (4, "NUMBER")):
        assert any(f"item {index}" in m and ref in m for m in messages)
    assert await orders_for(client, webhook.tenant, reached=await later_write(client, webhook.tenant)) == []


async def test_validation_errors_come_before_planned_date_errors(client: TestClient, webhook: Webhook) -> None:
    items = [{"externalOrderId": "A", "plannedDate": "nope"}]
    status, body, _ = await post_orders(client, webhook, items)
    assert status == 400 and body["error"] == "Validation failed"


async def test_an_unknown_customer_id_gets_400_customer_not_found(
    client: TestClient, webhook: Webhook, make_tenant: Any
) -> None:
    other = make_tenant("Other")
    r = await client.post(
        f"/api/tenants/{other.tenant_id}/customers",
        json={"name": "Theirs", "address": "2 Elm St, York YO1 7HH"},
        headers=other.auth(),
    )
    theirs = (await r.json())["customerId"]
    items = [
        {"externalOrderId": "A", "deliveryAddress": "1 Main St"},
        {"externalOrderId": "B", "customerId": "clxx-does-not-exist"},
        {"externalOrderId": "C", "customerId": theirs},
    ]
    status, body, _ = await post_orders(client, webhook, items)
    assert status == 400
    assert body["error"] == "Customer not found"
    assert [(d["index"], d["externalOrderId"]) for d in body["details"]] == [(1, "B"), (2, "C")]
    assert await orders_for(client, webhook.tenant, reached=await later_write(client, webhook.tenant)) == []


async def test_a_batch_whose_last_item_is_invalid_stores_nothing_and_keeps_last_received_at(
    client: TestClient, webhook: Webhook
) -> None:
    status, _, _ = await post_orders(client, webhook, DOC_CURL)
    assert status == 200

    async def received() -> Any:
        return (await integration(client, webhook.tenant))["lastReceivedAt"]

    before = await eventually(received)
    batch = [{"externalOrderId": f"N-{i}", "deliveryAddress": f"{i} Long Road"} for i in range(50)]
    batch.append({"externalOrderId": "BAD", "deliveryAddress": "x", "plannedDate": "2025-13-01"})
    status, _body, _ = await post_orders(client, webhook, batch)
    assert status == 422
    reached = await later_write(client, webhook.tenant)
    assert [o["externalOrderId"] for o in await orders_for(client, webhook.tenant, reached=reached)] == ["ORD-1"]
    assert (await integration(client, webhook.tenant, reached=reached))["lastReceivedAt"] == before


async def test_the_same_payload_twice_updates_nothing_and_gives_the_same_order_id(
    client: TestClient, webhook: Webhook
) -> None:
    first = await post_orders(client, webhook, DOC_SINGLE)
    second = await post_orders(client, webhook, DOC_SINGLE)
    assert first[0] == second[0] == 200
    assert first[1]["orders"][0]["orderId"] == second[1]["orders"][0]["orderId"]
    assert first[1]["orders"][0]["created"] is True
    assert second[1]["orders"][0]["created"] is False
    tenant = webhook.tenant
    history = await client.get(
        f"/api/tenants/{tenant.tenant_id}/orders/{first[1]['orders'][0]['orderId']}/history", headers=tenant.auth()
    )
    assert [e["type"] for e in (await history.json())["events"]] == ["OrderCreated"]


async def test_a_later_request_updates_present_fields_keeps_absent_ones_and_null_clears(
    client: TestClient, webhook: Webhook
) -> None:
    await post_orders(client, webhook, DOC_SINGLE)
    status, body, _ = await post_orders(
        client,
        webhook,
        {
            "externalOrderId": "WMS-ORD-001",
            "deliveryAddress": "10 High Street, London SW1A 1AA",
            "totalWeight": 30,
            "palletCount": None,
            "unknownField": {"ignored": True},
        },
    )
    assert status == 200 and body["orders"][0]["created"] is False
    tenant = webhook.tenant

    async def updated() -> Any:
        r = await client.get(
            f"/api/tenants/{tenant.tenant_id}/orders/{body['orders'][0]['orderId']}", headers=tenant.auth()
        )
        order = await r.json()
        return order if r.status == 200 and order["version"] == 2 else None

    order = await eventually(updated)
    assert order["totalWeight"] == 30
    assert order["palletCount"] is None
    assert order["plannedDate"] == "2025-02-22"
    assert order["customerName"] == "Acme Ltd"


async def test_a_repeated_id_in_one_batch_is_created_once_then_updated(client: TestClient, webhook: Webhook) -> None:
    items = [
        {"externalOrderId": "R", "deliveryAddress": "1 A St", "totalWeight": 1},
        {"externalOrderId": "R", "deliveryAddress": "1 A St", "totalWeight": 2},
    ]
    status, body, _ = await post_orders(client, webhook, items)
    assert status == 200
    assert [o["created"] for o in body["orders"]] == [True, False]


async def test_a_single_object_and_a_one_element_array_are_equivalent_and_empty_is_fine(
    client: TestClient, webhook: Webhook
) -> None:
    single = await post_orders(client, webhook, {"externalOrderId": 7, "deliveryAddress": "1 A St"})
    array = await post_orders(client, webhook, [{"externalOrderId": "7", "deliveryAddress": "1 A St"}])
    assert single[0] == array[0] == 200
    assert single[1]["orders"][0]["orderId"] == array[1]["orders"][0]["orderId"]
    assert single[1]["orders"][0]["externalOrderId"] == "7"
    empty = await post_orders(client, webhook, [])
    assert empty[:2] == (200, {"accepted": True, "processed": 0, "orders": []})


async def test_the_same_address_reuses_one_customer(client: TestClient, webhook: Webhook) -> None:
    items = [
        {"externalOrderId": "A", "deliveryAddress": "10 High Street, London SW1A 1AA", "customerName": "First"},
        {"externalOrderId": "B", "deliveryAddress": "10 high street  london sw1a 1aa", "customerName": "Second"},
        {"externalOrderId": "C", "deliveryAddress": "99 Other Road"},
    ]
    status, _, _ = await post_orders(client, webhook, items)
    assert status == 200

    async def all_three() -> Any:
        orders = await orders_for(client, webhook.tenant)
        return orders if len(orders) == 3 else None

    a, b, c = await eventually(all_three)
    assert a["customerId"] == b["customerId"] != c["customerId"]
    assert a["customerName"] == b["customerName"] == "First"
    assert c["customerName"] == "WMS Customer"
    r = await client.get(
        f"/api/tenants/{webhook.tenant.tenant_id}/customers/{c['customerId']}", headers=webhook.tenant.auth()
    )
    assert (await r.json())["contact"] == "N/A"


async def test_last_received_at_moves_only_after_a_successful_batch(client: TestClient, webhook: Webhook) -> None:
    assert (await integration(client, webhook.tenant))["lastReceivedAt"] is None
    await post_orders(client, webhook, b"[1]")
    reached = await later_write(client, webhook.tenant)
    assert (await integration(client, webhook.tenant, reached=reached))["lastReceivedAt"] is None
    await post_orders(client, webhook, DOC_CURL)

    async def received() -> Any:
        return (await integration(client, webhook.tenant))["lastReceivedAt"]

    assert (await eventually(received)).endswith("Z")


async def test_a_body_over_the_limit_gets_413(client: TestClient, webhook: Webhook, container: Any) -> None:
    container.settings.max_body_bytes = 2048
    status, body, _ = await post_orders(client, webhook, b"[" + b" " * 4096 + b"]")
    assert status == 413 and body["error"] == "Payload too large"


async def test_too_many_items_gets_413(client: TestClient, webhook: Webhook, container: Any) -> None:
    container.settings.max_batch_items = 3
    items = [{"externalOrderId": str(i), "deliveryAddress": "x"} for i in range(4)]
    status, body, _ = await post_orders(client, webhook, items)
    assert status == 413 and body["error"] == "Payload too large"
    assert await orders_for(client, webhook.tenant, reached=await later_write(client, webhook.tenant)) == []


async def test_a_2000_order_batch_is_accepted_whole(client: TestClient, webhook: Webhook) -> None:
    items = [
        {
            "externalOrderId": f"BULK-{i:05d}",
            "deliveryAddress": f"{i} Bulk Street, Leeds LS1 1AA",
            "totalWeight": i / 10,
            "plannedDate": "2025-03-01",
        }
        for i in range(2000)
    ]
    status, body, _ = await post_orders(client, webhook, items)
    assert status == 200 and body["processed"] == 2000
    assert all(o["created"] for o in body["orders"])

    async def count() -> Any:
        r = await client.get(
            f"/api/tenants/{webhook.tenant.tenant_id}/orders?plannedDate=2025-03-01&limit=1000",
            headers=webhook.tenant.auth(),
        )
        page = await r.json()
        return page if page["nextCursor"] else None

    page = await eventually(count, within=10)
    assert len(page["orders"]) == 1000
    r = await client.get(
        f"/api/tenants/{webhook.tenant.tenant_id}/orders?plannedDate=2025-03-01&limit=1000&cursor={page['nextCursor']}",
        headers=webhook.tenant.auth(),
    )
    rest = await r.json()
    assert len(rest["orders"]) == 1000 and rest["nextCursor"] is None
    assert page["orders"][-1]["externalOrderId"] < rest["orders"][0]["externalOrderId"]


async def test_sixteen_parallel_first_deliveries_of_one_order_create_it_once(
    client: TestClient, webhook: Webhook
) -> None:
    results = await asyncio.gather(
        *(
            post_orders(client, webhook, {"externalOrderId": "RACE", "deliveryAddress": "1 Race St", "volume": 2})
            for _ in range(16)
        )
    )
    assert [r[0] for r in results] == [200] * 16
    assert sum(r[1]["orders"][0]["created"] for r in results) == 1
    assert len({r[1]["orders"][0]["orderId"] for r in results}) == 1
