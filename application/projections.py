"""Projections: how each event changes each read model.

A projection names the event topics it needs (the follower decodes nothing
else) and writes through its view's writer; it never reads the event store.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any, Generic, TypeVar

from application.event_topics import event_topics, topics_of
from application.geocode_result import failure_reason
from application.ports.projections import Projection
from application.ports.read_models import DeliveriesWriter, IntegrationsWriter, OrdersWriter
from domain.addresses import normalise_address
from domain.customer import Customer
from domain.delivery import Delivery
from domain.location import Location
from domain.order import Order
from domain.webhook import WmsWebhook

W = TypeVar("W")

__all__ = ["DeliveriesProjection", "IntegrationsProjection", "OrdersProjection", "Projection"]


class OrdersProjection(Generic[W]):
    """Planning's view: orders with their customer's name and their address's location."""

    name = "orders"
    topics = event_topics(Order, "Created", "Updated") | topics_of(
        Customer.Created, Location.Created, Location.Geocoded, Location.GeocodingFailed
    )

    @singledispatchmethod
    def process(self, event: Any, writer: OrdersWriter) -> None:
        """Events of other types change nothing here."""

    @process.register
    def _(self, event: Order.Created, writer: OrdersWriter) -> None:
        details = event.details
        writer.insert_order(
            {
                "order_id": str(event.originator_id),
                "tenant_id": event.tenant_id,
                "external_order_id": event.external_order_id,
                **details,
                "address_key": _address_key(details.get("delivery_address")),
                "created_at": event.timestamp,
                "updated_at": event.timestamp,
                "version": event.originator_version,
            }
        )

    @process.register
    def _(self, event: Order.Updated, writer: OrdersWriter) -> None:  # type: ignore[name-defined]  # made by @event
        changes = dict(event.changes)
        if "delivery_address" in changes:
            changes["address_key"] = _address_key(changes["delivery_address"])
        writer.update_order(str(event.originator_id), changes, event.timestamp, event.originator_version)

    @process.register
    def _(self, event: Customer.Created, writer: OrdersWriter) -> None:
        writer.upsert_customer(
            {
                "customer_id": str(event.originator_id),
                "tenant_id": event.tenant_id,
                "name": event.name,
                "contact": event.contact,
                "address": event.address,
                "address_key": event.normalised_address,
                "created_at": event.timestamp,
            }
        )

    @process.register
    def _(self, event: Location.Created, writer: OrdersWriter) -> None:
        writer.location_created(str(event.originator_id), event.tenant_id, event.normalised_address, event.timestamp)

    @process.register
    def _(self, event: Location.Geocoded, writer: OrdersWriter) -> None:
        found = {
            "lat": event.lat,
            "lon": event.lon,
            "precision": event.precision,
            "provider": event.provider,
            "matched_address": event.matched_address,
        }
        writer.location_found(str(event.originator_id), found, event.timestamp)

    @process.register
    def _(self, event: Location.GeocodingFailed, writer: OrdersWriter) -> None:
        # Users are shown what kind of failure it was; the event keeps the details.
        reason = failure_reason(event.cause, event.reason)
        writer.location_failed(str(event.originator_id), reason, event.timestamp)


def _address_key(address: Any) -> str | None:
    """The order's own normalised address; None: it goes to its customer's."""
    if not isinstance(address, str):
        return None
    return normalise_address(address) or None


class IntegrationsProjection:
    """Integration status: webhook connection, active flag, lastReceivedAt."""

    name = "integrations"
    topics = topics_of(Delivery.Accepted) | event_topics(
        WmsWebhook, "Created", "Deactivated", "Reactivated", "SecretRegenerated", "SecretRotated", "PreviousSecretEnded"
    )

    @singledispatchmethod
    def process(self, event: Any, writer: IntegrationsWriter) -> None:
        """Events of other types change nothing here."""

    @process.register
    def _(self, event: WmsWebhook.Created, writer: IntegrationsWriter) -> None:
        writer.webhook_connected(str(event.originator_id), event.tenant_id, event.timestamp)

    @process.register
    def _(self, event: WmsWebhook.Deactivated, writer: IntegrationsWriter) -> None:  # type: ignore[name-defined]  # made by @event
        writer.webhook_active(str(event.originator_id), False)
        writer.previous_secret_until(str(event.originator_id), None)

    @process.register
    def _(self, event: WmsWebhook.Reactivated, writer: IntegrationsWriter) -> None:  # type: ignore[name-defined]  # made by @event
        writer.webhook_active(str(event.originator_id), True)

    @process.register
    def _(self, event: Delivery.Accepted, writer: IntegrationsWriter) -> None:
        writer.delivery_received(event.tenant_id, event.channel, event.received_at)

    # A secret rotation's window: until when the previous secret still opens the webhook.
    @process.register
    def _(self, event: WmsWebhook.SecretRotated, writer: IntegrationsWriter) -> None:  # type: ignore[name-defined]  # made by @event
        writer.previous_secret_until(str(event.originator_id), event.previous_valid_until)

    @process.register
    def _(self, event: WmsWebhook.SecretRegenerated, writer: IntegrationsWriter) -> None:  # type: ignore[name-defined]  # made by @event
        writer.previous_secret_until(str(event.originator_id), None)

    @process.register
    def _(self, event: WmsWebhook.PreviousSecretEnded, writer: IntegrationsWriter) -> None:  # type: ignore[name-defined]  # made by @event
        writer.previous_secret_until(str(event.originator_id), None)


class DeliveriesProjection:
    """The delivery log: every accepted and every rejected batch."""

    name = "deliveries"
    topics = topics_of(Delivery.Accepted, Delivery.Rejected)

    @singledispatchmethod
    def process(self, event: Any, writer: DeliveriesWriter) -> None:
        """Events of other types change nothing here."""

    @process.register
    def _(self, event: Delivery.Accepted, writer: DeliveriesWriter) -> None:
        row = _delivery_row(event, status=200, processed=event.processed, error=None)
        row["warnings"] = event.warnings
        writer.insert_delivery(row)

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
        # Recorded since secret rotation exists; older deliveries have none.
        "secret_used": getattr(event, "secret_used", None),
        # A partial acceptance (atomic=false): the items it refused (None: not partial).
        "rejected": getattr(event, "rejected", 0),
        "rejected_items": getattr(event, "rejected_items", None),
    }
