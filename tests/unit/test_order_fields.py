"""The order fields are declared once (``domain.order.FIELDS``): every list of
them elsewhere follows it, so a field added there appears everywhere."""

from __future__ import annotations

from application.order_payload import OrderItem, parse_order_batch
from domain.order import COORDINATES, FIELDS, ORDER_FIELDS
from infrastructure.read_models.orders_view import ORDER_COLUMNS
from interfaces.http import response_schemas as rs
from interfaces.http.openapi import webhook_order_schema
from tests.support.order_wire import COORDINATE_KEYS, ORDER_KEYS


def test_the_webhook_item_has_each_field_under_its_wire_name_in_the_checked_order() -> None:
    assert list(OrderItem.model_fields) == [*ORDER_KEYS, *COORDINATE_KEYS]
    assert {f.wire for f in FIELDS} <= OrderItem.model_fields.keys()


def test_a_parsed_item_names_each_field_it_sets_by_its_field_name() -> None:
    body = (
        b'{"externalOrderId": "A", "customerId": "c", "totalWeight": 1.5, "specialHandling": ["x"], '
        b'"plannedDate": "2025-02-24", "latitude": 1.0, "longitude": 2.0}'
    )
    [line] = parse_order_batch(body, max_items=10)
    assert line.patch == {
        "total_weight": 1.5,
        "special_handling": ["x"],
        "planned_date": "2025-02-24",
        "latitude": 1.0,
        "longitude": 2.0,
    }


def test_the_read_model_the_response_schema_and_the_document_follow_the_table() -> None:
    assert ORDER_COLUMNS == (*ORDER_FIELDS, "address_key", *COORDINATES)
    shown = {f.wire for f in FIELDS if f.name not in COORDINATES}
    assert shown <= rs.OrderBody.model_fields.keys()
    assert rs.OrderBody.model_fields["palletCount"].annotation == (int | None)
    assert rs.OrderBody.model_fields["specialHandling"].annotation == (list[str] | None)
    properties = webhook_order_schema()["properties"]
    assert all(properties[f.wire]["description"] == f.description for f in FIELDS)
