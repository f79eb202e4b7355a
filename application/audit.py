"""The audit trail: an order's history, and the order as it was at a version or a moment."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.commands import Principal
from application.errors import NotFoundError
from application.history import OrderHistory, history_of, order_state
from application.loading import load
from application.ports.aggregates import AuditStore
from application.principals import parse_tenant, require
from application.read_models import OrderView
from domain.customer import Customer
from domain.order import Order
from domain.roles import Permission, Role


class Audit:
    def __init__(self, store: AuditStore) -> None:
        self.store = store

    def order_history(self, principal: Principal, order_id: str) -> OrderHistory:
        require(principal, Permission.READ_HISTORY)
        oid = self._own_order_id(principal, order_id)
        return history_of(str(oid), self.store.events_of(oid))

    def order_history_for_operator(self, tenant_id: str, order_id: str) -> OrderHistory:
        """The audit trail for an operator on the machine (the CLI), who holds no API key."""
        operator = Principal(tenant_id=parse_tenant(tenant_id), key_id="operator", role=Role.AUDITOR)
        return self.order_history(operator, order_id)

    def order_as_of(
        self, principal: Principal, order_id: str, version: int | None = None, as_of: Any = None
    ) -> OrderView:
        """The order as it was at ``version``, or at the moment ``as_of``."""
        require(principal, Permission.READ_ORDERS)
        oid = self._own_order_id(principal, order_id)
        if as_of is not None:
            version = None
            for event in self.store.events_of(oid):
                if event.timestamp <= as_of:
                    version = event.originator_version
            if version is None:
                raise NotFoundError("The order did not exist then")
        current = load(self.store, oid, Order)
        assert current is not None  # _own_order_id found it
        if version is not None and (version < 1 or version > current.version):
            raise NotFoundError(f"The order has no version {version}")
        order = self.store.version_of(oid, version)
        customer = load(self.store, UUID(order.details["customer_id"]), Customer)
        return order_state(order, customer.name if customer else None)

    def _own_order_id(self, principal: Principal, order_id: str) -> UUID:
        try:
            oid = UUID(order_id)
        except ValueError:
            raise NotFoundError("Order not found") from None
        order = load(self.store, oid, Order)
        if order is None or order.tenant_id != str(principal.tenant_id):
            raise NotFoundError("Order not found")
        return oid
