"""Events stored by version 1 stay readable: the frozen fixture, loaded by today's code.

``tests/fixtures/events-v1.json`` holds every event type version 1 stores, with
realistic values, exactly as they were stored (topic, ids, version, JSON
state). It is never regenerated: a changed event class must still read these
(``class_version`` and ``upcast_v1_v2``, see docs/operations.md), and a new
event type gets a new fixture file. Loaded into an empty store, the events
must give the same aggregates, audit trail and read models they gave then.
"""

from __future__ import annotations

from uuid import UUID

from application.commands import Principal
from application.operator import OperatorCommands
from application.read_models import OrderFilter
from domain.ids import order_id
from domain.order import Order
from domain.pull_endpoint import PullEndpoint
from domain.roles import Role
from domain.tenant import Tenant
from domain.webhook import WmsWebhook
from interfaces.container import Container
from interfaces.http.presenters.deliveries import present_delivery
from interfaces.http.presenters.history import present_history
from interfaces.http.presenters.integrations import present_integration_status
from interfaces.http.presenters.orders import present_order
from tests.support.stored_event_fixtures import FIXTURES, load_fixture

FIXTURE = FIXTURES / "events-v1.json"


def test_version_1_events_load_into_the_same_states_histories_and_read_models(container: Container) -> None:
    events = load_fixture(container, FIXTURE)
    app = container.use_cases
    # Every stored event decodes with today's classes (upcasting included).
    for stored in app.recorder.select_notifications(start=0, limit=1000):
        app.mapper.to_domain_event(stored)

    (tenant_id,) = {UUID(e["originatorId"]) for e in events if e["topic"] == "wms-intake:TenantCreated"}
    tenant = app.repository.get(tenant_id)
    assert isinstance(tenant, Tenant) and tenant.name == "Fixture Foods Ltd"
    assert sorted((k.role.value, k.revoked) for k in tenant.api_keys.values()) == [("admin", False), ("planner", True)]
    tenants = OperatorCommands(app).list_tenants()
    assert [(t["name"], t["activeApiKeys"]) for t in tenants] == [("Fixture Foods Ltd", 1)]

    hooks = [
        app.repository.get(UUID(e["originatorId"])) for e in events if e["topic"] == "wms-intake:WmsWebhookConnected"
    ]
    assert len(hooks) == 1 and isinstance(hooks[0], WmsWebhook) and hooks[0].active and hooks[0].version == 4
    (endpoint_id,) = {UUID(e["originatorId"]) for e in events if e["topic"] == "wms-intake:PullEndpointAdded"}
    endpoint = app.repository.get(endpoint_id)
    assert isinstance(endpoint, PullEndpoint) and endpoint.removed and endpoint.interval_minutes == 15

    order = app.repository.get(order_id(tenant_id, "SO-1001"))
    assert isinstance(order, Order) and order.version == 2
    assert order.details["pallet_count"] == 5 and order.details["planned_date"] == "2025-02-24"
    assert order.details["total_weight"] == 812.5 and order.details["special_handling"] == ["tail-lift", "fragile"]

    history = present_history(app.order_history_for_operator(str(tenant_id), str(order.id)))
    assert [(e["type"], e["version"]) for e in history["events"]] == [("OrderCreated", 1), ("OrderUpdated", 2)]
    # Without a customerId the update is delivered to the customer of its new address.
    assert history["events"][1]["changes"] == {
        "palletCount": 5,
        "plannedDate": "2025-02-24",
        "deliveryAddress": "Gate 2, 1 Dock Road, Hull HU1 1AA",
        "customerId": order.details["customer_id"],
    }
    assert [e["source"]["requestId"] for e in history["events"]] == ["req-fixture-1", "req-fixture-2"]
    assert {e["source"]["channel"] for e in history["events"]} == {"webhook"}

    admin = Principal(tenant_id=tenant_id, key_id="operator", role=Role.ADMIN)
    planned = [
        present_order(o) for o in container.queries.orders_page(admin, OrderFilter("2025-02-22"), 100, None).items
    ]
    assert [o["externalOrderId"] for o in planned] == ["PULL-1", "SO-1002"]
    cafe = planned[1]
    assert cafe["customerName"] == "Harbour Café" and cafe["palletCount"] == 1
    assert cafe["location"]["status"] == "ok" and abs(cafe["location"]["lat"] - 51.501) < 0.01
    nowhere = present_order(container.queries.order_by_external_id(admin, "SO-1003"))
    assert nowhere["location"]["status"] == "failed"
    moved = present_order(container.queries.order_by_external_id(admin, "SO-1001"))
    assert (
        moved["customerId"] == order.details["customer_id"]
        and moved["version"] == 2
        and moved["plannedDate"] == "2025-02-24"
    )

    status = present_integration_status(container.queries.integration_status(admin, "http://example.test/hook"))
    assert status["webhook"]["active"] is True and status["webhook"]["lastReceivedAt"] is not None
    assert status["pullEndpoints"] == []
    deliveries = [present_delivery(d) for d in container.queries.deliveries_page(admin, 100, None).items]
    assert sorted((d["channel"], d["status"]) for d in deliveries) == [
        ("pull", 200),
        ("webhook", 200),
        ("webhook", 200),
        ("webhook", 400),
    ]
