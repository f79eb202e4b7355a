"""Read-model interfaces: what projections write and what queries read.

Infrastructure implements each for SQLite and PostgreSQL. A ``TrackedView``
writes its rows and its tracking position in one transaction, so every event
is applied exactly once and a view can be rebuilt from position 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from application.ports.refusals import RefusalTally
from domain.order import FieldValue

W_co = TypeVar("W_co", covariant=True)
T_co = TypeVar("T_co", covariant=True)


class TrackingConflictError(Exception):
    """Another process moved the view's position first; re-read and go on."""


class TrackedView(Protocol[W_co]):
    name: str

    def position(self) -> int:
        """The notification id of the last event applied (0: none)."""

    def batch(self, expected: int, new: int) -> AbstractContextManager[W_co]:
        """One transaction: rows written through the writer plus the tracking
        move from ``expected`` to ``new``. Raises TrackingConflictError if the
        position is no longer ``expected``."""

    def advance(self, expected: int, new: int) -> None:
        """Move the tracking from ``expected`` to ``new`` with no rows to write
        (a range holding none of this view's events). Raises TrackingConflictError."""

    def reset(self) -> None:
        """Drop every row and set the position back to 0 (for a rebuild)."""


@dataclass(frozen=True)
class Page(Generic[T_co]):
    items: Sequence[T_co]
    next_cursor: str | None


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


class OrdersWriter(Protocol):
    def upsert_customer(self, row: dict[str, Any]) -> None: ...

    def insert_order(self, row: dict[str, Any]) -> None: ...

    def update_order(self, order_id: str, changes: dict[str, Any], updated_at: datetime, version: int) -> None: ...

    def location_created(self, location_id: str, tenant_id: str, address_key: str, at: datetime) -> None: ...

    def location_found(self, location_id: str, found: dict[str, Any], at: datetime) -> None: ...

    def location_failed(self, location_id: str, reason: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a list shows (all of them by default)."""

    #: Only orders planned for this date (YYYY-MM-DD).
    planned_date: str | None = None
    #: Only orders whose external id contains this (any case).
    search: str | None = None
    #: Only orders without a planned date.
    undated: bool = False


class OrdersQueries(Protocol):
    def get_order(self, tenant_id: str, order_id: str) -> OrderView | None: ...

    def get_order_by_external_id(self, tenant_id: str, external_id: str) -> OrderView | None: ...

    def list_orders(self, tenant_id: str, which: OrderFilter, limit: int, cursor: str | None) -> Page[OrderView]:
        """The orders ``which`` selects, by external id."""

    def planned_dates(self, tenant_id: str, since: str | None, limit: int) -> PlannedDates:
        """The dates from ``since`` on that have orders, and how many orders have no date."""

    def get_customer(self, tenant_id: str, customer_id: str) -> CustomerRow | None: ...

    def list_customers(
        self, tenant_id: str, search: str | None, limit: int, cursor: str | None
    ) -> Page[CustomerRow]: ...


class IntegrationsWriter(Protocol):
    def webhook_connected(self, webhook_id: str, tenant_id: str, connected_at: datetime) -> None: ...

    def webhook_active(self, webhook_id: str, active: bool) -> None: ...

    def delivery_received(self, tenant_id: str, channel: str, received_at: datetime) -> None: ...

    def previous_secret_until(self, webhook_id: str, until: datetime | None) -> None:
        """Until when the rotated-out secret works (None: no rotation window)."""


class IntegrationsQueries(Protocol):
    def webhook_status(self, tenant_id: str) -> WebhookRow | None: ...


class DeliveriesWriter(Protocol):
    def insert_delivery(self, row: dict[str, Any]) -> None: ...


class DeliveriesQueries(Protocol):
    def list_deliveries(self, tenant_id: str, limit: int, cursor: str | None) -> Page[DeliveryRow]: ...


class PullEndpointsWriter(Protocol):
    def endpoint_added(self, row: dict[str, Any]) -> None: ...

    def endpoint_changed(self, endpoint_id: str, changes: dict[str, Any]) -> None: ...

    def endpoint_removed(self, endpoint_id: str) -> None: ...

    def sync_attempted(self, endpoint_id: str, attempt_id: str, row: dict[str, Any]) -> None: ...


class PullEndpointsQueries(Protocol):
    def list_pull_endpoints(self, tenant_id: str) -> list[PullEndpointRow]:
        """The tenant's pull endpoints with their sync status (never a secret), oldest first."""
