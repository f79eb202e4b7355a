"""Customers: register one (its id follows from its address), and how it is shown."""

from __future__ import annotations

from application.commands import Principal
from application.errors import ConflictError, InvalidRequestError
from application.loading import load
from application.ports.aggregates import AggregateStore
from application.principals import acting, require
from application.read_models import CustomerRow
from application.timestamps import iso
from domain.customer import Customer
from domain.errors import DomainError
from domain.roles import Permission


class Customers:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    def create_customer(self, principal: Principal, name: str, address: str, contact: str | None) -> CustomerRow:
        require(principal, Permission.MANAGE_CUSTOMERS)
        customer_id = Customer.id_for(principal.tenant_id, address)
        if load(self.store, customer_id, Customer) is not None:
            raise ConflictError("A customer with this address exists", customerId=str(customer_id))
        try:
            customer = Customer.register(principal.tenant_id, address, acting(principal), name=name, contact=contact)
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        self.store.save(customer)
        return customer_view(customer)


def customer_view(customer: Customer) -> CustomerRow:
    return CustomerRow(str(customer.id), customer.name, customer.contact, customer.address, iso(customer.created_on))
