"""Coordinates from the WMS: optional ``latitude`` / ``longitude`` on an order.

Given together and in range, they are the order's location (status
``provided``) and the order's address is not sent to the geocoder; one without
the other, or out of range, is a 400 that stores nothing. A later change of
address that comes without coordinates drops them and the order is geocoded
again. The history shows every step. On SQLite and PostgreSQL, over real HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.support.http import Webhook, create_customer, post_orders
from tests.support.waits import eventually

ADDRESS = "10 High Street, London SW1A 1AA"


async def order_of(client: TestClient, hook: Webhook, order_id: str, **params: str) -> dict[str, Any] | None:
    tenant = hook.tenant
    response = await client.get(
        f"/api/tenants/{tenant.tenant_id}/orders/{order_id}", headers=tenant.auth(), params=params
    )
    if response.status == 404:
        return None
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def geocoded_count(client: TestClient) -> float:
    text = await (await client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith('wms_intake_geocoding_requests_total{outcome="ok",provider="offline-uk"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_coordinates_sent_by_the_wms_are_the_location_and_a_new_address_without_them_is_geocoded(
    client: TestClient, webhook: Webhook
) -> None:
    status, body, _ = await post_orders(
        client, webhook, {"externalOrderId": "C-1", "deliveryAddress": ADDRESS, "latitude": 51.5, "longitude": -0.12}
    )
    assert status == 200, body
    order_id = body["orders"][0]["orderId"]

    async def provided() -> dict[str, Any] | None:
        order = await order_of(client, webhook, order_id)
        return order if order and order["location"]["status"] == "provided" else None

    order = await eventually(provided)
    assert order["location"] == {"lat": 51.5, "lon": -0.12, "precision": None, "status": "provided"}

    # The same address sent again without coordinates changes nothing: they stay.
    status, _, _ = await post_orders(client, webhook, {"externalOrderId": "C-1", "deliveryAddress": ADDRESS})
    assert status == 200
    # New coordinates for the same address move the order.
    status, _, _ = await post_orders(
        client, webhook, {"externalOrderId": "C-1", "deliveryAddress": ADDRESS, "latitude": 51.6, "longitude": -0.13}
    )
    assert status == 200
    # A new address without coordinates: geocoded again (Manchester, by the offline geocoder).
    status, _, _ = await post_orders(
        client, webhook, {"externalOrderId": "C-1", "deliveryAddress": "Royal Exchange, Manchester M2 7DB"}
    )
    assert status == 200

    async def geocoded() -> dict[str, Any] | None:
        found = await order_of(client, webhook, order_id)
        return found if found and found["location"]["status"] == "ok" else None

    order = await eventually(geocoded)
    assert order["location"]["lat"] == pytest.approx(53.48, abs=0.05)
    assert order["location"]["lon"] == pytest.approx(-2.24, abs=0.05)

    tenant = webhook.tenant
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/orders/{order_id}/history", headers=tenant.auth())
    events = (await response.json())["events"]
    assert [e["version"] for e in events] == [1, 2, 3]
    assert events[0]["changes"]["latitude"] == 51.5 and events[0]["changes"]["longitude"] == -0.12
    assert events[1]["changes"] == {"latitude": 51.6, "longitude": -0.13}
    assert events[2]["changes"]["deliveryAddress"] == "Royal Exchange, Manchester M2 7DB"
    assert events[2]["changes"]["latitude"] is None and events[2]["changes"]["longitude"] is None
    as_of = await order_of(client, webhook, order_id, asOfVersion="2")
    assert as_of is not None
    assert as_of["location"] == {"lat": 51.6, "lon": -0.13, "precision": None, "status": "provided"}
    assert "latitude" not in as_of


async def test_an_order_with_coordinates_is_not_sent_to_the_geocoder(client: TestClient, webhook: Webhook) -> None:
    tenant = webhook.tenant
    customer_id = await create_customer(client, tenant, "Existing Co", "1 Dock Road, Leeds LS1 4AP")
    await eventually(lambda: _at_least(client, 1.0))
    # Delivered to its own address, with coordinates: that address is never geocoded.
    status, _, _ = await post_orders(
        client,
        webhook,
        {
            "externalOrderId": "C-2",
            "customerId": customer_id,
            "deliveryAddress": ADDRESS,
            "latitude": 51.501,
            "longitude": -0.1416,
        },
    )
    assert status == 200
    # An order after it without coordinates is geocoded; the queue works in
    # order, so once it is done, the one before would have been too.
    status, _, _ = await post_orders(
        client,
        webhook,
        {"externalOrderId": "C-3", "customerId": customer_id, "deliveryAddress": "Royal Exchange, Manchester M2 7DB"},
    )
    assert status == 200
    await eventually(lambda: _at_least(client, 2.0))
    assert await geocoded_count(client) == 2.0


async def _at_least(client: TestClient, count: float) -> bool:
    return await geocoded_count(client) >= count


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"latitude": 51.5}, "longitude", "latitude and longitude must be given together (both or neither)"),
        ({"longitude": -0.1}, "latitude", "latitude and longitude must be given together (both or neither)"),
        (
            {"latitude": 51.5, "longitude": None},
            "longitude",
            "latitude and longitude must be given together (both or neither)",
        ),
        ({"latitude": 91, "longitude": 0}, "latitude", "latitude must be between -90 and 90"),
        ({"latitude": 0, "longitude": -180.5}, "longitude", "longitude must be between -180 and 180"),
        ({"latitude": "51.5", "longitude": 0}, "latitude", "latitude must be a number"),
        ({"latitude": True, "longitude": 0}, "latitude", "latitude must be a number"),
    ],
)
async def test_coordinates_out_of_range_or_alone_get_400_and_store_nothing(
    client: TestClient, webhook: Webhook, item: dict[str, Any], field: str, message: str
) -> None:
    good = {"externalOrderId": "OK-1", "deliveryAddress": ADDRESS}
    bad = {"externalOrderId": "BAD-1", "deliveryAddress": ADDRESS, **item}
    status, body, _ = await post_orders(client, webhook, [good, bad])
    assert status == 400
    assert body["error"] == "Validation failed"
    assert {"index": 1, "externalOrderId": "BAD-1", "field": field, "message": message} in body["details"]
    tenant = webhook.tenant
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/orders/by-external-id/OK-1", headers=tenant.auth())
    assert response.status == 404
