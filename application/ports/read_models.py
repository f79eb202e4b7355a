"""Read-model ports: what projections write and what queries read.

Infrastructure implements each for SQLite and PostgreSQL. A ``TrackedView``
writes its rows and its tracking position in one transaction, so every event
is applied exactly once and a view can be rebuilt from position 0.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar

from application.paging import Page
from application.read_models import (
    CustomerRow,
    DeliveryRow,
    OrderFilter,
    OrderView,
    PlannedDates,
    PullEndpointRow,
    WebhookRow,
)

W_co = TypeVar("W_co", covariant=True)


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


class OrdersWriter(Protocol):
    def upsert_customer(self, row: dict[str, Any]) -> None: ...

    def insert_order(self, row: dict[str, Any]) -> None: ...

    def update_order(self, order_id: str, changes: dict[str, Any], updated_at: datetime, version: int) -> None: ...

    def location_created(self, location_id: str, tenant_id: str, address_key: str, at: datetime) -> None: ...

    def location_found(self, location_id: str, found: dict[str, Any], at: datetime) -> None: ...

    def location_failed(self, location_id: str, reason: str, at: datetime) -> None: ...


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
