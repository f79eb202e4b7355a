"""The keys of one order in a webhook batch, as the integration contract names
them. Written out here by hand, apart from the product's own field table
(``domain.order.FIELDS``), so that a test can check that table against an
independent list, and every other test takes the names from this one place."""

from __future__ import annotations

#: Every key a WMS may send for an order but its coordinates, in the order the webhook item checks them.
ORDER_KEYS: tuple[str, ...] = (
    "externalOrderId",
    "deliveryAddress",
    "customerId",
    "customerName",
    "customerContact",
    "totalWeight",
    "volume",
    "palletCount",
    "specialHandling",
    "plannedDate",
)
#: The coordinates a WMS may send with an order (both or neither), checked last.
COORDINATE_KEYS: tuple[str, str] = ("latitude", "longitude")
