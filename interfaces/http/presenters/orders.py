"""Orders as the API shows them: one order, a page, the planned dates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from application.paging import Page
from application.read_models import Location, OrderView, PlannedDates
from domain.order import ORDER_FIELDS, WIRE_NAME, FieldValue


def wire_fields(fields: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    """Order fields (by field name) under their wire names, in the order given."""
    return {WIRE_NAME.get(name, name): value for name, value in fields.items()}


def present_location(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    shown: dict[str, Any] = {
        "lat": location.lat,
        "lon": location.lon,
        "precision": location.precision,
        "status": location.status,
    }
    if location.reason is not None:
        shown["reason"] = location.reason
    return shown


def present_order(order: OrderView) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "externalOrderId": order.external_order_id,
        **{WIRE_NAME[name]: order.fields.get(name) for name in ORDER_FIELDS},
        "customerName": order.customer_name,
        "location": present_location(order.location),
        "createdAt": order.created_at,
        "updatedAt": order.updated_at,
        "version": order.version,
    }


def present_orders_page(page: Page[OrderView]) -> dict[str, Any]:
    return {"orders": [present_order(order) for order in page.items], "nextCursor": page.next_cursor}


def present_planned_dates(dates: PlannedDates) -> dict[str, Any]:
    return {"dates": [{"date": entry.date, "orders": entry.orders} for entry in dates.dates], "undated": dates.undated}
