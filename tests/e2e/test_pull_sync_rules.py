"""Pull from WMS: one sync at a time, the newest data wins, a changed URL starts over,
secrets never echo back, and the WMS's answer is judged like a webhook's.

Fake WMSs on 127.0.0.1; "two processes" are two containers (each its own
application, read models, pull service and HTTP server) on one database,
PostgreSQL and SQLite both.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from aiohttp.test_utils import TestClient

from application.errors import ServiceUnavailableError
from application.timestamps import parse_iso
from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from interfaces.http.app import create_app
from interfaces.http.presenters.pull import present_pull_endpoints
from tests.e2e.test_pull_endpoints import (
    BATCH,
    SECRET_KEY,
    add_endpoint,
    orders_of,
    pull_path,
    status_after_attempts,
    sync_now,
)
from tests.reliability.test_security import every_stored_value
from tests.support.fake_wms import FakeWms, Reply
from tests.support.http import TenantKeys, later_write
from tests.support.logs import json_logs
from tests.support.settings import make_settings
from tests.support.waits import eventually


def pull_settings(database_url: str, **overrides: Any) -> Settings:
    return make_settings(database_url, secret_key=SECRET_KEY, pull_timeout_seconds=5.0, **overrides)


@pytest.fixture
async def wms() -> AsyncIterator[FakeWms]:
    async with FakeWms() as fake:
        yield fake


@pytest.fixture
def two_processes(database_url: str) -> Iterator[list[Container]]:
    containers = [build_container(pull_settings(database_url)) for _ in range(2)]
    yield containers
    for container in containers:
        container.close()


async def clients_of(aiohttp_client: Any, containers: list[Container]) -> list[TestClient]:
    return [await aiohttp_client(create_app(container)) for container in containers]


def tenant_of(container: Container, name: str = "Acme Ltd") -> TenantKeys:
    created = container.use_cases.create_tenant(name)
    return TenantKeys(str(created.tenant_id), created.admin_api_key)


async def requests_seen(wms: FakeWms, path: str, count: int) -> None:
    async def seen() -> bool:
        return len(wms.requests_to(path)) >= count

    await eventually(seen, within=5.0)


def order(weight: float) -> bytes:
    return orjson.dumps([{**BATCH[0], "totalWeight": weight}])


async def order_by_external_id(client: TestClient, tenant: TenantKeys, external_id: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        response = await client.get(
            f"/api/tenants/{tenant.tenant_id}/orders/by-external-id/{external_id}", headers=tenant.auth()
        )
        return dict(await response.json()) if response.status == 200 else None

    return dict(await eventually(found))


# ---------------------------------------------------------------- one sync at a time


async def test_sync_now_while_a_sync_of_the_endpoint_runs_in_any_process_gets_409_naming_the_running_sync(
    aiohttp_client: Any, two_processes: list[Container], wms: FakeWms
) -> None:
    clients = await clients_of(aiohttp_client, two_processes)
    tenant = tenant_of(two_processes[0])
    wms.serve_in_turn("/orders", [Reply(body=orjson.dumps(BATCH), stall=True)])
    added = await add_endpoint(clients[0], tenant, wms.url("/orders"))

    running = asyncio.create_task(sync_now(clients[0], tenant, added["id"]))
    await requests_seen(wms, "/orders", 1)
    refused = [await asyncio.wait_for(sync_now(client, tenant, added["id"]), 5.0) for client in reversed(clients)]
    wms.release()
    status, body = await running

    assert status == 200 and body["processed"] == 2
    assert [s for s, _ in refused] == [409, 409], refused
    sync_ids = {b["syncId"] for _, b in refused}
    assert len(sync_ids) == 1 and all("already running" in b["error"] for _, b in refused)
    assert len(wms.requests_to("/orders")) == 1
    # The id named is the running sync's: its delivery in the delivery log.
    delivery = body["orders"][0]["orderId"]
    history = await clients[1].get(f"/api/tenants/{tenant.tenant_id}/orders/{delivery}/history", headers=tenant.auth())
    assert (await history.json())["events"][0]["source"]["deliveryId"] == sync_ids.pop()
    # Once it has ended, the endpoint syncs again from either process.
    assert (await sync_now(clients[1], tenant, added["id"]))[0] == 200


async def test_a_lease_the_database_would_not_take_back_is_given_back_once_it_is_there_again(
    aiohttp_client: Any, two_processes: list[Container], wms: FakeWms
) -> None:
    # The database goes away just as a sync ends, so giving its lease back
    # fails. Left behind, the lease would answer every "Sync now" of the
    # endpoint with 409 until it ran out, minutes later.
    container = two_processes[0]
    [client] = await clients_of(aiohttp_client, [container])
    tenant = tenant_of(container)
    wms.serve("/orders", Reply(body=orjson.dumps(BATCH)))
    added = await add_endpoint(client, tenant, wms.url("/orders"))
    leases = container.pull.leases
    give_back = leases.give_back
    refused: list[str] = []

    def give_back_while_the_database_is_away(endpoint_id: Any, attempt_id: Any) -> None:
        if len(refused) < 2:
            refused.append(str(attempt_id))
            raise ServiceUnavailableError("the database is unavailable; retry shortly")
        give_back(endpoint_id, attempt_id)

    leases.give_back = give_back_while_the_database_is_away  # type: ignore[method-assign]  # the database is away for two calls

    first, _ = await sync_now(client, tenant, added["id"])

    # The sync stored its batch and says so; the lease is taken back once the database is there again.
    assert first == 200 and refused
    again = await eventually(lambda: _synced(client, tenant, added["id"]), within=10.0, every=0.1)
    assert again == 200 and len(refused) == 2


async def _synced(client: TestClient, tenant: TenantKeys, endpoint_id: str) -> int | None:
    status, _ = await sync_now(client, tenant, endpoint_id)
    return status if status != 409 else None


async def test_data_pulled_earlier_never_overwrites_data_pulled_later_even_when_syncs_overlap(
    aiohttp_client: Any, two_processes: list[Container], wms: FakeWms
) -> None:
    # Leases that end at once stand for a lost lease (a process paused past
    # it): the syncs overlap, and the ingest itself must keep the newer data.
    for container in two_processes:
        container.pull.lease = timedelta(0)
    clients = await clients_of(aiohttp_client, two_processes)
    tenant = tenant_of(two_processes[0])
    # The WMS answers the first pull late with older data, the second at once with newer data.
    wms.serve_in_turn("/orders", [Reply(body=order(10.0), stall=True), Reply(body=order(20.0))])
    added = await add_endpoint(clients[0], tenant, wms.url("/orders"))

    older = asyncio.create_task(sync_now(clients[0], tenant, added["id"]))
    await requests_seen(wms, "/orders", 1)
    newer_status, _ = await asyncio.wait_for(sync_now(clients[1], tenant, added["id"]), 5.0)
    wms.release()
    older_status, older_body = await older

    assert newer_status == 200
    assert older_status == 502, older_body
    assert older_body["details"]["reason"] == "superseded"
    stored = await order_by_external_id(clients[0], tenant, "PULL-1")
    assert stored["totalWeight"] == 20.0 and stored["version"] == 1
    entry = await status_after_attempts(clients[0], tenant, added["id"], lambda e: e["lastSyncStatus"] == "failed")
    assert "not stored" in entry["lastError"]


async def test_a_scheduled_sync_skips_while_a_manual_one_runs_and_a_manual_one_gets_409_while_a_scheduled_one_runs(
    two_processes: list[Container], wms: FakeWms
) -> None:
    manual_side, scheduled_side = (c.pull for c in two_processes)
    principal = two_processes[0].use_cases.authenticate_own_tenant(tenant_of(two_processes[0]).admin_key)
    wms.serve_in_turn("/orders", [Reply(body=orjson.dumps(BATCH), stall=True)])
    added = manual_side.add_endpoint(principal, wms.url("/orders"), "GET", 1)
    two_processes[0].catch_up()
    later = FixedClock(two_processes[0].use_cases.clock.now() + timedelta(minutes=2))
    scheduled_side.clock = later  # the endpoint is due for the scheduling process

    manual = asyncio.create_task(manual_side.sync_now(principal, str(added.endpoint_id), "manual-press"))
    await requests_seen(wms, "/orders", 1)
    skipped = await scheduled_side.sync_scheduled(added.endpoint_id, uuid_for("scheduled-1"))
    wms.release()
    await manual

    assert skipped is None
    assert len(wms.requests_to("/orders")) == 1

    # The reverse: a scheduled sync runs, and "Sync now" in the other process gets 409.
    wms.hold()
    wms.serve_in_turn("/orders", [Reply(body=orjson.dumps(BATCH), stall=True)])
    scheduled_side.clock = FixedClock(later.now() + timedelta(hours=2))
    scheduled = asyncio.create_task(scheduled_side.sync_scheduled(added.endpoint_id, uuid_for("scheduled-2")))
    await requests_seen(wms, "/orders", 2)
    with pytest.raises(Exception) as refused:
        await manual_side.sync_now(principal, str(added.endpoint_id), "second-press")
    wms.release()
    outcome = await scheduled

    assert type(refused.value).__name__ == "SyncRunningError"
    assert refused.value.fields == {"syncId": str(uuid_for("scheduled-2"))}  # type: ignore[attr-defined]  # the error class is checked by name just above
    assert outcome is not None and outcome.attempt.ok
    assert len(wms.requests_to("/orders")) == 2


async def test_a_process_runs_at_most_its_limit_of_syncs_and_answers_429_with_retry_after_beyond_it(
    aiohttp_client: Any, database_url: str, wms: FakeWms
) -> None:
    container = build_container(pull_settings(database_url, pull_max_concurrent=2))
    try:
        client = await aiohttp_client(create_app(container))
        tenant = tenant_of(container)
        paths = ["/a", "/b", "/c"]
        for path in paths:
            wms.serve(path, Reply(body=orjson.dumps(BATCH), stall=True))
        ids = [(await add_endpoint(client, tenant, wms.url(path)))["id"] for path in paths]

        running = [asyncio.create_task(sync_now(client, tenant, i)) for i in ids[:2]]
        await requests_seen(wms, "/a", 1)
        await requests_seen(wms, "/b", 1)
        response = await asyncio.wait_for(client.post(pull_path(tenant, ids[2], "sync"), headers=tenant.auth()), 5.0)
        body = await response.json()
        wms.release()
        finished = await asyncio.gather(*running)

        assert response.status == 429, body
        assert int(response.headers["Retry-After"]) >= 1 and body["retryAfter"] >= 1
        assert wms.requests_to("/c") == []
        assert [s for s, _ in finished] == [200, 200]
        assert (await sync_now(client, tenant, ids[2]))[0] == 200  # a slot is free again
    finally:
        container.close()


# ---------------------------------------------------------------- the cursor belongs to its URL


async def test_a_url_changed_during_a_sync_resets_the_cursor_and_that_sync_does_not_write_it(
    client: TestClient, tenant: TenantKeys, wms: FakeWms
) -> None:
    wms.serve_in_turn("/old", [Reply(body=orjson.dumps(BATCH)), Reply(body=orjson.dumps(BATCH), stall=True)])
    wms.serve_json("/new", [])
    added = await add_endpoint(client, tenant, wms.url("/old"))
    assert (await sync_now(client, tenant, added["id"]))[0] == 200

    running = asyncio.create_task(sync_now(client, tenant, added["id"]))
    await requests_seen(wms, "/old", 2)
    assert "updatedSince" in wms.requests_to("/old")[1].query
    moved = await client.patch(pull_path(tenant, added["id"]), json={"url": wms.url("/new")}, headers=tenant.auth())
    assert moved.status == 200
    wms.release()
    assert (await running)[0] == 200
    for _ in range(2):
        assert (await sync_now(client, tenant, added["id"]))[0] == 200

    first_new, second_new = wms.requests_to("/new")
    assert "updatedSince" not in first_new.query  # the old URL's cursor is not carried over
    assert "updatedSince" in second_new.query  # the new URL earns its own


# ---------------------------------------------------------------- secrets never echo back


def leaks(secret: str, text: str) -> list[str]:
    """Runs of 12 or more of the secret's characters in ``text``, also once escapes are undone."""
    undone = re.sub(r"\\+u005[fF]", "_", text)
    undone = re.sub(r"%(25)*5[fF]", "_", undone).replace("\\/", "/")
    return [secret[i : i + 12] for i in range(len(secret) - 11) if secret[i : i + 12] in undone]


