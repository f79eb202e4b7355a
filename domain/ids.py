"""Deterministic aggregate ids.

Idempotency is by construction: the same tenant and external order id always
name the same aggregate, so a repeated delivery updates instead of duplicating,
and two concurrent creators meet at the store's unique key.
"""

from __future__ import annotations

from uuid import UUID, uuid5

# Fixed forever: changing it would orphan every stored aggregate.
NAMESPACE = UUID("5f0e7c1a-8d0b-4c55-9a57-3c1e0b6d2a41")


def order_id(tenant_id: UUID, external_order_id: str) -> UUID:
    return uuid5(NAMESPACE, f"order:{tenant_id}:{external_order_id}")


def customer_id_for_address(tenant_id: UUID, normalised_address: str) -> UUID:
    return uuid5(NAMESPACE, f"customer:{tenant_id}:{normalised_address}")


def webhook_id(tenant_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"wms-webhook:{tenant_id}")


def location_id(tenant_id: UUID, normalised_address: str) -> UUID:
    """One location per tenant and normalised address: it is geocoded once."""
    return uuid5(NAMESPACE, f"location:{tenant_id}:{normalised_address}")
