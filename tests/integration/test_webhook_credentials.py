"""The webhook's secret as seen by several processes sharing one database.

A process remembers the webhook it last read so a request with the right
secret needs no query before its body is read; the batch itself re-reads the
webhook with its orders, so a secret regenerated (or a webhook deactivated)
by another process stops working at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
import pytest

from application.commands import ReceiveBatch
from application.errors import UnauthorizedError
from application.tokens import hash_secret
from infrastructure.settings import Settings
from interfaces.container import Container, build_container

ORDER = orjson.dumps({"externalOrderId": "ORD-1", "deliveryAddress": "10 High St, London SW1A 1AA"})


@pytest.fixture
def two_processes(settings: Settings) -> Iterator[tuple[Container, Container]]:
    first, second = build_container(settings), build_container(settings)
    yield first, second
    second.close()
    first.close()


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


def connected_here(here: Container) -> tuple[Any, str]:
    """A tenant with its webhook connected, whose secret ``here`` has checked
    (so this process remembers it); the tenant as created, and the secret."""
    created = here.app.create_tenant("Acme")
    tenant = str(created.tenant_id)
    secret = here.app.connect_webhook(here.app.authenticate(tenant, created.admin_api_key))
    assert here.app.authenticate_webhook(tenant, secret) == created.tenant_id
    return created, secret


def notifications(container: Container) -> int:
    return len(container.app.recorder.select_notifications(start=None, limit=100_000))


def refused_storing_nothing(here: Container, tenant_id: UUID, secret: str, *bodies: bytes) -> None:
    """Each batch (one per body) sent with ``secret`` is refused as unauthorised, and nothing is stored."""
    before = notifications(here)
    for body in bodies:
        with pytest.raises(UnauthorizedError):
            here.app.receive_batch(batch(tenant_id, secret, body))
    assert notifications(here) == before


def test_a_secret_regenerated_by_another_process_stops_working_at_once(
    two_processes: tuple[Container, Container],
) -> None:
    here, there = two_processes
    created, old_secret = connected_here(here)
    tenant = str(created.tenant_id)
    here.app.receive_batch(batch(created.tenant_id, old_secret))

    new_secret = there.app.regenerate_webhook_secret(there.app.authenticate(tenant, created.admin_api_key))

    # This process still remembers the old secret for its pre-check ...
    assert here.app.webhook_tenant_if_known(tenant, old_secret) == created.tenant_id
    # ... but neither a valid nor a refused batch gets past the fresh check.
    refused_storing_nothing(here, created.tenant_id, old_secret, ORDER, b"not json")
    # Having read the webhook again, this process knows the new secret.
    assert here.app.webhook_tenant_if_known(tenant, old_secret) is None
    assert here.app.receive_batch(batch(created.tenant_id, new_secret)).orders[0].created is False


def test_a_webhook_deactivated_by_another_process_refuses_batches_at_once(
    two_processes: tuple[Container, Container],
) -> None:
    here, there = two_processes
    created, secret = connected_here(here)
    tenant = str(created.tenant_id)

    there.app.set_webhook_active(there.app.authenticate(tenant, created.admin_api_key), False)

    refused_storing_nothing(here, created.tenant_id, secret, ORDER)
    assert here.app.webhook_tenant_if_known(tenant, secret) is None
