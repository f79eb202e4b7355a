"""The delivery log: each batch received, newest first."""

from __future__ import annotations

from typing import Any

from application.paging import Page
from application.read_models import DeliveryRow


def present_delivery(delivery: DeliveryRow) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "deliveryId": delivery.delivery_id,
        "requestId": delivery.request_id,
        "channel": delivery.channel,
        "receivedAt": delivery.received_at,
        "status": delivery.status,
        "processed": delivery.processed,
        "error": delivery.error,
        "endpointId": delivery.endpoint_id,
        "secretUsed": delivery.secret_used,
    }
    # Only a partial acceptance has refused items, and only some batches ignored fields.
    if delivery.rejected_items is not None:
        shown["rejected"] = delivery.rejected or 0
        shown["rejectedItems"] = delivery.rejected_items
    if delivery.warnings is not None:
        shown["warnings"] = delivery.warnings
    return shown


def present_deliveries_page(page: Page[DeliveryRow]) -> dict[str, Any]:
    return {"deliveries": [present_delivery(d) for d in page.items], "nextCursor": page.next_cursor}
