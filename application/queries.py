"""Read-side use cases: permission checks in front of the read models."""

from __future__ import annotations

from typing import Any

from application.principals import require as _require
from application.commands import Principal
from application.errors import NotFoundError
from application.read_models import (
    DeliveriesQueries,
    IntegrationsQueries,
    OrdersQueries,
    Page,
    PullEndpointsQueries,
)
from application.refusals import REASONS as REFUSAL_REASONS
from application.ports.refusals import RefusalStore
from domain.roles import Permission

MAX_PAGE = 1000


class IntakeQueries:
    def __init__(
        self,
        orders: OrdersQueries,
        integrations: IntegrationsQueries,
        deliveries: DeliveriesQueries,
        pull_endpoints: PullEndpointsQueries | None = None,
        refusals: RefusalStore | None = None,
    ) -> None:
        self.refusals = refusals
        self.orders = orders
        self.integrations = integrations
        self.deliveries = deliveries
        self.pull_endpoints = pull_endpoints

    def order(self, principal: Principal, order_id: str) -> dict[str, Any]:
        _require(principal, Permission.READ_ORDERS)
        found = self.orders.get_order(str(principal.tenant_id), order_id)
        if found is None:
            raise NotFoundError("Order not found")
        return found

    def order_by_external_id(self, principal: Principal, external_id: str) -> dict[str, Any]:
        _require(principal, Permission.READ_ORDERS)
        found = self.orders.get_order_by_external_id(str(principal.tenant_id), external_id)
        if found is None:
            raise NotFoundError("Order not found")
        return found

    def orders_page(
        self,
        principal: Principal,
        planned_date: str | None,
        limit: int,
        cursor: str | None,
        search: str | None = None,
        undated: bool = False,
    ) -> Page:
        _require(principal, Permission.READ_ORDERS)
        return self.orders.list_orders(
            str(principal.tenant_id),
            planned_date,
            min(limit, MAX_PAGE),
            cursor,
            search=search,
            undated=undated,
        )

    def planned_dates(self, principal: Principal, since: str | None, limit: int) -> dict[str, Any]:
        _require(principal, Permission.READ_ORDERS)
        return self.orders.planned_dates(str(principal.tenant_id), since, min(limit, MAX_PAGE))

    def customer(self, principal: Principal, customer_id: str) -> dict[str, Any]:
        _require(principal, Permission.MANAGE_CUSTOMERS)
        found = self.orders.get_customer(str(principal.tenant_id), customer_id)
        if found is None:
            raise NotFoundError("Customer not found")
        return found

    def customers_page(
        self, principal: Principal, search: str | None, limit: int, cursor: str | None
    ) -> Page:
        _require(principal, Permission.MANAGE_CUSTOMERS)
        return self.orders.list_customers(str(principal.tenant_id), search, min(limit, MAX_PAGE), cursor)

    def integration_status(self, principal: Principal, webhook_url: str) -> dict[str, Any]:
        _require(principal, Permission.MANAGE_INTEGRATIONS)
        status = self.integrations.integration_status(str(principal.tenant_id), webhook_url)
        if self.pull_endpoints is not None:
            status["pullEndpoints"] = self.pull_endpoints.list_pull_endpoints(str(principal.tenant_id))
        if self.refusals is not None and status.get("webhook") is not None:
            refused = self.refusals.refused(str(principal.tenant_id))
            status["webhook"]["refusedRequests"] = {
                shown: refused.get(reason, {"count": 0, "lastAt": None}) for reason, shown in REFUSAL_REASONS.items()
            }
        return status

    def deliveries_page(self, principal: Principal, limit: int, cursor: str | None) -> Page:
        _require(principal, Permission.MANAGE_INTEGRATIONS)
        return self.deliveries.list_deliveries(str(principal.tenant_id), min(limit, MAX_PAGE), cursor)
