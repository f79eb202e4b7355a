"""Delivery records alone: one per batch, accepted or rejected, immutable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.delivery import Delivery
from domain.errors import InvalidValueError

TENANT = "0b6a3f2e-1c1d-4f7e-9b0a-6d1f0a2b3c4d"
RECEIVED = datetime(2025, 2, 22, 9, 30, tzinfo=UTC)


def accepted(**overrides: Any) -> Delivery:
    values: dict[str, Any] = {
        "id": uuid4(),
        "tenant_id": TENANT,
        "channel": "webhook",
        "request_id": "request-1",
        "received_at": RECEIVED,
        "processed": 3,
        "created": 2,
        "updated": 1,
        "endpoint_id": None,
        "payload_bytes": 120,
        "payload_sha256": "ab" * 32,
    }
    values.update(overrides)
    return Delivery.accept(**values)


def rejected(**overrides: Any) -> Delivery:
    values: dict[str, Any] = {
        "tenant_id": TENANT,
        "channel": "webhook",
        "request_id": "request-2",
        "received_at": RECEIVED,
        "status": 422,
        "error": {"error": "Invalid plannedDate"},
        "endpoint_id": None,
        "payload_bytes": 80,
        "payload_sha256": "cd" * 32,
    }
    values.update(overrides)
    return Delivery.reject(**values)


def test_an_accepted_delivery_keeps_the_id_its_caller_chose() -> None:
    chosen = UUID("11111111-2222-4333-8444-555555555555")

    assert accepted(id=chosen).id == chosen


def test_an_accepted_delivery_holds_what_was_received() -> None:
    delivery = accepted()

    assert delivery.accepted is True  # type: ignore[attr-defined]  # set by the event that created it
    assert delivery.received_at == RECEIVED  # type: ignore[attr-defined]  # set by the event that created it
    assert (delivery.processed, delivery.created, delivery.updated) == (3, 2, 1)  # type: ignore[attr-defined]  # set by the event that created it
    assert delivery.channel == "webhook"  # type: ignore[attr-defined]  # set by the event that created it
    assert delivery.tenant_id == TENANT  # type: ignore[attr-defined]  # set by the event that created it
    assert delivery.version == 1
    [event] = delivery.collect_events()
    assert isinstance(event, Delivery.Accepted)


def test_a_rejected_delivery_holds_its_status_and_error_body() -> None:
    delivery = rejected()

    assert delivery.accepted is False  # type: ignore[attr-defined]  # set by the event that created it
    assert delivery.status == 422  # type: ignore[attr-defined]  # set by the event that created it
    assert delivery.error == {"error": "Invalid plannedDate"}  # type: ignore[attr-defined]  # set by the event that created it
    [event] = delivery.collect_events()
    assert isinstance(event, Delivery.Rejected)


def test_each_rejection_is_a_new_record() -> None:
    assert rejected().id != rejected().id


@pytest.mark.parametrize("status", [400, 401, 413, 415, 422, 499])
def test_a_rejection_carries_a_4xx_status(status: int) -> None:
    assert rejected(status=status).status == status  # type: ignore[attr-defined]  # set by the event that created it


@pytest.mark.parametrize("status", [200, 302, 399, 500, 502])
def test_a_rejection_without_a_4xx_status_is_refused(status: int) -> None:
    with pytest.raises(InvalidValueError, match="4xx"):
        rejected(status=status)


@pytest.mark.parametrize("channel", ["webhook", "pull", "api"])
def test_every_documented_channel_is_accepted(channel: str) -> None:
    assert accepted(channel=channel).channel == channel  # type: ignore[attr-defined]  # set by the event that created it


@pytest.mark.parametrize("make", [accepted, rejected])
def test_an_unknown_channel_is_refused(make: Any) -> None:
    with pytest.raises(InvalidValueError, match="channel"):
        make(channel="email")


def test_a_pull_delivery_names_its_endpoint() -> None:
    assert accepted(channel="pull", endpoint_id="endpoint-9").endpoint_id == "endpoint-9"  # type: ignore[attr-defined]  # set by the event that created it
