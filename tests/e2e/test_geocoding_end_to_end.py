"""Geocoding end to end over real HTTP, on SQLite and PostgreSQL.

"Trackely creates or updates orders and optionally geocodes addresses": the
webhook answers without waiting for coordinates; the order's ``location``
goes from ``pending`` to ``ok`` (or ``failed``) when the background geocoder
has recorded its answer. No test here touches the network: the default
geocoder is the embedded offline one, and the remote one talks to a fake
Nominatim on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from infrastructure.settings import Settings
from tests.support.http import Webhook, accept_orders, create_customer
from tests.support.settings import make_settings
from tests.support.waits import eventually

DOC_CURL = b'{"externalOrderId":"ORD-1","deliveryAddress":"10 High St, London SW1A 1AA","customerName":"Acme","plannedDate":"2025-02-22"}'


async def get_order(client: TestClient, hook: Webhook, order_id: str) -> dict[str, Any] | None:
    tenant = hook.tenant
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/orders/{order_id}", headers=tenant.auth())
    if response.status == 404:
        return None
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def location_when(
    client: TestClient, hook: Webhook, order_id: str, status: str, timeout: float = 3.0
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        order = await get_order(client, hook, order_id)
        return order["location"] if order and order["location"]["status"] == status else None

    return dict(await eventually(check, within=timeout))


async def location_of_new_order(client: TestClient, hook: Webhook, body: bytes, status: str) -> dict[str, Any]:
    """Send a one-order batch and wait for the order's location to reach ``status``."""
    [entry] = (await accept_orders(client, hook, body))["orders"]
    return await location_when(client, hook, entry["orderId"], status)


# ---------------------------------------------------------------------- embedded default


async def test_the_documented_curl_order_gets_coordinates_without_any_network(
    client: TestClient, webhook: Webhook
) -> None:
    location = await location_of_new_order(client, webhook, DOC_CURL, "ok")
    assert location["lat"] == pytest.approx(51.501, abs=0.001)
    assert location["lon"] == pytest.approx(-0.142, abs=0.001)
    assert location["precision"] == "postcode"


async def test_orders_of_a_named_customer_are_located_at_the_customers_address(
    client: TestClient, webhook: Webhook
) -> None:
    tenant = webhook.tenant
    customer_id = await create_customer(client, tenant, "Existing Co", "1 Dock Road, Leeds LS1 4AP")
    body = b'{"externalOrderId": "ORD-2", "customerId": "%s"}' % customer_id.encode()
    location = await location_of_new_order(client, webhook, body, "ok")
    assert location["lat"] == pytest.approx(53.79, abs=0.05)
    assert location["lon"] == pytest.approx(-1.55, abs=0.05)


async def test_an_address_without_a_postcode_fails_permanently_and_says_so(
    client: TestClient, webhook: Webhook
) -> None:
    body = b'{"externalOrderId": "ORD-3", "deliveryAddress": "The Old Barn, Nowhere Lane"}'
    location = await location_of_new_order(client, webhook, body, "failed")
    assert location == {"lat": None, "lon": None, "precision": None, "status": "failed", "reason": "no postcode found"}


async def test_a_belfast_postcode_fails_because_the_offline_data_is_great_britain_only(
    client: TestClient, webhook: Webhook
) -> None:
    body = b'{"externalOrderId": "ORD-BT", "deliveryAddress": "1 Queen\'s Road, Belfast BT3 9EP"}'
    location = await location_of_new_order(client, webhook, body, "failed")
    assert location["reason"] == "postcode not in the offline data (Great Britain only)"


async def test_a_changed_delivery_address_is_located_again(client: TestClient, webhook: Webhook) -> None:
    [entry] = (await accept_orders(client, webhook, DOC_CURL))["orders"]
    await location_when(client, webhook, entry["orderId"], "ok")
    moved = b'{"externalOrderId": "ORD-1", "deliveryAddress": "Royal Exchange, Manchester M2 7DB"}'
    await accept_orders(client, webhook, moved)

    async def in_manchester() -> dict[str, Any] | None:
        order = await get_order(client, webhook, entry["orderId"])
        location = order["location"] if order else None
        return location if location and location["lat"] and location["lat"] > 53 else None

    location = await eventually(in_manchester)
    assert location["status"] == "ok"
    assert location["lon"] == pytest.approx(-2.24, abs=0.05)


async def test_geocoding_shows_in_the_metrics(client: TestClient, webhook: Webhook) -> None:
    [entry] = (await accept_orders(client, webhook, DOC_CURL))["orders"]
    await location_when(client, webhook, entry["orderId"], "ok")
    text = await (await client.get("/metrics")).text()
    assert 'wms_intake_geocoding_requests_total{outcome="ok",provider="offline-uk"} 1.0' in text
    assert "wms_intake_geocoding_pending_addresses 0.0" in text


# ---------------------------------------------------------------------- geocoding off


@pytest.mark.settings(geocoder="none")
class TestGeocodingOff:
    async def test_orders_show_location_status_disabled(self, client: TestClient, webhook: Webhook) -> None:
        [entry] = (await accept_orders(client, webhook, DOC_CURL))["orders"]

        async def order() -> dict[str, Any] | None:
            return await get_order(client, webhook, entry["orderId"])

        found = await eventually(order)
        assert found["location"] == {"lat": None, "lon": None, "precision": None, "status": "disabled"}
        text = await (await client.get("/metrics")).text()
        assert "wms_intake_geocoding_requests" not in text


# ---------------------------------------------------------------------- a remote service


@dataclass
class HeldNominatim:
    """A fake Nominatim that holds every request until the test releases it."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    queries: list[str] = field(default_factory=list)

    async def search(self, request: web.Request) -> web.Response:
        self.queries.append(request.query.get("q", ""))
        await self.release.wait()
        return web.json_response(
            [
                {
                    "lat": "51.5013",
                    "lon": "-0.1418",
                    "display_name": "10, High Street, Westminster, London, SW1A 1AA",
                    "class": "place",
                    "type": "house",
                    "addresstype": "building",
                }
            ]
        )


@pytest.fixture
async def nominatim() -> AsyncIterator[tuple[HeldNominatim, str]]:
    fake = HeldNominatim()
    app = web.Application()
    app.router.add_get("/search", fake.search)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    fake.release.set()
    await server.close()


class TestRemoteGeocoder:
    @pytest.fixture
    def settings(self, database_url: str, nominatim: tuple[HeldNominatim, str]) -> Settings:
        return make_settings(database_url, geocoder="nominatim", geocoder_url=nominatim[1], geocoder_rate_per_second=50)

    async def test_the_webhook_answers_while_geocoding_waits_then_the_order_is_located(
        self, client: TestClient, webhook: Webhook, nominatim: tuple[HeldNominatim, str]
    ) -> None:
        fake, _ = nominatim
        [entry] = (await accept_orders(client, webhook, DOC_CURL))["orders"]
        pending = await location_when(client, webhook, entry["orderId"], "pending")
        assert pending == {"lat": None, "lon": None, "precision": None, "status": "pending"}

        async def asked() -> bool:
            return bool(fake.queries)

        await eventually(asked)
        # The geocoding request is in flight and held: the order is still pending.
        order = await get_order(client, webhook, entry["orderId"])
        assert order is not None and order["location"]["status"] == "pending"

        fake.release.set()
        location = await location_when(client, webhook, entry["orderId"], "ok")
        assert location == {"lat": 51.5013, "lon": -0.1418, "precision": "building", "status": "ok"}
        assert fake.queries == ["10 High St, London SW1A 1AA"]
