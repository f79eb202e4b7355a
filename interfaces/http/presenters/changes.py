"""The change feed: each change with the order's whole state after it."""

from __future__ import annotations

from typing import Any

from application.order_changes import ChangesPage, OrderChange
from application.timestamps import iso
from interfaces.http.presenters.orders import wire_fields


def present_change(change: OrderChange) -> dict[str, Any]:
    event = change.event
    timestamp = iso(event.timestamp)
    return {
        "position": str(change.position),
        "type": event.kind,
        "orderId": change.order_id,
        "externalOrderId": change.external_order_id,
        "version": event.version,
        "timestamp": timestamp,
        "changes": wire_fields(event.changes),
        "state": {
            "orderId": change.order_id,
            "externalOrderId": change.external_order_id,
            **wire_fields(change.state),
            "createdAt": iso(change.created_at),
            "updatedAt": timestamp,
            "version": event.version,
        },
    }


def present_changes_page(page: ChangesPage) -> dict[str, Any]:
    return {"changes": [present_change(c) for c in page.changes], "nextCursor": str(page.next_cursor)}
