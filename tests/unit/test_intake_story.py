"""Order intake on the in-memory event store: batches stored whole, refusals recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
import pytest

from application.access import ApiKeys, WebhookAccess
from application.commands import IngestResult, Principal, ReceiveBatch
from application.errors import PayloadRejectedError, UnauthorizedError
from application.intake import OrderIntake
from application.tokens import hash_secret
from domain.delivery import Delivery
from domain.ids import order_id
from domain.order import Order
from domain.roles import Role
from infrastructure.event_store import EventStore

ADDRESS = "10 High Street, London SW1A 1AA"


@pytest.fixture
def tenant(store: EventStore) -> UUID:
    return ApiKeys(store).create_tenant("Acme").tenant_id


def operator_of(tenant: UUID) -> Principal:
    return Principal(tenant_id=tenant, key_id="operator", role=Role.ADMIN)


def batch(tenant: UUID, items: Any, request_id: str, **fields: Any) -> ReceiveBatch:
    body = orjson.dumps(items)
    return ReceiveBatch(
        tenant_id=tenant,
        body=body,
        body_size=len(body),
        channel="webhook",
        request_id=request_id,
        received_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        max_items=100,
        max_body_bytes=100_000,
        **fields,
    )


def test_a_batch_is_stored_with_its_delivery_and_counted(store: EventStore, tenant: UUID) -> None:
    intake = OrderIntake(store, WebhookAccess(store))
    counted: list[tuple[str, IngestResult]] = []
    intake.on_batch(lambda channel, result: counted.append((channel, result)))

    first = intake.receive_batch(
        batch(tenant, [{"externalOrderId": "A-1", "deliveryAddress": ADDRESS, "palletCount": 2}], "r1")
    )
    again = intake.receive_batch(
        batch(tenant, [{"externalOrderId": "A-1", "deliveryAddress": ADDRESS, "palletCount": 3}], "r2")
    )

    oid = order_id(tenant, "A-1")
    assert [o.created for o in first.orders] == [True] and [o.created for o in again.orders] == [False]
    loaded = store.load_many([oid, first.delivery_id])
    assert isinstance(loaded[oid], Order) and loaded[oid].version == 2
    assert isinstance(loaded[first.delivery_id], Delivery)
    assert [channel for channel, _ in counted] == ["webhook", "webhook"]


def test_a_refused_batch_is_recorded_alone_and_raised(store: EventStore, tenant: UUID) -> None:
    intake = OrderIntake(store, WebhookAccess(store))
    command = batch(tenant, [{"externalOrderId": "B-1"}], "bad")

    with pytest.raises(PayloadRejectedError) as refused:
        intake.receive_batch(command)

    assert refused.value.status in (400, 422)
    stored = list(store.recorder.select_notifications(start=1, limit=100))
    assert [n.topic.rsplit(":", 1)[-1] for n in stored][-1] == "DeliveryRejected"
    assert order_id(tenant, "B-1") not in store.load_many([order_id(tenant, "B-1")])


def test_a_batch_with_a_secret_that_no_longer_opens_the_webhook_is_refused(store: EventStore, tenant: UUID) -> None:
    keys = ApiKeys(store)
    webhooks = WebhookAccess(store)
    intake = OrderIntake(store, webhooks)
    admin = keys.principal_of_key(tenant, keys.list_api_keys(operator_of(tenant))[0].key_id)
    old = webhooks.connect_webhook(admin)
    webhooks.regenerate_webhook_secret(admin)
    items = [{"externalOrderId": "C-1", "deliveryAddress": ADDRESS, "palletCount": 1}]

    with pytest.raises(UnauthorizedError):
        intake.receive_batch(batch(tenant, items, "stale", credential_hash=hash_secret(old)))
    assert store.load_many([order_id(tenant, "C-1")]) == {}
