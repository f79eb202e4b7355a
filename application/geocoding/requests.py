"""Which addresses need coordinates: the projection that fills the geocoding queue.

A tracked follower of the event store (exactly once, resumable, like the read
models) turns ``Customer.Created`` and order events carrying a delivery
address into rows of a durable per-tenant address queue. The same normalised
address is queued once per tenant.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from application.event_topics import event_topics, topics_of
from application.ports.geocoding import GeocodingQueueWriter
from domain.addresses import normalise_address
from domain.customer import Customer
from domain.order import Order


class GeocodingRequests:
    """The follower's projection: every address a customer or an order brings."""

    name = "geocoding"
    topics = topics_of(Customer.Created) | event_topics(Order, "Created", "Updated")

    @singledispatchmethod
    def process(self, event: Any, writer: GeocodingQueueWriter) -> None:
        """Events of other types need no coordinates."""

    @process.register
    def _(self, event: Customer.Created, writer: GeocodingQueueWriter) -> None:
        writer.enqueue(event.tenant_id, event.address, event.timestamp.timestamp())

    @process.register
    def _(self, event: Order.Created, writer: GeocodingQueueWriter) -> None:
        order_id = str(event.originator_id)
        writer.order_placed(order_id, event.tenant_id)
        address = event.details.get("delivery_address")
        # An order placed with the WMS's own coordinates is located already.
        provided = event.details.get("latitude") is not None
        if isinstance(address, str) and normalise_address(address) and not provided:
            writer.enqueue(event.tenant_id, address, event.timestamp.timestamp())

    @process.register
    def _(self, event: Order.Updated, writer: GeocodingQueueWriter) -> None:  # type: ignore[name-defined]  # made by @event
        address = event.changes.get("delivery_address")
        # A new address that came with coordinates needs no geocoding; one
        # without them (the order drops its old ones) does.
        provided = event.changes.get("latitude") is not None
        if isinstance(address, str) and normalise_address(address) and not provided:
            writer.enqueue_for_order(str(event.originator_id), address, event.timestamp.timestamp())