def echoes(secret: str) -> dict[str, bytes]:
    """Ways a WMS gives back the token it was sent."""
    escaped = secret.replace("_", "\\u005f")
    return {
        "as an order's externalOrderId next to an invalid field": orjson.dumps(
            [{"externalOrderId": secret, "deliveryAddress": "10 High Street, London SW1A 1AA", "plannedDate": 7}]
        ),
        "JSON-escaped in an order": (
            b'[{"externalOrderId": "' + escaped.encode() + b'", "deliveryAddress": "1 A St, London SW1A 1AA"}]'
        ),
        "cut off, in a field name": orjson.dumps([{"externalOrderId": "X-1", secret[:20]: "?"}]),
        "in a validation error of the webhook": orjson.dumps([{"externalOrderId": 5, "note": secret[4:30]}]),
    }


def error_echoes(secret: str) -> dict[str, tuple[int, bytes, str]]:
    """Error pages that quote the token in forms the snippet's exact match misses."""
    return {
        "escaped in a 500": (
            500,
            b'{"error": "bad token ' + secret.replace("_", "\\u005f").encode() + b'"}',
            "application/json",
        ),
        "URL-encoded in a 400": (400, b"token=" + quote(secret.replace("_", "%5F"), safe="%").encode(), "text/plain"),
        "cut off in a 401": (401, b"unknown key " + secret[:18].encode(), "text/plain"),
    }


