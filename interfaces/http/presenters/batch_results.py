"""The answer to a batch of orders (webhook, and a pull's Sync now): what each item became."""

from __future__ import annotations

from typing import Any

from application.commands import IngestResult, OrderOutcome
from application.errors import EveryItemRejectedError


def present_ingest_result(result: IngestResult) -> dict[str, Any]:
    """The documented success body, one entry per input item in input order.

    ``warnings`` (ignored fields) is added only when there are any, so a
    batch without them gets exactly the documented body.
    """
    if result.partial:
        return present_partial_result(result)
    body: dict[str, Any] = {
        "accepted": True,
        "processed": len(result.orders),
        "orders": [
            {"externalOrderId": o.external_order_id, "orderId": str(o.order_id), "created": o.created}
            for o in result.orders
        ],
    }
    if result.warnings:
        body["warnings"] = list(result.warnings)
    return body


def present_partial_result(result: IngestResult) -> dict[str, Any]:
    """A partial acceptance: what was stored and what was refused, each with its index."""
    return _partial_body(result.orders, result.indexes, result.rejected, result.warnings)


def present_every_item_rejected(refusal: EveryItemRejectedError) -> dict[str, Any]:
    """The refusal of a partial batch that stored nothing: the partial body, with its error."""
    return _partial_body((), (), refusal.rejected, ())


def _partial_body(
    orders: tuple[OrderOutcome, ...],
    indexes: tuple[int, ...],
    rejected: tuple[dict[str, Any], ...],
    warnings: tuple[dict[str, Any], ...],
) -> dict[str, Any]:
    body: dict[str, Any] = {} if orders or not rejected else {"error": "Every order was rejected"}
    body.update(
        {
            "accepted": bool(orders) or not rejected,
            "atomic": False,
            "processed": len(orders),
            "rejected": len(rejected),
            "orders": [
                {
                    "index": index,
                    "externalOrderId": o.external_order_id,
                    "orderId": str(o.order_id),
                    "created": o.created,
                }
                for index, o in zip(indexes, orders, strict=False)
            ],
            "rejectedItems": list(rejected),
        }
    )
    if warnings:
        body["warnings"] = list(warnings)
    return body
