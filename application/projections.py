"""Projections: how each event changes each read model.

A projection names the event topics it needs (the follower decodes nothing
else) and writes through its view's writer; it never reads the event store.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any, Generic, Protocol, TypeVar

from application.read_models import DeliveriesWriter, IntegrationsWriter, OrdersWriter
from domain.customer import Customer
from domain.delivery import Delivery
from domain.order import Order
from domain.webhook import WmsWebhook

W = TypeVar("W")
W_contra = TypeVar("W_contra", contravariant=True)


class Projection(Protocol[W_contra]):
    name: str
    topics: frozenset[str]

    def process(self, event: Any, writer: W_contra) -> None: ...


def _topics(*classes: type) -> frozenset[str]:
    return frozenset(getattr(c, "TOPIC") for c in classes)


class OrdersProjection(Generic[W]):
    """Planning's view: orders with their customer's name."""

    name = "orders"
    topics = _topics(Order.Created, Order.Updated, Customer.Created)  # type: ignore[attr-defined]

    @singledispatchmethod
    def process(self, event: Any, writer: OrdersWriter) -> None:
        """Events of other types change nothing here."""

    @process.register
    def _(self, event: Order.Created, writer: OrdersWriter) -> None:
        writer.insert_order(
            {
                "order_id": str(event.originator_id),
                "tenant_id": event.tenant_id,
                "external_order_id": event.external_order_id,
                **event.details,
                "created_at": event.timestamp,
                "updated_at": event.timestamp,
                "version": event.originator_version,
            }
        )

    @process.register
    def _(self, event: Order.Updated, writer: OrdersWriter) -> None:  # type: ignore[name-defined]
        writer.update_order(
            str(event.originator_id), dict(event.changes), event.timestamp, event.originator_version
        )

    @process.register
    def _(self, event: Customer.Created, writer: OrdersWriter) -> None:
        writer.upsert_customer(
            {
                "customer_id": str(event.originator_id),
                "tenant_id": event.tenant_id,
                "name": event.name,
                "contact": event.contact,
                "address": event.address,
                "created_at": event.timestamp,
            }
        )


class IntegrationsProjection:
    """Integration status: webhook connection, active flag, lastReceivedAt."""

    name = "integrations"
    topics = _topics(
        WmsWebhook.Created,
        WmsWebhook.Deactivated,  # type: ignore[attr-defined]
        WmsWebhook.Reactivated,  # type: ignore[attr-defined]
        Delivery.Accepted,
    )

    @singledispatchmethod
    def process(self, event: Any, writer: IntegrationsWriter) -> None:
        """Events of other types change nothing here."""

    @process.register
    def _(self, event: WmsWebhook.Created, writer: IntegrationsWriter) -> None:
        writer.webhook_connected(str(event.originator_id), event.tenant_id, event.timestamp)

    @process.register
    def _(self, event: WmsWebhook.Deactivated, writer: IntegrationsWriter) -> None:  # type: ignore[name-defined]
        writer.webhook_active(str(event.originator_id), False)

    @process.register
    def _(self, event: WmsWebhook.Reactivated, writer: IntegrationsWriter) -> None:  # type: ignore[name-defined]
        writer.webhook_active(str(event.originator_id), True)

    @process.register
    def _(self, event: Delivery.Accepted, writer: IntegrationsWriter) -> None:
        writer.delivery_received(event.tenant_id, event.channel, event.received_at)


class DeliveriesProjection:
    """The delivery log: every accepted and every rejected batch."""

    name = "deliveries"
    topics = _topics(Delivery.Accepted, Delivery.Rejected)

    @singledispatchmethod
    def process(self, event: Any, writer: DeliveriesWriter) -> None:
        """Events of other types change nothing here."""

    @process.register
    def _(self, event: Delivery.Accepted, writer: DeliveriesWriter) -> None:
        writer.insert_delivery(_delivery_row(event, status=200, processed=event.processed, error=None))

    @process.register
    def _(self, event: Delivery.Rejected, writer: DeliveriesWriter) -> None:
        writer.insert_delivery(_delivery_row(event, status=event.status, processed=0, error=event.error))


def _delivery_row(event: Any, *, status: int, processed: int, error: Any) -> dict[str, Any]:
    return {
        "delivery_id": str(event.originator_id),
        "tenant_id": event.tenant_id,
        "request_id": event.request_id,
        "channel": event.channel,
        "received_at": event.received_at,
        "status": status,
        "processed": processed,
        "error": error,
        "endpoint_id": event.endpoint_id,
        "payload_bytes": event.payload_bytes,
    }

