"""Validated order lines: what the webhook and the pull hand to ``IngestOrders``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain.order import FieldValue


@dataclass(frozen=True, init=False)
class OrderLine:
    """One validated order item of a batch.

    ``patch`` holds the order fields the item carried (domain names), so that
    absent fields keep their value and ``None`` clears. ``customer_id`` and
    ``delivery_address`` decide the customer: an id wins, else the address.
    """

    external_order_id: str
    customer_id: str | None
    delivery_address: str | None
    customer_name: str | None
    customer_contact: str | None
    patch: Mapping[str, FieldValue]

    def __init__(
        self,
        external_order_id: str,
        customer_id: str | None = None,
        delivery_address: str | None = None,
        customer_name: str | None = None,
        customer_contact: str | None = None,
        patch: Mapping[str, FieldValue] | None = None,
    ) -> None:
        # A batch builds thousands of lines. The generated __init__ of a frozen
        # dataclass sets each field through object.__setattr__, which cost more
        # than the rest of making a line; filling the instance's dict once
        # gives the same attributes (and keeps every other dataclass method).
        vars(self).update(
            external_order_id=external_order_id,
            customer_id=customer_id,
            delivery_address=delivery_address,
            customer_name=customer_name,
            customer_contact=customer_contact,
            patch={} if patch is None else patch,
        )
