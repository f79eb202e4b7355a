"""The audit trail and customers on the in-memory event store."""

from __future__ import annotations

from uuid import UUID

import pytest

from application.access import ApiKeys, WebhookAccess
from application.audit import Audit
from application.commands import Principal
from application.customers import Customers
from application.errors import ConflictError, ForbiddenError, NotFoundError
from application.intake import OrderIntake
from domain.roles import Role
from infrastructure.event_store import EventStore
from tests.support.intake import receive

ADDRESS = "2 Dock Road, Hull HU1 1AA"


@pytest.fixture
def admin(store: EventStore) -> Principal:
    created = ApiKeys(store).create_tenant("Acme")
    return Principal(tenant_id=created.tenant_id, key_id=created.admin_key_id, role=Role.ADMIN)


def send(store: EventStore, tenant: UUID, pallets: int, request_id: str) -> UUID:
    orders = [{"externalOrderId": "H-1", "deliveryAddress": ADDRESS, "palletCount": pallets}]
    result = receive(OrderIntake(store, WebhookAccess(store)), tenant, orders, request_id)
    return result.orders[0].order_id


def test_an_orders_history_and_its_earlier_versions(store: EventStore, admin: Principal) -> None:
    audit = Audit(store)
    oid = send(store, admin.tenant_id, 4, "first")
    send(store, admin.tenant_id, 6, "second")

    history = audit.order_history(admin, str(oid))
    first = audit.order_as_of(admin, str(oid), version=1)
    now = audit.order_as_of(admin, str(oid))

    assert len(history.events) == 2
    assert first.fields["pallet_count"] == 4 and now.fields["pallet_count"] == 6
    with pytest.raises(NotFoundError):
        audit.order_as_of(admin, str(oid), version=3)
    with pytest.raises(NotFoundError):
        audit.order_history_for_operator(str(UUID(int=7)), str(oid))  # another tenant's order


def test_a_customer_is_registered_once_per_address(store: EventStore, admin: Principal) -> None:
    customers = Customers(store)
    created = customers.create_customer(admin, "Acme Hull", ADDRESS, None)

    assert created.name == "Acme Hull" and created.address == ADDRESS
    with pytest.raises(ConflictError):
        customers.create_customer(admin, "Again", ADDRESS, None)
    auditor = Principal(tenant_id=admin.tenant_id, key_id="k", role=Role.AUDITOR)
    with pytest.raises(ForbiddenError):
        customers.create_customer(auditor, "Nope", "1 Other Street, York YO1 7HH", None)
