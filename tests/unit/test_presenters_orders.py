"""Presenters of orders, their history, the change feed and batch results:
a typed value in, the documented wire body out (checked against its schema too)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from application.commands import IngestResult, OrderOutcome
from application.history import HistoryEntry, OrderHistory
from application.order_changes import ChangesPage, OrderChange
from application.paging import Page
from application.read_models import CustomerRow, DateCount, Location, OrderView, PlannedDates
from domain.order import FIELDS, ORDER_FIELDS, FieldValue
from interfaces.http import response_schemas as rs
from interfaces.http.presenters.batch_results import present_ingest_result
from interfaces.http.presenters.changes import present_changes_page
from interfaces.http.presenters.customers import present_customers_page
from interfaces.http.presenters.history import present_history
from interfaces.http.presenters.orders import present_order, present_orders_page, present_planned_dates

AT = datetime(2025, 2, 22, 9, 30, tzinfo=UTC)
STAMP = "2025-02-22T09:30:00.000000Z"
ORDER_ID = UUID("6f1d2c3b-0a9e-4d8c-b7a6-5f4e3d2c1b0a")
FULL: dict[str, FieldValue] = {
    "customer_id": "c-1",
    "delivery_address": "1 Dock Road, Hull HU1 1AA",
    "total_weight": 25.5,
    "volume": 1.25,
    "pallet_count": 2,
    "special_handling": ["fragile"],
    "planned_date": "2025-02-24",
}
#: How an order with the ``FULL`` fields starts on the wire, whichever body shows it.
FULL_ON_THE_WIRE = {
    "orderId": str(ORDER_ID),
    "externalOrderId": "SO-1",
    "customerId": "c-1",
    "deliveryAddress": "1 Dock Road, Hull HU1 1AA",
    "totalWeight": 25.5,
    "volume": 1.25,
    "palletCount": 2,
    "specialHandling": ["fragile"],
    "plannedDate": "2025-02-24",
}


def order_view(**overrides: Any) -> OrderView:
    shown = OrderView(
        order_id=str(ORDER_ID),
        external_order_id="SO-1",
        fields=dict(FULL),
        customer_name="Acme",
        location=Location(53.74, -0.33, "postcode", "ok"),
        created_at=STAMP,
        updated_at=STAMP,
        version=2,
    )
    return replace(shown, **overrides)


def test_an_order_shows_every_field_under_its_wire_name() -> None:
    assert present_order(order_view()) == {
        **FULL_ON_THE_WIRE,
        "customerName": "Acme",
        "location": {"lat": 53.74, "lon": -0.33, "precision": "postcode", "status": "ok"},
        "createdAt": STAMP,
        "updatedAt": STAMP,
        "version": 2,
    }
    rs.OrderBody.model_validate(present_order(order_view()))


def test_a_failed_location_says_why_and_an_order_as_of_a_version_may_have_none() -> None:
    failed = present_order(order_view(location=Location(None, None, None, "failed", "no postcode found")))
    assert failed["location"] == {
        "lat": None,
        "lon": None,
        "precision": None,
        "status": "failed",
        "reason": "no postcode found",
    }
    unlocated = present_order(order_view(location=None, fields={}))
    assert unlocated["location"] is None
    # A field the row lacks is shown, as null.
    assert {f.wire for f in FIELDS if f.name in ORDER_FIELDS} <= unlocated.keys()
    assert unlocated["palletCount"] is None
    rs.OrderBody.model_validate(failed)


def test_pages_of_orders_and_customers_and_the_planned_dates() -> None:
    page = present_orders_page(Page([order_view()], "next"))
    assert page["nextCursor"] == "next" and [o["externalOrderId"] for o in page["orders"]] == ["SO-1"]
    rs.OrdersPage.model_validate(page)
    customers = present_customers_page(Page([CustomerRow("c-1", "Acme", None, "1 Dock Road", STAMP)], None))
    assert customers == {
        "customers": [
            {"customerId": "c-1", "name": "Acme", "contact": None, "address": "1 Dock Road", "createdAt": STAMP}
        ],
        "nextCursor": None,
    }
    rs.CustomersPage.model_validate(customers)
    dates = present_planned_dates(PlannedDates([DateCount("2025-02-24", 3)], 1))
    assert dates == {"dates": [{"date": "2025-02-24", "orders": 3}], "undated": 1}
    rs.PlannedDates.model_validate(dates)


def test_the_history_names_the_fields_each_event_set_and_where_it_came_from() -> None:
    history = OrderHistory(
        str(ORDER_ID),
        [
            HistoryEntry(
                "OrderCreated",
                1,
                AT,
                {"delivery_address": "1 Dock Road", "latitude": 53.7},
                {"channel": "webhook", "deliveryId": "d-1", "requestId": "r-1", "apiKeyId": None},
                external_order_id="SO-1",
            ),
            HistoryEntry(
                "OrderUpdated",
                2,
                AT,
                {"pallet_count": None},
                {"channel": "api", "deliveryId": None, "requestId": "r-2", "apiKeyId": "k-1"},
            ),
        ],
    )
    body = present_history(history)
    assert body == {
        "orderId": str(ORDER_ID),
        "events": [
            {
                "type": "OrderCreated",
                "version": 1,
                "timestamp": STAMP,
                "changes": {"externalOrderId": "SO-1", "deliveryAddress": "1 Dock Road", "latitude": 53.7},
                "source": {"channel": "webhook", "deliveryId": "d-1", "requestId": "r-1"},
            },
            {
                "type": "OrderUpdated",
                "version": 2,
                "timestamp": STAMP,
                "changes": {"palletCount": None},
                "source": {"channel": "api", "deliveryId": None, "requestId": "r-2", "apiKeyId": "k-1"},
            },
        ],
    }
    rs.OrderHistory.model_validate(body)


def test_a_change_carries_the_whole_state_after_it() -> None:
    later = datetime(2025, 2, 23, tzinfo=UTC)
    change = OrderChange(
        position=42,
        order_id=str(ORDER_ID),
        external_order_id="SO-1",
        event=HistoryEntry("OrderUpdated", 2, later, {"planned_date": "2025-02-25"}, {"channel": "api"}),
        state={**FULL, "planned_date": "2025-02-25"},
        created_at=AT,
    )
    body = present_changes_page(ChangesPage([change], 42, True))
    assert body == {
        "changes": [
            {
                "position": "42",
                "type": "OrderUpdated",
                "orderId": str(ORDER_ID),
                "externalOrderId": "SO-1",
                "version": 2,
                "timestamp": "2025-02-23T00:00:00.000000Z",
                "changes": {"plannedDate": "2025-02-25"},
                "state": {
                    **FULL_ON_THE_WIRE,
                    "plannedDate": "2025-02-25",
                    "createdAt": STAMP,
                    "updatedAt": "2025-02-23T00:00:00.000000Z",
                    "version": 2,
                },
            }
        ],
        "nextCursor": "42",
    }
    rs.OrderChangesPage.model_validate(body)


def outcome(external_id: str, created: bool, changed: bool = True) -> OrderOutcome:
    return OrderOutcome(external_id, ORDER_ID, created, changed)


def test_an_accepted_batch_lists_each_item_and_warnings_only_when_there_are_any() -> None:
    result = IngestResult(UUID(int=1), (outcome("A", True), outcome("B", False, changed=False)))
    assert present_ingest_result(result) == {
        "accepted": True,
        "processed": 2,
        "orders": [
            {"externalOrderId": "A", "orderId": str(ORDER_ID), "created": True},
            {"externalOrderId": "B", "orderId": str(ORDER_ID), "created": False},
        ],
    }
    warning = {"index": 0, "externalOrderId": "A", "field": "planedDate", "message": "unknown field, ignored"}
    warned = present_ingest_result(IngestResult(UUID(int=1), (outcome("A", True),), warnings=(warning,)))
    assert warned["warnings"] == [warning]
    rs.WebhookAccepted.model_validate(warned)


def test_a_partial_acceptance_gives_each_stored_order_and_each_refusal_its_index() -> None:
    refused = {
        "index": 0,
        "externalOrderId": "X",
        "status": 422,
        "error": "Invalid plannedDate",
        "fieldErrors": {"plannedDate": ["item 0: bad"]},
    }
    body = present_ingest_result(
        IngestResult(UUID(int=1), (outcome("A", True),), partial=True, indexes=(1,), rejected=(refused,))
    )
    assert body == {
        "accepted": True,
        "atomic": False,
        "processed": 1,
        "rejected": 1,
        "orders": [{"index": 1, "externalOrderId": "A", "orderId": str(ORDER_ID), "created": True}],
        "rejectedItems": [refused],
    }
    rs.PartialAcceptance.model_validate(body)
    nothing = present_ingest_result(IngestResult(UUID(int=1), (), partial=True, rejected=(refused,)))
    assert nothing["error"] == "Every order was rejected" and nothing["accepted"] is False
