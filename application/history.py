"""The audit view of an order: its events, and its state at any version."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.read_models import Location, OrderView
from application.timestamps import iso
from domain.order import COORDINATES, ORDER_FIELDS, FieldValue, Order


@dataclass(frozen=True)
class HistoryEntry:
    """One event of an order: what it set (by field name) and where it came from."""

    kind: str
    version: int
    timestamp: datetime
    #: The fields this event set; a creation lists only those it gave a value.
    changes: dict[str, FieldValue]
    #: The event's source as recorded (channel, deliveryId, requestId, apiKeyId).
    source: Mapping[str, str | None]
    #: The order's external id, on its creation only.
    external_order_id: str | None = None


@dataclass(frozen=True)
class OrderHistory:
    order_id: str
    events: list[HistoryEntry]


def history_entry(event: Any) -> HistoryEntry:
    if isinstance(event, Order.Created):
        changes: dict[str, FieldValue] = {k: v for k, v in event.details.items() if v is not None}
        return HistoryEntry(
            "OrderCreated",
            event.originator_version,
            event.timestamp,
            changes,
            event.source,
            external_order_id=event.external_order_id,
        )
    return HistoryEntry("OrderUpdated", event.originator_version, event.timestamp, dict(event.changes), event.source)


def history_of(order_id: str, events: Iterable[Any]) -> OrderHistory:
    return OrderHistory(order_id, [history_entry(e) for e in events])


def provided_location(lat: Any, lon: Any) -> Location | None:
    """The location of coordinates the WMS sent; None when it sent none."""
    if lat is None or lon is None:
        return None
    return Location(lat, lon, None, "provided")


def order_state(order: Order, customer_name: str | None) -> OrderView:
    """An order as the API shows it, from the aggregate (used for "as of")."""
    lat, lon = (order.details.get(name) for name in COORDINATES)
    return OrderView(
        order_id=str(order.id),
        external_order_id=order.external_order_id,
        fields={name: order.details.get(name) for name in ORDER_FIELDS},
        customer_name=customer_name,
        location=provided_location(lat, lon),
        created_at=iso(order.created_on),
        updated_at=iso(order.modified_on),
        version=order.version,
    )
