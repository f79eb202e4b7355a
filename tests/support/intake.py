"""Orders into the application without HTTP: a batch received as the webhook
hands it over, and a pull endpoint put through its changes and synced.

Tests that only need orders stored (to read, race or audit them) care about
the tenant, the orders and the request id; the rest of a ``ReceiveBatch``
(body size, channel, time received, limits) is the same for all of them and
is filled in here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from application.commands import IngestResult, Principal, ReceiveBatch
from application.ports.intake import BatchReceiver
from application.pull.results import PullEndpointChange
from application.pull.sync import PullService
from domain.source import Channel

#: Limits far above any test's batch: a test about the limits passes its own.
MAX_ITEMS = 10_000
MAX_BODY_BYTES = 10 * 1024 * 1024


def receive(
    receiver: BatchReceiver,
    tenant_id: UUID | str,
    orders: bytes | Any,
    request_id: str,
    *,
    max_items: int = MAX_ITEMS,
    max_body_bytes: int = MAX_BODY_BYTES,
    channel: Channel = "webhook",
    **fields: Any,
) -> IngestResult:
    """``orders`` (bytes as they are, anything else as JSON) received now by
    ``receiver`` (the application, or its order intake) for the tenant, as the
    webhook receives a batch: its result, or ``PayloadRejectedError`` raised.
    ``fields``: any other field of ``ReceiveBatch`` (``credential_hash``, ``partial``)."""
    tenant = UUID(str(tenant_id))
    body = orders if isinstance(orders, bytes) else orjson.dumps(orders)
    now = datetime.now(UTC)
    # ReceiveBatch's fields in their order: tenant, body, its size, channel, request, time received, the two limits.
    batch = ReceiveBatch(tenant, body, len(body), channel, request_id, now, max_items, max_body_bytes, **fields)
    return receiver.receive_batch(batch)


async def pulled_after_every_change(
    pull: PullService, admin: Principal, first_url: str, url: str, interval: int | None, request_id: str
) -> str:
    """A pull endpoint added at ``first_url`` (GET, every ``interval`` minutes),
    moved to ``url`` (POST), given a new interval (15) and a new secret, then
    synced once: its id. Both stored-event fixture scripts take these steps:
    each stores an event their fixture holds an example of."""
    endpoint = str(pull.add_endpoint(admin, first_url, "GET", interval).endpoint_id)
    pull.change_endpoint(admin, endpoint, PullEndpointChange(url=url, method="POST"))
    pull.change_endpoint(admin, endpoint, PullEndpointChange(interval_given=True, interval_minutes=15))
    pull.regenerate_secret(admin, endpoint)
    await pull.sync_now(admin, endpoint, request_id)
    return endpoint
