"""Address normalisation and deterministic ids: idempotency by construction."""

from __future__ import annotations

from uuid import UUID, uuid5

import pytest

from domain.addresses import normalise_address
from domain.ids import NAMESPACE, customer_id_for_address, order_id, webhook_id

TENANT = UUID("0b6a3f2e-1c1d-4f7e-9b0a-6d1f0a2b3c4d")
OTHER_TENANT = UUID("7d8e9f00-1111-4222-8333-944455566677")


@pytest.mark.parametrize(
    "variant",
    [
        "10 High Street, London SW1A 1AA",
        "10 high street london  sw1a 1aa.",
        "  10 HIGH STREET;London SW1A 1AA  ",
        "10 High Street,\nLondon\tSW1A 1AA",
        "１０ High Street, London SW1A 1AA",  # full-width digits fold to ASCII (NFKC)
    ],
)
def test_formatting_differences_normalise_to_the_same_address(variant: str) -> None:
    assert normalise_address(variant) == "10 high street london sw1a 1aa"


def test_accents_as_typed_are_kept() -> None:
    assert normalise_address("Café Row") != normalise_address("Cafe Row")


def test_different_words_stay_different() -> None:
    assert normalise_address("10 High Street") != normalise_address("10 High Road")


def test_the_order_id_is_uuid5_of_tenant_and_external_id() -> None:
    assert order_id(TENANT, "WMS-ORD-001") == uuid5(NAMESPACE, f"order:{TENANT}:WMS-ORD-001")
    assert order_id(TENANT, "WMS-ORD-001").version == 5


def test_the_same_tenant_and_external_id_always_give_the_same_order_id() -> None:
    assert order_id(TENANT, "WMS-ORD-001") == order_id(UUID(str(TENANT)), "WMS-ORD-001")


def test_another_tenant_gets_another_order_id_for_the_same_external_id() -> None:
    assert order_id(TENANT, "WMS-ORD-001") != order_id(OTHER_TENANT, "WMS-ORD-001")


def test_external_ids_are_case_sensitive() -> None:
    assert order_id(TENANT, "wms-ord-001") != order_id(TENANT, "WMS-ORD-001")


def test_orders_customers_and_webhooks_never_share_an_id() -> None:
    # The same text as an order's external id and as an address names two things.
    assert order_id(TENANT, "x") != customer_id_for_address(TENANT, "x")
    assert webhook_id(TENANT) not in {order_id(TENANT, ""), customer_id_for_address(TENANT, "")}


def test_one_webhook_per_tenant() -> None:
    assert webhook_id(TENANT) == webhook_id(TENANT)
    assert webhook_id(TENANT) != webhook_id(OTHER_TENANT)


def test_the_namespace_is_fixed_forever() -> None:
    # Changing it would orphan every stored aggregate.
    assert NAMESPACE == UUID("5f0e7c1a-8d0b-4c55-9a57-3c1e0b6d2a41")
