"""Read-model rows: what the queries return, in the language's own names.

The ports that write and read them are in ``application/ports/read_models.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.ports.refusals import RefusalTally
from domain.order import FieldValue


class TrackingConflictError(Exception):
    """Another process moved the view's position first; re-read and go on."""


# Rows the queries return, in this code's own names: the HTTP layer's
# presenters turn them into response bodies.


@dataclass(frozen=True)
class Location:
    lat: float | None
    lon: float | None
    precision: str | None
    #: pending, ok, failed, disabled (geocoding) or provided (the WMS sent coordinates).
    status: str
    #: Why geocoding failed (status failed only).
    reason: str | None = None


@dataclass(frozen=True)
class OrderView:
    """An order as shown: from the read model, or rebuilt from its events ("as of")."""

    order_id: str
    external_order_id: str
    #: The order's fields by their names in ``domain.order.ORDER_FIELDS`` (coordinates are in ``location``).
    fields: dict[str, FieldValue]
    customer_name: str | None
    #: None in an order shown as of a past version that has no coordinates of its own.
    location: Location | None
    created_at: str
    updated_at: str
    version: int

    @property
    def customer_id(self) -> str | None:
        value = self.fields.get("customer_id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class CustomerRow:
    customer_id: str
    name: str
    contact: str | None
    address: str | None
    created_at: str


@dataclass(frozen=True)
class DateCount:
    date: str
    orders: int


@dataclass(frozen=True)
class PlannedDates:
    """The dates that have orders, earliest first, and how many orders have no date."""

    dates: list[DateCount]
    undated: int


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: str
    request_id: str
    channel: str
    received_at: str
    status: int
    processed: int
    error: Any
    endpoint_id: str | None
    secret_used: str | None
    #: Partial acceptance only (None otherwise): how many items were refused, and which.
    rejected: int | None = None
    rejected_items: list[Any] | None = None
    #: The fields the batch sent that were ignored (None: there were none).
    warnings: list[Any] | None = None


@dataclass(frozen=True)
class WebhookRow:
    active: bool
    connected_at: str
    last_received_at: str | None
    #: Until when a rotated-out secret still works (None: it no longer does).
    previous_secret_expires_at: str | None


@dataclass(frozen=True)
class PullEndpointRow:
    endpoint_id: str
    url: str
    method: str
    interval_minutes: int | None
    created_at: str
    last_sync_at: str | None
    last_sync_status: str | None
    last_error: str | None
    last_processed: int | None
    next_sync_at: str | None


@dataclass(frozen=True)
class IntegrationStatus:
    webhook_url: str
    webhook: WebhookRow | None
    pull_endpoints: list[PullEndpointRow]
    #: Refused webhook requests by the reason shown (None when refusals are
    #: not counted or there is no webhook).
    refused: dict[str, RefusalTally] | None = None


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a list shows (all of them by default)."""

    #: Only orders planned for this date (YYYY-MM-DD).
    planned_date: str | None = None
    #: Only orders whose external id contains this (any case).
    search: str | None = None
    #: Only orders without a planned date.
    undated: bool = False
