"""Refusals stay small and the checks come in the documented order.

A refusal lists at most 1,000 problems and counts the rest in ``omitted``:
its body stays under a fixed ceiling whatever the batch, so a bad batch
can't make the service build (and a client download) tens of megabytes.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from application.problem_list import MAX_LISTED_PROBLEMS
from interfaces.container import Container
from tests.reliability.conftest import last_position, topics_since
from tests.support.http import Webhook
from tests.support.waits import eventually

#: No error body may exceed this, whatever was sent (1,000 problems of at most a few hundred bytes).
CEILING = 600_000
ADDRESS = "10 High Street, London SW1A 1AA"


pytestmark = pytest.mark.settings(geocoder="none")


async def post(client: TestClient, webhook: Webhook, document: Any) -> tuple[int, bytes]:
    response = await client.post(webhook.path, data=orjson.dumps(document), headers=webhook.headers())
    return response.status, await response.read()


def wrong_everywhere(i: int) -> dict[str, Any]:
    """An item wrong in every field it has (and naming no address or customer)."""
    return {
        "externalOrderId": f"BAD-{i}" + "x" * 200,
        "customerName": 1,
        "customerContact": [],
        "totalWeight": "heavy",
        "volume": "big",
        "palletCount": "two",
        "specialHandling": [1, 2, 3, 4, 5, 6, 7, 8],
        "plannedDate": 20250222,
    }


async def test_a_batch_wrong_in_every_field_of_every_item_lists_1000_problems_and_counts_the_rest(
    client: TestClient, webhook: Webhook, container: Container
) -> None:
    before = last_position(container)
    items = [wrong_everywhere(i) for i in range(10_000)]
    status, raw = await post(client, webhook, items)
    body = orjson.loads(raw)
    assert (status, body["error"]) == (400, "Validation failed")
    assert len(body["details"]) == MAX_LISTED_PROBLEMS
    # Every item has the same problems: 16 each (8 wrong fields, 8 wrong tags... and no address).
    per_item = sum(1 for d in body["details"] if d["index"] == 0)
    assert per_item > 10
    assert len(body["details"]) + body["omitted"] == per_item * len(items)
    assert [d["index"] for d in body["details"]] == sorted(d["index"] for d in body["details"])
    assert len(raw) < CEILING
    # Only the rejection record was stored, and it says how many problems there were in all.
    assert topics_since(container, before) == ["wms-intake:DeliveryRejected"]

    async def logged() -> Any:
        response = await client.get(
            f"/api/tenants/{webhook.tenant.tenant_id}/integrations/wms/deliveries", headers=webhook.tenant.auth()
        )
        deliveries = (await response.json())["deliveries"]
        return deliveries[0]["error"] if deliveries else None

    error = await eventually(logged)
    assert len(error["details"]) + error["omitted"] == per_item * len(items)


async def test_bad_planned_dates_and_unknown_customers_are_capped_too(
    client: TestClient, webhook: Webhook, container: Container
) -> None:
    before = last_position(container)
    dates = [
        {"externalOrderId": f"D-{i}", "deliveryAddress": ADDRESS, "plannedDate": "2025-02-30"} for i in range(2500)
    ]
    status, raw = await post(client, webhook, dates)
    body = orjson.loads(raw)
    assert (status, body["error"]) == (422, "Invalid plannedDate")
    assert (len(body["fieldErrors"]["plannedDate"]), body["omitted"]) == (MAX_LISTED_PROBLEMS, 1500)
    assert len(raw) < CEILING

    customers = [{"externalOrderId": f"C-{i}", "customerId": f"no-such-customer-{i}"} for i in range(1200)]
    status, raw = await post(client, webhook, customers)
    body = orjson.loads(raw)
    assert (status, body["error"]) == (400, "Customer not found")
    assert (len(body["details"]), body["omitted"]) == (MAX_LISTED_PROBLEMS, 200)

    shapes: list[Any] = [1] * 1500
    status, raw = await post(client, webhook, shapes)
    body = orjson.loads(raw)
    assert (status, body["error"]) == (400, "Invalid payload shape")
    assert len(body["details"]) + body["omitted"] == 1500
    # Nothing but rejection records was stored.
    assert set(topics_since(container, before)) == {"wms-intake:DeliveryRejected"}


async def test_a_few_problems_are_all_listed_with_no_omitted_count(client: TestClient, webhook: Webhook) -> None:
    status, raw = await post(
        client, webhook, [wrong_everywhere(1), {"externalOrderId": "OK", "deliveryAddress": ADDRESS}]
    )
    body = orjson.loads(raw)
    assert status == 400 and "omitted" not in body and body["details"]


async def test_too_many_items_is_judged_before_their_shape_as_the_readme_orders_the_checks(
    client: TestClient, webhook: Webhook, container: Container
) -> None:
    limit = container.settings.max_batch_items
    before = last_position(container)
    items: list[Any] = [{"externalOrderId": f"N-{i}", "deliveryAddress": ADDRESS} for i in range(limit)] + [
        "not an object"
    ]
    status, raw = await post(client, webhook, items)
    assert (status, orjson.loads(raw)["error"]) == (413, "Payload too large")
    # At the limit, the same bad item is a shape error.
    status, raw = await post(client, webhook, items[1:])
    assert (status, orjson.loads(raw)["error"]) == (400, "Invalid payload shape")
    assert topics_since(container, before) == ["wms-intake:DeliveryRejected"] * 2


async def test_the_openapi_document_declares_the_cap(client: TestClient) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    text = orjson.dumps(document).decode()
    schemas = document["components"]["schemas"]
    assert "omitted" in schemas["WebhookValidationError"]["properties"], text[:500]
    assert "omitted" in schemas["InvalidPlannedDate"]["properties"]
    assert "1,000" in schemas["WebhookValidationError"]["properties"]["details"]["description"]
