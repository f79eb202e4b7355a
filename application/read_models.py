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
from typing import Any, Protocol, TypeVar

W_co = TypeVar("W_co", covariant=True)


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
class Page:
    items: Sequence[dict[str, Any]]
    next_cursor: str | None


class OrdersWriter(Protocol):
    def upsert_customer(self, row: dict[str, Any]) -> None: ...

    def insert_order(self, row: dict[str, Any]) -> None: ...

    def update_order(
        self, order_id: str, changes: dict[str, Any], updated_at: datetime, version: int
    ) -> None: ...

    def location_created(
        self, location_id: str, tenant_id: str, address_key: str, at: datetime
    ) -> None: ...

    def location_found(self, location_id: str, found: dict[str, Any], at: datetime) -> None: ...

    def location_failed(self, location_id: str, reason: str, at: datetime) -> None: ...


class OrdersQueries(Protocol):
    def get_order(self, tenant_id: str, order_id: str) -> dict[str, Any] | None: ...

    def get_order_by_external_id(self, tenant_id: str, external_id: str) -> dict[str, Any] | None: ...

    def list_orders(
        self,
        tenant_id: str,
        planned_date: str | None,
        limit: int,
        cursor: str | None,
        *,
        search: str | None = None,
        undated: bool = False,
    ) -> Page:
        """By external id. ``search``: the external id contains it (any case);
        ``undated``: only orders without a planned date."""

    def planned_dates(self, tenant_id: str, since: str | None, limit: int) -> dict[str, Any]:
        """``{"dates": [{"date", "orders"}], "undated": n}``: the dates from ``since`` on
        that have orders, earliest first, and how many orders have no date."""

    def get_customer(self, tenant_id: str, customer_id: str) -> dict[str, Any] | None: ...

    def list_customers(self, tenant_id: str, search: str | None, limit: int, cursor: str | None) -> Page: ...


class IntegrationsWriter(Protocol):
    def webhook_connected(self, webhook_id: str, tenant_id: str, connected_at: datetime) -> None: ...

    def webhook_active(self, webhook_id: str, active: bool) -> None: ...

    def delivery_received(self, tenant_id: str, channel: str, received_at: datetime) -> None: ...

    def previous_secret_until(self, webhook_id: str, until: datetime | None) -> None:
        """Until when the rotated-out secret works (None: no rotation window)."""


class IntegrationsQueries(Protocol):
    def integration_status(self, tenant_id: str, webhook_url: str) -> dict[str, Any]: ...


class DeliveriesWriter(Protocol):
    def insert_delivery(self, row: dict[str, Any]) -> None: ...


class DeliveriesQueries(Protocol):
    def list_deliveries(self, tenant_id: str, limit: int, cursor: str | None) -> Page: ...


class PullEndpointsWriter(Protocol):
    def endpoint_added(self, row: dict[str, Any]) -> None: ...

    def endpoint_changed(self, endpoint_id: str, changes: dict[str, Any]) -> None: ...

    def endpoint_removed(self, endpoint_id: str) -> None: ...

    def sync_attempted(self, endpoint_id: str, attempt_id: str, row: dict[str, Any]) -> None: ...


class PullEndpointsQueries(Protocol):
    def list_pull_endpoints(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's pull endpoints with their sync status (never a secret), oldest first."""
