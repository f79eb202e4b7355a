"""The ``Idempotency-Key`` header, over real HTTP, on SQLite and PostgreSQL.

The same key with the same request within 24 hours gets the first answer again
(status, body, ``created`` flags as first answered) with ``Idempotent-Replayed:
true``, and the work is done once; the same key with another request gets 422;
keys are per tenant, stored hashed, and expire; concurrent requests with one key,
through two server processes' worth of application, do the work once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from application.errors import ServiceUnavailableError
from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from interfaces.http.app import create_app
from tests.support.http import Webhook
from tests.support.waits import eventually

ORDER = {"externalOrderId": "IDEM-1", "deliveryAddress": "10 High Street, London SW1A 1AA"}


class MovableClock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment


async def send(
    client: TestClient, hook: Webhook, payload: Any, key: str | None = "key-1", secret: str | None = None
) -> tuple[int, bytes, dict[str, str]]:
    headers = hook.headers(secret)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await client.post(hook.path, data=orjson.dumps(payload), headers=headers)
    return response.status, await response.read(), dict(response.headers)


async def deliveries_up_to_a_marker(client: TestClient, hook: Webhook) -> list[dict[str, Any]]:
    """Every delivery so far: sends one more batch and waits until the log shows it
    (the log follows the commit order, so everything before it shows too)."""
    response = await client.post(
        hook.path, data=orjson.dumps({**ORDER, "externalOrderId": "MARKER"}), headers=hook.headers()
    )
    marker = response.headers["X-Request-Id"]
    tenant = hook.tenant

    async def with_marker() -> list[dict[str, Any]] | None:
        response = await client.get(
            f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries?limit=100", headers=tenant.auth()
        )
        found = (await response.json())["deliveries"]
        return found if any(d["requestId"] == marker for d in found) else None

    return [d for d in await eventually(with_marker) if d["requestId"] != marker]


async def test_the_same_key_and_body_replay_the_first_answer_and_store_once(
    client: TestClient, webhook: Webhook
) -> None:
    status, first, headers = await send(client, webhook, ORDER)
    assert status == 200 and "Idempotent-Replayed" not in headers
    assert orjson.loads(first)["orders"][0]["created"] is True
    status, again, headers = await send(client, webhook, ORDER)
    assert (status, again, headers["Idempotent-Replayed"]) == (200, first, "true")
    # A refusal is kept and replayed too.
    status, refused, _ = await send(client, webhook, {"externalOrderId": ""}, key="key-2")
    assert status == 400
    status, again, headers = await send(client, webhook, {"externalOrderId": ""}, key="key-2")
    assert (status, again, headers["Idempotent-Replayed"]) == (400, refused, "true")
    # Without a key the same order is simply updated-with-nothing, as documented.
    status, fresh, _ = await send(client, webhook, ORDER, key=None)
    assert orjson.loads(fresh)["orders"][0]["created"] is False
    # One accepted delivery and one refused for the keyed requests, plus the unkeyed one.
    assert [d["status"] for d in await deliveries_up_to_a_marker(client, webhook)] == [200, 400, 200]
    tenant = webhook.tenant
    order_id = orjson.loads(first)["orders"][0]["orderId"]
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/orders/{order_id}/history", headers=tenant.auth())
    assert [e["version"] for e in (await response.json())["events"]] == [1]


async def test_the_same_key_with_another_body_gets_422_and_stores_nothing(client: TestClient, webhook: Webhook) -> None:
    assert (await send(client, webhook, ORDER))[0] == 200
    other = {**ORDER, "externalOrderId": "IDEM-OTHER"}
    status, body, _ = await send(client, webhook, other)
    assert status == 422
    assert orjson.loads(body)["error"] == "Idempotency-Key reused with a different request"
    # The same key on a different route of the tenant is another request too.
    status, _, _ = await send(client, webhook, ORDER, key=None)
    tenant = webhook.tenant
    response = await client.get(
        f"/api/tenants/{tenant.tenant_id}/orders/by-external-id/IDEM-OTHER", headers=tenant.auth()
    )
    assert response.status == 404


async def test_a_key_answers_only_its_authenticated_tenant(
    client: TestClient, webhook: Webhook, make_tenant: Any
) -> None:
    assert (await send(client, webhook, ORDER))[0] == 200
    status, body, _ = await send(client, webhook, ORDER, secret="whs_not-the-secret")
    assert (status, orjson.loads(body)) == (401, {"error": "Unauthorized"})
    other = make_tenant("Other Co")
    response = await client.post(f"/api/tenants/{other.tenant_id}/integrations/wms/webhook", headers=other.auth())
    other_hook = Webhook(other, "", (await response.json())["secret"])
    status, body, headers = await send(client, other_hook, ORDER)
    assert status == 200 and "Idempotent-Replayed" not in headers
    assert orjson.loads(body)["orders"][0]["created"] is True


async def test_a_key_expires_after_24_hours(client: TestClient, webhook: Webhook, container: Container) -> None:
    clock = MovableClock()
    container.use_cases.clock = clock
    assert (await send(client, webhook, ORDER))[0] == 200
    clock.moment += timedelta(hours=23, minutes=59)
    assert "Idempotent-Replayed" in (await send(client, webhook, ORDER))[2]
    clock.moment += timedelta(minutes=2)
    status, body, headers = await send(client, webhook, ORDER)
    assert status == 200 and "Idempotent-Replayed" not in headers
    assert orjson.loads(body)["orders"][0]["created"] is False


async def test_tenant_api_posts_replay_and_keys_and_secrets_are_not_stored_in_clear(
    client: TestClient, webhook: Webhook, container: Container
) -> None:
    tenant = webhook.tenant
    headers = {**tenant.auth(), "Idempotency-Key": "customer-key-1"}
    customer = {"name": "Keyed Co", "address": "1 Dock Road, Leeds LS1 4AP"}
    path = f"/api/tenants/{tenant.tenant_id}/customers"
    first = await client.post(path, json=customer, headers=headers)
    again = await client.post(path, json=customer, headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert await first.read() == await again.read()
    assert again.headers["Idempotent-Replayed"] == "true"
    # Without the key the same request is the documented 409.
    assert (await client.post(path, json=customer, headers=tenant.auth())).status == 409

    secret_key = "rotate-key-1"
    rotated = await client.post(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook/secret",
        headers={**tenant.auth(), "Idempotency-Key": secret_key},
    )
    secret = (await rotated.json())["secret"]
    table = container.db.table("idempotency_keys")
    rows = container.db.query(f"SELECT * FROM {table}")
    dumped = orjson.dumps(rows, default=str).decode()
    assert len(rows) == 2
    assert secret not in dumped and secret_key not in dumped and "customer-key-1" not in dumped
    assert "Keyed Co" not in dumped


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "two words"])
async def test_a_malformed_key_gets_400_and_changes_nothing(client: TestClient, webhook: Webhook, key: str) -> None:
    headers = {**webhook.headers(), "Idempotency-Key": key}
    response = await client.post(webhook.path, data=orjson.dumps(ORDER), headers=headers)
    assert response.status == 400
    assert (await response.json())["error"] == "Invalid Idempotency-Key"


# ---------------------------------------------------------------------- concurrency, two processes


@pytest.fixture
def second_container(settings: Settings) -> Iterator[Container]:
    built = build_container(settings)
    yield built
    built.close()


async def test_concurrent_requests_with_one_key_through_two_processes_do_the_work_once(
    second_container: Container, client: TestClient, webhook: Webhook, aiohttp_client: Any
) -> None:
    # The second application is built first, while the store is still empty: two
    # builders on one SQLite file while the first one's followers write can meet
    # its write lock.
    other = await aiohttp_client(create_app(second_container, run_background=False))
    batch = [{**ORDER, "externalOrderId": f"RACE-{n}"} for n in range(200)]
    answers = await asyncio.gather(*(send(c, webhook, batch, key="race-key") for c in (client, other) * 6))
    statuses = [status for status, _, _ in answers]
    done = [(body, headers) for status, body, headers in answers if status == 200]
    assert set(statuses) <= {200, 409} and done
    assert len({body for body, _ in done}) == 1
    assert sum(1 for _, headers in done if "Idempotent-Replayed" not in headers) == 1
    assert all(entry["created"] for entry in orjson.loads(done[0][0])["orders"])
    assert len(await deliveries_up_to_a_marker(client, webhook)) == 1


async def test_a_key_the_database_would_not_take_back_is_given_up_once_it_is_there_again(
    client: TestClient, webhook: Webhook, container: Container
) -> None:
    # The database goes away during the work: the answer is a 503 (not kept), and
    # giving the key up fails too. Held, the key would answer the caller's retry
    # with 409 until its lease ran out, two minutes later.
    receive_batch, release = container.use_cases.receive_batch, container.idempotency.release
    refused: list[str] = []

    def receive_while_the_database_is_away(command: Any) -> Any:
        container.use_cases.receive_batch = receive_batch  # type: ignore[method-assign]  # only the first request meets it
        raise ServiceUnavailableError("the database is unavailable; retry shortly")

    def release_while_the_database_is_away(*args: Any) -> None:
        if len(refused) < 2:
            refused.append(args[1])
            raise ServiceUnavailableError("the database is unavailable; retry shortly")
        release(*args)

    container.use_cases.receive_batch = receive_while_the_database_is_away  # type: ignore[method-assign]  # the database is away for one request
    container.idempotency.release = release_while_the_database_is_away  # type: ignore[method-assign]  # ... and for two releases

    status, _, _ = await send(client, webhook, ORDER)
    assert status == 503 and refused

    async def retried() -> int | None:
        status, _, _ = await send(client, webhook, ORDER)
        return status if status != 409 else None

    assert await eventually(retried, within=30.0, every=0.2) == 200
    assert len(refused) == 2
