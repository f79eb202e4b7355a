"""An order's audit trail: its events, oldest first."""

from __future__ import annotations

from typing import Any

from application.history import HistoryEntry, OrderHistory
from application.timestamps import iso
from interfaces.http.presenters.orders import wire_fields


def present_history_entry(entry: HistoryEntry) -> dict[str, Any]:
    changes = wire_fields(entry.changes)
    if entry.external_order_id is not None:
        changes = {"externalOrderId": entry.external_order_id, **changes}
    source = dict(entry.source)
    # A change no person made through the API names no key.
    if source.get("apiKeyId") is None:
        source.pop("apiKeyId", None)
    return {
        "type": entry.kind,
        "version": entry.version,
        "timestamp": iso(entry.timestamp),
        "changes": changes,
        "source": source,
    }


def present_history(history: OrderHistory) -> dict[str, Any]:
    return {"orderId": history.order_id, "events": [present_history_entry(e) for e in history.events]}
