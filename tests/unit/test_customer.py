"""The Customer aggregate alone: documented defaults and one customer per address."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.customer import DEFAULT_CUSTOMER_CONTACT, DEFAULT_CUSTOMER_NAME, Customer
from domain.errors import InvalidValueError
from domain.ids import customer_id_for_address
from domain.source import Source

TENANT = UUID("0b6a3f2e-1c1d-4f7e-9b0a-6d1f0a2b3c4d")
OTHER_TENANT = UUID("7d8e9f00-1111-4222-8333-944455566677")
WEBHOOK = Source(channel="webhook", delivery_id="delivery-1", request_id="request-1")


def test_the_documented_defaults_are_wms_customer_and_n_a() -> None:
    customer = Customer.register(TENANT, "10 High Street, London SW1A 1AA", WEBHOOK)

    assert DEFAULT_CUSTOMER_NAME == "WMS Customer"
    assert DEFAULT_CUSTOMER_CONTACT == "N/A"
    assert customer.name == "WMS Customer"
    assert customer.contact == "N/A"


@pytest.mark.parametrize("blank", [None, ""])
def test_a_missing_or_empty_name_and_contact_take_the_defaults(blank: str | None) -> None:
    customer = Customer.register(TENANT, "10 High Street", WEBHOOK, name=blank, contact=blank)

    assert (customer.name, customer.contact) == ("WMS Customer", "N/A")


def test_a_given_name_and_contact_are_kept() -> None:
    customer = Customer.register(TENANT, "10 High Street", WEBHOOK, name="Acme Ltd", contact="deliveries@acme.com")

    assert (customer.name, customer.contact) == ("Acme Ltd", "deliveries@acme.com")


def test_the_address_is_kept_as_typed_and_normalised_beside_it() -> None:
    customer = Customer.register(TENANT, "10 High Street,  London SW1A 1AA.", WEBHOOK)

    assert customer.address == "10 High Street,  London SW1A 1AA."
    assert customer.normalised_address == "10 high street london sw1a 1aa"
    assert customer.tenant_id == str(TENANT)


def test_the_customer_id_derives_from_tenant_and_normalised_address() -> None:
    customer = Customer.register(TENANT, "10 High Street, London SW1A 1AA", WEBHOOK)

    assert customer.id == customer_id_for_address(TENANT, "10 high street london sw1a 1aa")
    assert customer.id == Customer.id_for(TENANT, "10 high street london  sw1a 1aa.")
    assert customer.id == Customer.create_id(str(TENANT), customer.normalised_address)


def test_the_same_address_in_another_tenant_is_another_customer() -> None:
    assert Customer.id_for(TENANT, "10 High Street") != Customer.id_for(OTHER_TENANT, "10 High Street")


def test_a_different_address_is_a_different_customer() -> None:
    assert Customer.id_for(TENANT, "10 High Street") != Customer.id_for(TENANT, "12 High Street")


@pytest.mark.parametrize("address", ["", "   ", ",,,", " . ; "])
def test_an_address_with_nothing_in_it_is_refused(address: str) -> None:
    with pytest.raises(InvalidValueError):
        Customer.register(TENANT, address, WEBHOOK)


def test_registering_records_one_created_event_with_its_source() -> None:
    customer = Customer.register(TENANT, "10 High Street", WEBHOOK, name="Acme")

    [created] = customer.collect_events()
    assert isinstance(created, Customer.Created)
    assert created.name == "Acme"
    assert created.normalised_address == "10 high street"
    assert created.source["channel"] == "webhook"
    assert created.source["deliveryId"] == "delivery-1"
