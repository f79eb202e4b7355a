"""The webhook's secret as seen by several processes sharing one database.

A process remembers the webhook it last read so a request with the right
secret needs no query before its body is read; the batch itself re-reads the
webhook with its orders, so a secret regenerated (or a webhook deactivated)
by another process stops working at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import orjson
import pytest

from application.commands import Principal, ReceiveBatch
from application.errors import UnauthorizedError
from application.tokens import hash_secret
from infrastructure.settings import Settings
from interfaces.container import Container, build_container

ORDER = orjson.dumps({"externalOrderId": "ORD-1", "deliveryAddress": "10 High St, London SW1A 1AA"})


def batch(tenant_id: UUID, secret: str, body: bytes = ORDER) -> ReceiveBatch:
    return ReceiveBatch(
        tenant_id=tenant_id,
        body=body,
        body_size=len(body),
        channel="webhook",
        request_id="req-1",
        received_at=datetime.now(UTC),
        max_items=100,
        max_body_bytes=10_000,
        credential_hash=hash_secret(secret),
    )


@dataclass(frozen=True)
class Connected:
    """A tenant with its webhook connected, in one database that two processes
    share: ``here`` has checked the secret (so this process remembers it),
    ``there`` is the other process."""

    here: Container
    there: Container
    tenant_id: UUID
    admin_key: str
    secret: str

    @property
    def tenant(self) -> str:
        return str(self.tenant_id)

    def admin_there(self) -> Principal:
        return self.there.use_cases.authenticate(self.tenant, self.admin_key)


@pytest.fixture
def connected(settings: Settings) -> Iterator[Connected]:
    here, there = build_container(settings), build_container(settings)
    try:
        created = here.use_cases.create_tenant("Acme")
        tenant = str(created.tenant_id)
        secret = here.use_cases.connect_webhook(here.use_cases.authenticate(tenant, created.admin_api_key))
        assert here.use_cases.authenticate_webhook(tenant, secret) == created.tenant_id
        yield Connected(here, there, created.tenant_id, created.admin_api_key, secret)
    finally:
        there.close()
        here.close()


def notifications(container: Container) -> int:
    return len(container.use_cases.recorder.select_notifications(start=None, limit=100_000))


def refused_storing_nothing(here: Container, tenant_id: UUID, secret: str, *bodies: bytes) -> None:
    """Each batch (one per body) sent with ``secret`` is refused as unauthorised, and nothing is stored."""
    before = notifications(here)
    for body in bodies:
        with pytest.raises(UnauthorizedError):
            here.use_cases.receive_batch(batch(tenant_id, secret, body))
    assert notifications(here) == before


def test_a_secret_regenerated_by_another_process_stops_working_at_once(connected: Connected) -> None:
    here, old_secret = connected.here, connected.secret
    here.use_cases.receive_batch(batch(connected.tenant_id, old_secret))

    new_secret = connected.there.use_cases.regenerate_webhook_secret(connected.admin_there())

    # This process still remembers the old secret for its pre-check ...
    assert here.use_cases.webhook_tenant_if_known(connected.tenant, old_secret) == connected.tenant_id
    # ... but neither a valid nor a refused batch gets past the fresh check.
    refused_storing_nothing(here, connected.tenant_id, old_secret, ORDER, b"not json")
    # Having read the webhook again, this process knows the new secret.
    assert here.use_cases.webhook_tenant_if_known(connected.tenant, old_secret) is None
    assert here.use_cases.receive_batch(batch(connected.tenant_id, new_secret)).orders[0].created is False


def test_a_webhook_deactivated_by_another_process_refuses_batches_at_once(connected: Connected) -> None:
    connected.there.use_cases.set_webhook_active(connected.admin_there(), False)

    refused_storing_nothing(connected.here, connected.tenant_id, connected.secret, ORDER)
    assert connected.here.use_cases.webhook_tenant_if_known(connected.tenant, connected.secret) is None
