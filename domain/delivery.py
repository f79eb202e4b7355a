"""Delivery records: one per batch received, accepted or rejected.

An accepted delivery is saved in the same transaction as the orders it
changed; it is what moves the integration's ``lastReceivedAt``. A rejected
delivery is saved alone and changes no order: it exists so an admin can see
what their WMS sent and why it was refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValueError
from domain.source import CHANNELS

#: Refused items of a partial acceptance kept in its record (the caller got all of them).
MAX_KEPT_REJECTIONS = 100


class Delivery(Aggregate):
    TOPIC = "wms-intake:Delivery"

    class Event(Aggregate.Event):
        TOPIC = "wms-intake:Delivery.Event"

    class Created(Aggregate.Created):
        # Never recorded: a delivery starts accepted or rejected. Declared so
        # the library's default creation class gets its own topic instead of
        # inheriting (and taking over) the base Event's.
        TOPIC = "wms-intake:DeliveryCreated"

    class Accepted(Aggregate.Created):
        TOPIC = "wms-intake:DeliveryAccepted"
        tenant_id: str
        channel: str
        request_id: str
        received_at: datetime
        processed: int
        created: int
        updated: int
        endpoint_id: str | None
        payload_bytes: int
        payload_sha256: str
        #: Fields the batch sent that were ignored; optional, so deliveries
        #: stored before warnings existed still load (with none).
        warnings: list[dict[str, Any]] | None = None
        #: Which webhook secret opened the request (current / previous); None for a pull.
        secret_used: str | None = None
        #: A partial acceptance: how many items were refused, and (at most 100 of) them.
        rejected: int = 0
        rejected_items: list[dict[str, Any]] | None = None

        def apply(self, aggregate: Aggregate) -> None:
            _assign(aggregate, self, accepted=True)

    class Rejected(Aggregate.Created):
        TOPIC = "wms-intake:DeliveryRejected"
        tenant_id: str
        channel: str
        request_id: str
        received_at: datetime
        status: int
        error: dict[str, Any]
        endpoint_id: str | None
        payload_bytes: int
        payload_sha256: str
        secret_used: str | None = None

        def apply(self, aggregate: Aggregate) -> None:
            _assign(aggregate, self, accepted=False)

    @classmethod
    def accept(
        cls,
        *,
        id: UUID,  # chosen by the caller, so a retry keeps it
        tenant_id: str,
        channel: str,
        request_id: str,
        received_at: datetime,
        processed: int,
        created: int,
        updated: int,
        endpoint_id: str | None,
        payload_bytes: int,
        payload_sha256: str,
        warnings: list[dict[str, Any]] | None = None,
        secret_used: str | None = None,
        rejected_items: list[dict[str, Any]] | None = None,
    ) -> Delivery:
        _check_channel(channel)
        extra: dict[str, Any] = {}
        if rejected_items is not None:
            extra = {"rejected": len(rejected_items), "rejected_items": rejected_items[:MAX_KEPT_REJECTIONS]}
        return cls._create(
            cls.Accepted,
            warnings=warnings or None,
            id=id,
            tenant_id=tenant_id,
            channel=channel,
            request_id=request_id,
            received_at=received_at,
            processed=processed,
            created=created,
            updated=updated,
            endpoint_id=endpoint_id,
            payload_bytes=payload_bytes,
            payload_sha256=payload_sha256,
            secret_used=secret_used,
            **extra,
        )

    @classmethod
    def reject(
        cls,
        *,
        tenant_id: str,
        channel: str,
        request_id: str,
        received_at: datetime,
        status: int,
        error: dict[str, Any],
        endpoint_id: str | None,
        payload_bytes: int,
        payload_sha256: str,
        secret_used: str | None = None,
    ) -> Delivery:
        _check_channel(channel)
        if not 400 <= status < 500:
            raise InvalidValueError("a rejected delivery carries a 4xx status")
        return cls._create(
            cls.Rejected,
            tenant_id=tenant_id,
            channel=channel,
            request_id=request_id,
            received_at=received_at,
            status=status,
            error=error,
            endpoint_id=endpoint_id,
            payload_bytes=payload_bytes,
            payload_sha256=payload_sha256,
            secret_used=secret_used,
        )


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise InvalidValueError(f"unknown channel {channel!r}")


def _assign(aggregate: Aggregate, created: Any, *, accepted: bool) -> None:
    # The record is immutable after creation: its state is its creation event.
    aggregate.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("originator")})
    aggregate.__dict__["accepted"] = accepted
    # Accepted before warnings were kept (and every rejection): none.
    aggregate.__dict__.setdefault("warnings", None)