async def test_a_wms_that_echoes_its_bearer_token_gets_it_stored_logged_and_answered_nowhere(
    client: TestClient, tenant: TenantKeys, container: Container, wms: FakeWms
) -> None:
    added = await add_endpoint(client, tenant, wms.url("/orders"))
    secret = added["secret"]
    answers: list[str] = []
    with json_logs(10) as log:
        for name, body in echoes(secret).items():
            wms.serve_bytes("/orders", body)
            status, answer = await sync_now(client, tenant, added["id"])
            assert status == 502, (name, answer)
            answers.append(orjson.dumps(answer).decode())
        for name, (code, body, kind) in error_echoes(secret).items():
            wms.serve_bytes("/orders", body, status=code, content_type=kind)
            status, answer = await sync_now(client, tenant, added["id"])
            assert status == 502 and answer["details"]["reason"] == "http_status", (name, answer)
            answers.append(orjson.dumps(answer).decode())
        container.catch_up()
        entry = await status_after_attempts(client, tenant, added["id"], lambda e: e["lastError"] is not None)
        deliveries = await client.get(
            f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries", headers=tenant.auth()
        )
        answers.append(await deliveries.text())
        answers.append(orjson.dumps(entry).decode())

    assert "[redacted]" in "".join(answers)
    assert await orders_of(client, tenant) == []  # nothing of an echoing answer is stored
    for where, text in {
        "responses": "\n".join(answers),
        "log": log.getvalue(),
        "event store and read models": every_stored_value(container).decode("utf-8", "replace"),
    }.items():
        assert leaks(secret, text) == [], f"the pull secret is in the {where}"


