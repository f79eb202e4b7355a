"""Read-side use cases: permission checks in front of the read models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from application.commands import Principal
from application.errors import NotFoundError
from application.paging import Page
from application.ports.read_models import DeliveriesQueries, IntegrationsQueries, OrdersQueries, PullEndpointsQueries
from application.ports.refusals import NO_REFUSALS, RefusalStore
from application.principals import require as _require
from application.read_models import CustomerRow, DeliveryRow, IntegrationStatus, OrderFilter, OrderView, PlannedDates
from application.refusals import REASONS as REFUSAL_REASONS
from domain.roles import Permission

MAX_PAGE = 1000
R = TypeVar("R")


@dataclass(eq=False)
class IntakeQueries:
    """The read models, each behind the permission that may read it."""

    orders: OrdersQueries
    integrations: IntegrationsQueries
    deliveries: DeliveriesQueries
    pull_endpoints: PullEndpointsQueries
    refusals: RefusalStore

    def order(self, principal: Principal, order_id: str) -> OrderView:
        _require(principal, Permission.READ_ORDERS)
        return _found(self.orders.get_order(str(principal.tenant_id), order_id), "Order")

    def order_by_external_id(self, principal: Principal, external_id: str) -> OrderView:
        _require(principal, Permission.READ_ORDERS)
        return _found(self.orders.get_order_by_external_id(str(principal.tenant_id), external_id), "Order")

    def orders_page(self, principal: Principal, which: OrderFilter, limit: int, cursor: str | None) -> Page[OrderView]:
        _require(principal, Permission.READ_ORDERS)
        return self.orders.list_orders(str(principal.tenant_id), which, min(limit, MAX_PAGE), cursor)

    def planned_dates(self, principal: Principal, since: str | None, limit: int) -> PlannedDates:
        _require(principal, Permission.READ_ORDERS)
        return self.orders.planned_dates(str(principal.tenant_id), since, min(limit, MAX_PAGE))

    def customer(self, principal: Principal, customer_id: str) -> CustomerRow:
        _require(principal, Permission.MANAGE_CUSTOMERS)
        return _found(self.orders.get_customer(str(principal.tenant_id), customer_id), "Customer")

    def customers_page(
        self, principal: Principal, search: str | None, limit: int, cursor: str | None
    ) -> Page[CustomerRow]:
        _require(principal, Permission.MANAGE_CUSTOMERS)
        return self.orders.list_customers(str(principal.tenant_id), search, min(limit, MAX_PAGE), cursor)

    def integration_status(self, principal: Principal, webhook_url: str) -> IntegrationStatus:
        _require(principal, Permission.MANAGE_INTEGRATIONS)
        tenant = str(principal.tenant_id)
        webhook = self.integrations.webhook_status(tenant)
        endpoints = self.pull_endpoints.list_pull_endpoints(tenant)
        refused = None
        if webhook is not None:
            counted = self.refusals.refused(tenant)
            refused = {shown: counted.get(reason, NO_REFUSALS) for reason, shown in REFUSAL_REASONS.items()}
        return IntegrationStatus(webhook_url, webhook, endpoints, refused)

    def deliveries_page(self, principal: Principal, limit: int, cursor: str | None) -> Page[DeliveryRow]:
        _require(principal, Permission.MANAGE_INTEGRATIONS)
        return self.deliveries.list_deliveries(str(principal.tenant_id), min(limit, MAX_PAGE), cursor)


def _found(row: R | None, what: str) -> R:
    """``row``, or NotFound when the tenant has no such ``what``."""
    if row is None:
        raise NotFoundError(f"{what} not found")
    return row
