"""Commands (imperative) and their results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypedDict
from uuid import UUID, uuid4

from application.order_lines import OrderLine
from application.redaction import Redactor
from domain.roles import GRANTS, Permission, Role
from domain.source import Channel


@dataclass(frozen=True)
class PulledBatch:
    """A batch that a sync of ``endpoint_id`` started at ``sync_started_at`` pulled.

    Stored only if no sync of the endpoint that started later stored its own
    first: data pulled earlier never overwrites data pulled later.
    """

    endpoint_id: UUID
    sync_started_at: datetime


@dataclass(frozen=True)
class IngestOrders:
    """Apply one batch atomically: every line, or none of them.

    ``delivery_id`` names the delivery record; a pull passes its attempt id.
    """

    tenant_id: UUID
    lines: tuple[OrderLine, ...]
    channel: Channel
    request_id: str
    received_at: datetime
    payload_bytes: int = 0
    payload_sha256: str = ""
    endpoint_id: str | None = None
    delivery_id: UUID = field(default_factory=uuid4)
    #: SHA-256 of the webhook secret presented, checked again against the
    #: webhook as read with the batch (None: not a webhook delivery).
    credential_hash: str | None = None
    #: Fields of the batch that were ignored (unknown to the contract), kept
    #: with the delivery and returned in the 200.
    warnings: tuple[dict[str, Any], ...] = ()
    pulled: PulledBatch | None = None
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
    channel: Channel
    request_id: str
    received_at: datetime
    max_items: int
    max_body_bytes: int
    endpoint_id: str | None = None
    delivery_id: UUID = field(default_factory=uuid4)
    credential_hash: str | None = None
    #: The secrets of this delivery (the webhook's presented one, the pull's),
    #: redacted from a refusal before it is recorded or answered.
    redactor: Redactor | None = field(default=None, repr=False)
    pulled: PulledBatch | None = None
    partial: bool = False


class DeliveryFields(TypedDict):
    """What a batch's stored delivery and its recorded refusal both say of where it came from."""

    tenant_id: UUID
    channel: Channel
    request_id: str
    received_at: datetime
    payload_bytes: int
    payload_sha256: str
    endpoint_id: str | None


@dataclass(frozen=True)
class RecordRejectedDelivery:
    """Remember a refused batch (after authentication) for the delivery log."""

    tenant_id: UUID
    channel: Channel
    request_id: str
    received_at: datetime
    status: int
    error: dict[str, Any]
    payload_bytes: int = 0
    payload_sha256: str = ""
    endpoint_id: str | None = None
    #: Which webhook secret the caller presented: current, or previous during a rotation.
    secret_used: str | None = None


class OrderOutcome(NamedTuple):
    """What one line of a batch did to its order. A batch makes one per order:
    a tuple is built in about half the time of a frozen dataclass."""

    external_order_id: str
    order_id: UUID
    created: bool
    #: False when the line left an existing order exactly as it was.
    changed: bool = True


@dataclass(frozen=True)
class IngestResult:
    delivery_id: UUID
    orders: tuple[OrderOutcome, ...]
    warnings: tuple[dict[str, Any], ...] = ()
    #: Partial acceptance only: each stored order's index in the request, and the items refused.
    partial: bool = False
    indexes: tuple[int, ...] = ()
    rejected: tuple[dict[str, Any], ...] = ()

    @property
    def created(self) -> int:
        return sum(1 for o in self.orders if o.created)

    @property
    def updated(self) -> int:
        return sum(1 for o in self.orders if not o.created and o.changed)

    @property
    def unchanged(self) -> int:
        return sum(1 for o in self.orders if not o.created and not o.changed)


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
    """A new tenant and its first admin key (the key is shown this once)."""

    tenant_id: UUID
    admin_api_key: str
    admin_key_id: str


@dataclass(frozen=True)
class IssuedApiKey:
    """A new key of a tenant: the only answer that holds the key itself."""

    key_id: str
    api_key: str
    role: Role
    name: str | None = None