async def test_a_webhook_refusal_that_quotes_the_webhook_secret_is_redacted_in_the_answer_and_the_delivery_log(
    client: TestClient, tenant: TenantKeys, container: Container, webhook: Any
) -> None:
    headers = webhook.headers()
    for body in (
        [{"externalOrderId": webhook.secret, "deliveryAddress": "10 High St, London SW1A 1AA", "plannedDate": "x"}],
        [{"externalOrderId": webhook.secret[3:25], "palletCount": "many"}],
    ):
        response = await client.post(webhook.path, data=orjson.dumps(body), headers=headers)
        assert response.status in (400, 422)
        answer = await response.text()
        assert "[redacted]" in answer and leaks(webhook.secret, answer) == []
    container.catch_up()
    deliveries = await client.get(f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries", headers=tenant.auth())
    assert leaks(webhook.secret, await deliveries.text()) == []
    assert leaks(webhook.secret, every_stored_value(container).decode("utf-8", "replace")) == []


async def test_a_url_that_carries_the_pull_secret_is_refused_and_stored_nowhere(
    client: TestClient, tenant: TenantKeys, container: Container, wms: FakeWms
) -> None:
    added = await add_endpoint(client, tenant, wms.url("/orders"))
    secret = added["secret"]

    for url in (wms.url(f"/orders?token={secret}"), wms.url(f"/orders/{quote(secret[2:20].replace('_', '%5F'))}")):
        response = await client.patch(pull_path(tenant, added["id"]), json={"url": url}, headers=tenant.auth())
        body = await response.text()
        assert response.status == 400, body
        assert "secret" in body and leaks(secret, body) == []
    container.catch_up()
    assert leaks(secret, every_stored_value(container).decode("utf-8", "replace")) == []


# ---------------------------------------------------------------- judged like the webhook


@pytest.mark.parametrize("content_type", ["text/html", "application/xml", "application/x-www-form-urlencoded"])
async def test_a_wms_answer_the_webhook_would_refuse_with_415_is_a_502_whose_details_are_that_415(
    client: TestClient, tenant: TenantKeys, wms: FakeWms, webhook: Any, content_type: str
) -> None:
    wms.serve_bytes("/orders", orjson.dumps(BATCH), content_type=content_type)
    added = await add_endpoint(client, tenant, wms.url("/orders"))

    status, body = await sync_now(client, tenant, added["id"])
    pushed = await client.post(
        webhook.path, data=orjson.dumps(BATCH), headers={**webhook.headers(), "Content-Type": content_type}
    )

    assert pushed.status == 415
    assert status == 502 and "415" in body["error"]
    assert body["details"] == await pushed.json()
    entry = await status_after_attempts(client, tenant, added["id"], lambda e: e["lastError"] is not None)
    assert content_type in entry["lastError"]
    assert await orders_of(client, tenant, await later_write(client, tenant)) == []


async def test_a_scheduled_sync_told_to_retry_after_an_hour_waits_that_long_within_the_cap(
    two_processes: list[Container], wms: FakeWms
) -> None:
    service = two_processes[0].pull
    principal = two_processes[0].use_cases.authenticate_own_tenant(tenant_of(two_processes[0]).admin_key)
    wms.serve("/busy", Reply(status=429, body=b"slow down", content_type="text/plain", headers={"Retry-After": "3600"}))
    wms.serve("/away", Reply(status=503, body=b"", content_type="text/plain", headers={"Retry-After": "86400"}))
    for path, expected in (("/busy", timedelta(hours=1)), ("/away", timedelta(hours=1))):
        service.clock = two_processes[0].use_cases.clock
        added = service.add_endpoint(principal, wms.url(path), "GET", 1)
        clock = FixedClock(two_processes[0].use_cases.clock.now() + timedelta(minutes=2))
        service.clock = clock

        outcome = await service.sync_scheduled(added.endpoint_id, uuid_for(path))

        assert outcome is not None and not outcome.attempt.ok
        assert outcome.failure is not None and outcome.failure.details["retryAfter"] >= 3600
        [entry] = [e for e in await eventually(lambda: listed(two_processes[0], principal)) if e["url"].endswith(path)]
        # Not the two minutes of the backoff: the hour the WMS asked for (a day is capped at the hour).
        assert parse_iso(entry["nextSyncAt"]) - clock.now() == expected


# ---------------------------------------------------------------- headers and sign-in


async def test_every_response_that_shows_a_secret_is_no_store_and_every_api_response_is_nosniff(
    client: TestClient, tenant: TenantKeys, wms: FakeWms
) -> None:
    base = f"/api/tenants/{tenant.tenant_id}"
    shown = [
        await client.post(f"{base}/integrations/wms/webhook", headers=tenant.auth()),
        await client.post(f"{base}/integrations/wms/webhook/secret", headers=tenant.auth()),
        await client.post(f"{base}/api-keys", json={"role": "planner"}, headers=tenant.auth()),
        added := await client.post(
            f"{base}/integrations/wms/pull-endpoints", json={"url": wms.url(), "method": "GET"}, headers=tenant.auth()
        ),
    ]
    endpoint_id = (await added.json())["id"]
    shown.append(
        await client.post(f"{base}/integrations/wms/pull-endpoints/{endpoint_id}/secret", headers=tenant.auth())
    )
    others = [
        await client.get(f"{base}/orders", headers=tenant.auth()),
        await client.get(f"{base}/orders", headers={"Authorization": "Bearer wrong"}),
        await client.get(f"{base}/no-such-route", headers=tenant.auth()),
        await client.get("/api/openapi.json"),
    ]

    for response in shown:
        assert response.status in (200, 201), await response.text()
        assert "secret" in await response.text() or "apiKey" in await response.text()
        assert response.headers["Cache-Control"] == "no-store", response.url
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.url
    for response in others:
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.url


async def test_failed_sign_ins_are_throttled_per_address_and_tenant_but_the_right_key_still_gets_in(
    client: TestClient, tenant: TenantKeys, make_tenant: Any
) -> None:
    limit = 10  # WMS_INTAKE_SIGN_IN_FAILURES_PER_MINUTE's default
    wrong = tenant.admin_key[:-6] + "AAAAAA"
    statuses = []
    for _ in range(limit + 20):
        response = await client.post("/dashboard/session", json={"apiKey": wrong})
        statuses.append(response.status)
    throttled = await client.post("/dashboard/session", json={"apiKey": wrong})

    assert statuses[:limit] == [401] * limit
    assert set(statuses[limit:]) == {429}
    assert throttled.status == 429 and int(throttled.headers["Retry-After"]) >= 1
    right = await client.post("/dashboard/session", json={"apiKey": tenant.admin_key})
    assert right.status == 201, await right.text()
    other = make_tenant("Other Ltd")
    assert (await client.post("/dashboard/session", json={"apiKey": other.admin_key})).status == 201


# ---------------------------------------------------------------- helpers


class FixedClock:
    def __init__(self, now: Any) -> None:
        self._now = now

    def now(self) -> Any:
        return self._now


def uuid_for(name: str) -> Any:
    from uuid import NAMESPACE_URL, uuid5

    return uuid5(NAMESPACE_URL, name)


async def listed(container: Container, principal: Any) -> list[dict[str, Any]] | None:
    container.catch_up()
    entries = present_pull_endpoints(container.pull.list_endpoints(principal))["pullEndpoints"]
    return entries if all(e["lastSyncAt"] for e in entries) else None
