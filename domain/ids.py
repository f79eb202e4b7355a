"""Deterministic aggregate ids.

Idempotency is by construction: the same tenant and external order id always
name the same aggregate, so a repeated delivery updates instead of duplicating,
and two concurrent creators meet at the store's unique key.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from uuid import UUID, SafeUUID

# Fixed forever: changing it would orphan every stored aggregate.
NAMESPACE = UUID("5f0e7c1a-8d0b-4c55-9a57-3c1e0b6d2a41")

# The SHA-1 state after the namespace's bytes: every id continues from a copy.
_HASHED_NAMESPACE = hashlib.sha1(NAMESPACE.bytes)
# Version 5 and the RFC 4122 variant, set over the hash's first 16 bytes.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (5 << 76) | (0x8000 << 48)
_UUID_NEW = object.__new__
_SET_ATTRIBUTE = object.__setattr__


def uuid5(namespace: UUID, name: str) -> UUID:
    """The same UUID as the standard library's ``uuid5(namespace, name)``, cheaper.

    Ids are computed for every order of every batch; the standard function
    hashes the namespace again each time and builds the UUID through
    ``UUID.__init__``'s checks. Only ``NAMESPACE`` is ever used here.
    """
    if namespace is not NAMESPACE:
        raise ValueError("ids are derived from NAMESPACE only")
    digest = _HASHED_NAMESPACE.copy()
    digest.update(name.encode())
    value = (int.from_bytes(digest.digest()[:16]) & _CLEAR) | _SET
    uuid = _UUID_NEW(UUID)
    _SET_ATTRIBUTE(uuid, "int", value)
    _SET_ATTRIBUTE(uuid, "is_safe", SafeUUID.unknown)
    return uuid


#: A tenant's id as text: formatting a UUID costs as much as hashing the name.
_text = lru_cache(maxsize=4096)(str)


def order_id(tenant_id: UUID, external_order_id: str) -> UUID:
    return uuid5(NAMESPACE, f"order:{_text(tenant_id)}:{external_order_id}")


def customer_id_for_address(tenant_id: UUID, normalised_address: str) -> UUID:
    return uuid5(NAMESPACE, f"customer:{_text(tenant_id)}:{normalised_address}")


def webhook_id(tenant_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"wms-webhook:{tenant_id}")


def location_id(tenant_id: UUID, normalised_address: str) -> UUID:
    """One location per tenant and normalised address: it is geocoded once."""
    return uuid5(NAMESPACE, f"location:{tenant_id}:{normalised_address}")
