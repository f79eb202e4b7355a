"""Commands (imperative) and their results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from application.order_lines import OrderLine
from domain.roles import GRANTS, Permission, Role


@dataclass(frozen=True)
class IngestOrders:
    """Apply one batch atomically: every line, or none of them.

    ``delivery_id`` names the delivery record; a pull passes its attempt id.
    """

    tenant_id: UUID
    lines: tuple[OrderLine, ...]
    channel: str
    request_id: str
    received_at: datetime
    payload_bytes: int = 0
    payload_sha256: str = ""
    endpoint_id: str | None = None
    delivery_id: UUID = field(default_factory=uuid4)
    #: SHA-256 of the webhook secret presented, checked again against the
    #: webhook as read with the batch (None: not a webhook delivery).
    credential_hash: str | None = None
    #: Partial acceptance (``?atomic=false``): store the valid lines, report the
    #: rest. ``indexes`` holds each line's index in the request; ``rejected`` the
    #: items refused before the store was read.
    partial: bool = False
    indexes: tuple[int, ...] = ()
    rejected: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ReceiveBatch:
    """A raw batch as received (webhook) or fetched (pull): parse, validate, ingest.

    ``body`` is None when the body was larger than the limit and was not read.
    """

    tenant_id: UUID
    body: bytes | None
    body_size: int
    channel: str
    request_id: str
    received_at: datetime
    max_items: int
    max_body_bytes: int
    endpoint_id: str | None = None
    delivery_id: UUID = field(default_factory=uuid4)
    credential_hash: str | None = None
    partial: bool = False


@dataclass(frozen=True)
class RecordRejectedDelivery:
    """Remember a refused batch (after authentication) for the delivery log."""

    tenant_id: UUID
    channel: str
    request_id: str
    received_at: datetime
    status: int
    error: dict[str, Any]
    payload_bytes: int = 0
    payload_sha256: str = ""
    endpoint_id: str | None = None
    #: Which webhook secret the caller presented: current, or previous during a rotation.
    secret_used: str | None = None


@dataclass(frozen=True)
class OrderOutcome:
    external_order_id: str
    order_id: UUID
    created: bool


@dataclass(frozen=True)
class IngestResult:
    delivery_id: UUID
    orders: tuple[OrderOutcome, ...]
    #: Partial acceptance only: each stored order's index in the request, and the items refused.
    partial: bool = False
    indexes: tuple[int, ...] = ()
    rejected: tuple[dict[str, Any], ...] = ()

    @property
    def created(self) -> int:
        return sum(1 for o in self.orders if o.created)

    def as_body(self) -> dict[str, Any]:
        """The documented success body, one entry per input item in input order."""
        if self.partial:
            return partial_body(self.orders, self.indexes, self.rejected)
        return {
            "accepted": True,
            "processed": len(self.orders),
            "orders": [
                {"externalOrderId": o.external_order_id, "orderId": str(o.order_id), "created": o.created}
                for o in self.orders
            ],
        }


@dataclass(frozen=True)
class Principal:
    """Who is calling the tenant API: a key of one tenant, with one role."""

    tenant_id: UUID
    key_id: str
    role: Role

    def allows(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


@dataclass(frozen=True)
class TenantCreated:
    tenant_id: UUID
    admin_api_key: str
    admin_key_id: str


@dataclass(frozen=True)
class IssuedApiKey:
    key_id: str
    api_key: str
    role: Role


def partial_body(
    orders: tuple[OrderOutcome, ...], indexes: tuple[int, ...], rejected: tuple[dict[str, Any], ...]
) -> dict[str, Any]:
    """The answer of a partial acceptance: what was stored and what was refused, each with its index."""
    body: dict[str, Any] = {} if orders or not rejected else {"error": "Every order was rejected"}
    body.update(
        {
            "accepted": bool(orders) or not rejected,
            "atomic": False,
            "processed": len(orders),
            "rejected": len(rejected),
            "orders": [
                {"index": index, "externalOrderId": o.external_order_id, "orderId": str(o.order_id), "created": o.created}
                for index, o in zip(indexes, orders)
            ],
            "rejectedItems": list(rejected),
        }
    )
    return body


def all_rejected_status(rejected: tuple[dict[str, Any], ...]) -> int:
    """The status of a partial batch that stored nothing: 400 if any item got one, else 422."""
    return 400 if any(item["status"] == 400 for item in rejected) else 422
