"""The audit view of an order: its events, and its state at any version."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from application.timestamps import iso
from domain.order import FieldValue, Order

#: Domain field name -> public (wire) name.
WIRE_NAME = {
    "customer_id": "customerId",
    "delivery_address": "deliveryAddress",
    "total_weight": "totalWeight",
    "volume": "volume",
    "pallet_count": "palletCount",
    "special_handling": "specialHandling",
    "planned_date": "plannedDate",
    "latitude": "latitude",
    "longitude": "longitude",
}

def wire_fields(fields: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    return {WIRE_NAME.get(name, name): value for name, value in fields.items()}


def history_entry(event: Any) -> dict[str, Any]:
    if isinstance(event, Order.Created):
        kind = "OrderCreated"
        changes = {k: v for k, v in event.details.items() if v is not None}
        changes = {"externalOrderId": event.external_order_id, **wire_fields(changes)}
    else:
        kind = "OrderUpdated"
        changes = wire_fields(event.changes)
    source = dict(event.source)
    if source.get("apiKeyId") is None:
        source.pop("apiKeyId", None)
    return {
        "type": kind,
        "version": event.originator_version,
        "timestamp": iso(event.timestamp),
        "changes": changes,
        "source": source,
    }


def history_of(order_id: str, events: Iterable[Any]) -> dict[str, Any]:
    return {"orderId": order_id, "events": [history_entry(e) for e in events]}


def provided_location(lat: Any, lon: Any) -> dict[str, Any] | None:
    """The location of coordinates the WMS sent; None when it sent none."""
    if lat is None or lon is None:
        return None
    return {"lat": lat, "lon": lon, "precision": None, "status": "provided"}


def order_state(order: Order, customer_name: str | None) -> dict[str, Any]:
    """An order as the API shows it, from the aggregate (used for "as of")."""
    fields = wire_fields(order.details)
    lat, lon = fields.pop("latitude", None), fields.pop("longitude", None)
    return {
        "orderId": str(order.id),
        "externalOrderId": order.external_order_id,
        **fields,
        "customerName": customer_name,
        "location": provided_location(lat, lon),
        "createdAt": iso(order.created_on),
        "updatedAt": iso(order.modified_on),
        "version": order.version,
    }
