"""Validated order lines: what the webhook and the pull hand to ``IngestOrders``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.order import FieldValue


@dataclass(frozen=True)
class OrderLine:
    """One validated order item of a batch.

    ``patch`` holds the order fields the item carried (domain names), so that
    absent fields keep their value and ``None`` clears. ``customer_id`` and
    ``delivery_address`` decide the customer: an id wins, else the address.
    """

    external_order_id: str
    customer_id: str | None = None
    delivery_address: str | None = None
    customer_name: str | None = None
    customer_contact: str | None = None
    patch: Mapping[str, FieldValue] = field(default_factory=dict)
