"""Pull from WMS, end to end over real HTTP against a fake WMS on 127.0.0.1, on both stores.

Each test states the sentence of the contract (docs/contract.md) it proves:
"Trackely will call that URL with Authorization: Bearer <secret>. Your endpoint must
return the same JSON shape as the webhook. Use "Sync now" to pull on demand."
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from aiohttp.test_utils import TestClient

from application.timestamps import parse_iso
from interfaces.container import Container, build_container
from interfaces.http.app import create_app
from interfaces.logging_setup import JsonFormatter
from tests.support.fake_wms import FakeWms, Reply, unused_port_url
from tests.support.http import TenantKeys, Webhook, later_write
from tests.support.settings import POSTGRES_URL, make_settings
from tests.support.waits import eventually

# A random-looking key so the tests never create a key file in the working directory.
SECRET_KEY = "test-only-pull-secret-key-4f9c2a7e1b3d5f60a8c9e7d1"
PULL_TIMEOUT = 1.0
BODY_LIMIT = 4096

BATCH = [
    {
        "externalOrderId": "PULL-1",
        "deliveryAddress": "10 High Street, London SW1A 1AA",
        "customerName": "Acme Ltd",
        "totalWeight": 25.5,
        "plannedDate": "2025-02-22",
    },
    {
        "externalOrderId": "PULL-2",
        "deliveryAddress": "1 Dock Road, Leeds LS1 1AA",
        "palletCount": 2,
        "plannedDate": "2025-02-22",
    },
]


pytestmark = pytest.mark.settings(secret_key=SECRET_KEY, pull_timeout_seconds=PULL_TIMEOUT, max_body_bytes=BODY_LIMIT)


@pytest.fixture
async def wms() -> AsyncIterator[FakeWms]:
    async with FakeWms() as fake:
        yield fake


def pull_path(tenant: TenantKeys, endpoint_id: str | None = None, action: str | None = None) -> str:
    path = f"/api/tenants/{tenant.tenant_id}/integrations/wms/pull-endpoints"
    if endpoint_id is not None:
        path += f"/{endpoint_id}"
    if action is not None:
        path += f"/{action}"
    return path


async def add_endpoint(
    client: TestClient, tenant: TenantKeys, url: str, method: str = "GET", interval: int | None = None
) -> dict[str, Any]:
    response = await client.post(
        pull_path(tenant), json={"url": url, "method": method, "intervalMinutes": interval}, headers=tenant.auth()
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def sync_now(client: TestClient, tenant: TenantKeys, endpoint_id: str) -> tuple[int, Any]:
    response = await client.post(pull_path(tenant, endpoint_id, "sync"), headers=tenant.auth())
    return response.status, await response.json()


async def pull_status(client: TestClient, tenant: TenantKeys) -> list[dict[str, Any]]:
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/integrations", headers=tenant.auth())
    assert response.status == 200
    return list((await response.json())["pullEndpoints"])


async def status_after_attempts(
    client: TestClient, tenant: TenantKeys, endpoint_id: str, predicate: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        for entry in await pull_status(client, tenant):
            if entry["id"] == endpoint_id and predicate(entry):
                return entry
        return None

    return dict(await eventually(check))


async def orders_of(
    client: TestClient, tenant: TenantKeys, reached: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The tenant's orders; with ``reached`` (``later_write``), once the read model shows every earlier write."""
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/orders", headers={**tenant.auth(), **(reached or {})})
    assert response.status == 200
    return list((await response.json())["orders"])


# ---------------------------------------------------------------- Sync now succeeds


async def test_sync_now_calls_a_get_endpoint_with_the_bearer_secret_and_ingests_like_the_webhook(
    client: TestClient, tenant: TenantKeys, wms: FakeWms
) -> None:
    added = await add_endpoint(client, tenant, wms.url("/orders"))
    assert set(added) == {"id", "url", "method", "intervalMinutes", "secret", "eventPosition"}
    assert added["method"] == "GET" and added["intervalMinutes"] is None
    secret = added["secret"]
    wms.serve_json("/orders", BATCH)
    wms.require_secret("/orders", secret)

    response = await client.post(pull_path(tenant, added["id"], "sync"), headers=tenant.auth())

    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["accepted"] is True and body["processed"] == 2
    assert [(o["externalOrderId"], o["created"]) for o in body["orders"]] == [("PULL-1", True), ("PULL-2", True)]
    [seen] = wms.requests_to("/orders")
    assert seen.method == "GET"
    assert seen.headers["Authorization"] == f"Bearer {secret}"
    assert "wms-intake" in seen.headers["User-Agent"]
    assert "updatedSince" not in seen.query

    # The orders are there for planning, and their history says they were pulled.
    orders = await eventually(lambda: _orders_when(client, tenant, 2))
    assert {o["externalOrderId"] for o in orders} == {"PULL-1", "PULL-2"}
    history = await client.get(
        f"/api/tenants/{tenant.tenant_id}/orders/{body['orders'][0]['orderId']}/history", headers=tenant.auth()
    )
    [created] = (await history.json())["events"]
    assert created["source"]["channel"] == "pull"
    assert created["source"]["requestId"] == response.headers["X-Request-Id"]

    async def delivery_logged() -> list[dict[str, Any]]:
        # The delivery log is its own read model: it may trail the orders by a moment.
        deliveries = await client.get(
            f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries", headers=tenant.auth()
        )
        return list((await deliveries.json())["deliveries"])

    [delivery] = await eventually(delivery_logged)
    assert delivery["channel"] == "pull" and delivery["status"] == 200
    assert delivery["endpointId"] == added["id"]
    assert delivery["deliveryId"] == created["source"]["deliveryId"]

    # The integration status shows the attempt, never the secret.
    status = await status_after_attempts(client, tenant, added["id"], lambda e: e["lastSyncAt"] is not None)
    assert status["lastSyncStatus"] == "ok" and status["lastProcessed"] == 2 and status["lastError"] is None
    assert status["url"] == wms.url("/orders") and status["nextSyncAt"] is None
    listed = await client.get(pull_path(tenant), headers=tenant.auth())
    listed_text = await listed.text()
    assert secret not in listed_text and "secret" not in orjson.loads(listed_text)["pullEndpoints"][0]

    # The next pull is incremental: it sends when the last successful one started.
    second_status, second = await sync_now(client, tenant, added["id"])
    assert second_status == 200
    assert [o["created"] for o in second["orders"]] == [False, False]
    [_, again] = wms.requests_to("/orders")
    assert parse_iso(again.query["updatedSince"]) <= parse_iso(status["lastSyncAt"])


async def _orders_when(client: TestClient, tenant: TenantKeys, count: int) -> list[dict[str, Any]] | None:
    orders = await orders_of(client, tenant)
    return orders if len(orders) == count else None


async def test_a_post_endpoint_gets_an_empty_json_object_then_updated_since_in_the_body(
    client: TestClient, tenant: TenantKeys, wms: FakeWms
) -> None:
    added = await add_endpoint(client, tenant, wms.url("/export"), method="POST")
    wms.serve_json("/export", BATCH[0])  # a single order object is a batch of one

    first_status, first = await sync_now(client, tenant, added["id"])
    second_status, _ = await sync_now(client, tenant, added["id"])

    assert (first_status, second_status) == (200, 200)
    assert first["processed"] == 1
    one, two = wms.requests_to("/export")
    assert one.method == two.method == "POST"
    assert one.headers["Content-Type"].startswith("application/json")
    assert one.json() == {}
    assert set(two.json()) == {"updatedSince"} and parse_iso(two.json()["updatedSince"])
    assert one.query == two.query == {}


# ---------------------------------------------------------------- Sync now fails


async def test_data_the_webhook_would_refuse_is_a_502_with_the_webhooks_own_error_body_and_stores_nothing(
    client: TestClient, tenant: TenantKeys, webhook: Webhook, wms: FakeWms
) -> None:
    bad_date = orjson.dumps([BATCH[0], {**BATCH[1], "plannedDate": "2025-02-30"}])
    no_address = orjson.dumps([{"externalOrderId": "PULL-9"}])
    not_json = b"<orders><order/></orders>"
    added = await add_endpoint(client, tenant, wms.url("/orders"))

    for payload in (bad_date, no_address, not_json):
        wms.serve_bytes("/orders", payload)
        status, body = await sync_now(client, tenant, added["id"])
        pushed = await client.post(webhook.path, data=payload, headers=webhook.headers())
        pushed_body = await pushed.json()

        assert status == 502
        assert pushed.status in (400, 422)
        assert body["details"] == pushed_body
        assert f"HTTP {pushed.status}" in body["error"]

    # Nothing was stored; the status says why the last attempt failed.
    assert await orders_of(client, tenant, await later_write(client, tenant)) == []
    # The status is its own read model: wait until it shows the last attempt.
    last_error = f"HTTP {pushed.status} '{pushed_body['error']}'"
    entry = await status_after_attempts(
        client, tenant, added["id"], lambda e: e["lastSyncStatus"] == "failed" and last_error in e["lastError"]
    )
    assert "400" in entry["lastError"] and entry["lastProcessed"] is None

    async def three_pulls_logged() -> list[dict[str, Any]] | None:
        # The delivery log is its own read model: it may trail the status by a moment.
        deliveries = await client.get(
            f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries", headers=tenant.auth()
        )
        logged = [d for d in (await deliveries.json())["deliveries"] if d["channel"] == "pull"]
        return logged if len(logged) >= 3 else None

    pulled = await eventually(three_pulls_logged)
    assert sorted(d["status"] for d in pulled) == [400, 400, 422]
    assert all(d["endpointId"] == added["id"] for d in pulled)


async def test_an_unusable_wms_answer_is_a_502_naming_the_reason_and_stores_nothing(
    client: TestClient, tenant: TenantKeys, wms: FakeWms
) -> None:
    wms.serve_bytes("/broken", b"database is down", status=500, content_type="text/plain")
    wms.stall("/slow")
    wms.serve_bytes("/huge", b"[" + b" " * (BODY_LIMIT + 10) + b"]")
    # localhost is another host than 127.0.0.1, although it is the same server.
    wms.redirect("/moved", wms.url("/orders", host="localhost"))
    wms.serve_json("/orders", BATCH)
    cases = {
        wms.url("/broken"): "http_status",
        wms.url("/slow"): "timeout",
        wms.url("/huge"): "too_large",
        wms.url("/moved"): "redirect_refused",
        unused_port_url(): "unreachable",
    }

    for url, reason in cases.items():
        added = await add_endpoint(client, tenant, url)
        status, body = await sync_now(client, tenant, added["id"])

        assert status == 502, (url, body)
        assert body["details"]["reason"] == reason
        assert body["error"] and body["details"]["message"]
        if reason == "http_status":
            assert body["details"]["status"] == 500 and "database is down" in body["details"]["message"]
        entry = await status_after_attempts(client, tenant, added["id"], lambda e: e["lastSyncAt"] is not None)
        assert entry["lastSyncStatus"] == "failed" and entry["lastError"]

    assert wms.requests_to("/orders") == []  # the redirect was not followed
    assert await orders_of(client, tenant, await later_write(client, tenant)) == []


async def test_the_wms_can_check_the_secret_and_a_regenerated_one_fails_until_the_wms_has_it(
    client: TestClient, tenant: TenantKeys, wms: FakeWms
) -> None:
    added = await add_endpoint(client, tenant, wms.url("/orders"))
    wms.serve_json("/orders", BATCH)
    wms.require_secret("/orders", added["secret"])
    assert (await sync_now(client, tenant, added["id"]))[0] == 200

    regenerated = await client.post(pull_path(tenant, added["id"], "secret"), headers=tenant.auth())
    assert regenerated.status == 200
    new_secret = (await regenerated.json())["secret"]
    assert new_secret != added["secret"]

    status, body = await sync_now(client, tenant, added["id"])
    assert status == 502
    assert body["details"]["reason"] == "http_status" and body["details"]["status"] == 401
    assert wms.requests_to("/orders")[-1].headers["Authorization"] == f"Bearer {new_secret}"

    wms.require_secret("/orders", new_secret)
    assert (await sync_now(client, tenant, added["id"]))[0] == 200


async def test_private_and_loopback_addresses_are_refused_when_added_naming_the_setting_that_allows_them(
    aiohttp_client: Any, database_url: str, wms: FakeWms
) -> None:
    container = build_container(make_settings(database_url, secret_key=SECRET_KEY, pull_allow_private=False))
    try:
        client = await aiohttp_client(create_app(container))
        created = container.use_cases.create_tenant("Guarded Ltd")
        tenant = TenantKeys(str(created.tenant_id), created.admin_api_key)
        wms.serve_json("/orders", BATCH)
        refused = (
            wms.url("/orders"),
            wms.url("/orders", host="localhost"),
            "http://10.1.2.3/orders",
            f"http://127.1:{wms.port}/orders",
            f"http://2130706433:{wms.port}/orders",
        )
        # An IPv6 literal (here loopback, mapped) is no pull URL at all: the URL
        # rule, which the API's schema states, refuses it whatever the setting.
        mapped = await client.post(
            pull_path(tenant),
            json={"url": f"http://[::ffff:127.0.0.1]:{wms.port}/orders", "method": "GET"},
            headers=tenant.auth(),
        )
        assert mapped.status == 400
        assert "a host name or IPv4 address" in str(await mapped.json())

        for url in refused:
            response = await client.post(pull_path(tenant), json={"url": url, "method": "GET"}, headers=tenant.auth())

            body = await response.json()
            assert response.status == 400, (url, body)
            assert body["details"]["reason"] == "refused_address", (url, body)
            assert body["details"]["setting"] == "WMS_INTAKE_PULL_ALLOW_PRIVATE"
            assert "WMS_INTAKE_PULL_ALLOW_PRIVATE" in body["details"]["hint"]
        listed = await client.get(pull_path(tenant), headers=tenant.auth())
        assert (await listed.json())["pullEndpoints"] == []

        # A host that does not resolve yet is accepted, with a warning that says so.
        added = await client.post(
            pull_path(tenant), json={"url": "https://wms.invalid/orders", "method": "GET"}, headers=tenant.auth()
        )
        assert added.status == 201
        body = await added.json()
        assert body["warnings"] and "does not resolve" in body["warnings"][0]
        # Changing the URL is judged by the same rules.
        moved = await client.patch(
            pull_path(tenant, body["id"]), json={"url": wms.url("/orders")}, headers=tenant.auth()
        )
        assert moved.status == 400
        assert (await moved.json())["details"]["setting"] == "WMS_INTAKE_PULL_ALLOW_PRIVATE"
        status, synced = await sync_now(client, tenant, body["id"])
        assert status == 502 and synced["details"]["reason"] == "unreachable"
        assert wms.requests == []
        await client.close()
    finally:
        container.close()


async def test_a_non_canonical_address_is_refused_when_added_even_where_private_ones_are_allowed(
    client: TestClient, tenant: TenantKeys, wms: FakeWms
) -> None:
    for url in (f"http://127.1:{wms.port}/orders", f"http://0x7f.0.0.1:{wms.port}/orders"):
        response = await client.post(pull_path(tenant), json={"url": url, "method": "GET"}, headers=tenant.auth())

        body = await response.json()
        assert response.status == 400, body
        assert body["details"]["reason"] == "invalid_url"
    assert wms.requests == []


# ---------------------------------------------------------------- managing endpoints


async def test_endpoints_are_changed_and_removed_by_admins_of_their_own_tenant_only(
    client: TestClient, tenant: TenantKeys, make_tenant: Callable[[str], TenantKeys], wms: FakeWms
) -> None:
    added = await add_endpoint(client, tenant, wms.url("/orders"))
    endpoint = pull_path(tenant, added["id"])

    scheduled = await client.patch(endpoint, json={"intervalMinutes": 15}, headers=tenant.auth())
    assert scheduled.status == 200
    body = await scheduled.json()
    assert body["intervalMinutes"] == 15 and body["nextSyncAt"] is not None
    moved = await client.patch(endpoint, json={"url": wms.url("/v2"), "method": "POST"}, headers=tenant.auth())
    assert (await moved.json())["url"] == wms.url("/v2") and (await moved.json())["method"] == "POST"
    unscheduled = await client.patch(endpoint, json={"intervalMinutes": None}, headers=tenant.auth())
    assert (await unscheduled.json())["nextSyncAt"] is None
    entry = await status_after_attempts(
        client, tenant, added["id"], lambda e: e["method"] == "POST" and e["intervalMinutes"] is None
    )
    assert entry["url"] == wms.url("/v2") and entry["nextSyncAt"] is None

    # A planner may not; another tenant's admin finds nothing.
    planner_key = await client.post(
        f"/api/tenants/{tenant.tenant_id}/api-keys", json={"role": "planner"}, headers=tenant.auth()
    )
    planner = (await planner_key.json())["apiKey"]
    assert (await client.post(pull_path(tenant, added["id"], "sync"), headers=tenant.auth(planner))).status == 403
    assert (await client.get(pull_path(tenant), headers=tenant.auth(planner))).status == 403
    other = make_tenant("Other Ltd")
    assert (await client.post(pull_path(other, added["id"], "sync"), headers=other.auth())).status == 404
    assert (await client.delete(pull_path(other, added["id"]), headers=other.auth())).status == 404
    assert (await client.get(pull_path(tenant), headers=other.auth())).status == 404

    removed = await client.delete(endpoint, headers=tenant.auth())
    assert removed.status == 204
    assert (await client.delete(endpoint, headers=tenant.auth())).status == 404
    assert (await sync_now(client, tenant, added["id"]))[0] == 404
    assert (await client.patch(endpoint, json={"intervalMinutes": 5}, headers=tenant.auth())).status == 404

    async def gone() -> bool:
        return await pull_status(client, tenant) == []

    await eventually(gone)
    assert wms.requests == []


BAD_REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", "", {"url": "ftp://wms.example/orders", "method": "GET"}),
    ("POST", "", {"url": "http://user:pw@wms.example/orders", "method": "GET"}),
    ("POST", "", {"url": "/orders", "method": "GET"}),
    ("POST", "", {"url": "http://wms.example/orders", "method": "PUT"}),
    ("POST", "", {"url": "http://wms.example/orders", "method": "GET", "intervalMinutes": 0}),
    ("POST", "", {"url": "http://wms.example/orders", "method": "GET", "intervalMinutes": "5"}),
    ("POST", "", {"url": "http://wms.example/orders", "method": "GET", "secret": "mine"}),
    ("POST", "", {"method": "GET"}),
    ("POST", "", b"not json"),
    ("PATCH", "/{id}", {}),
    ("PATCH", "/{id}", {"url": None}),
    ("PATCH", "/{id}", {"url": "gopher://wms.example"}),
    ("PATCH", "/{id}", {"intervalMinutes": 100000}),
]


async def test_bad_requests_get_a_400_that_says_what_is_wrong_and_change_nothing(
    client: TestClient, tenant: TenantKeys
) -> None:
    added = await add_endpoint(client, tenant, "http://wms.example/orders")

    for method, suffix, body in BAD_REQUESTS:
        path = pull_path(tenant) + suffix.replace("{id}", added["id"])
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        response = await client.request(
            method, path, data=data, headers={**tenant.auth(), "Content-Type": "application/json"}
        )

        assert response.status == 400, (method, body)
        assert (await response.json())["error"]

    entry = await status_after_attempts(client, tenant, added["id"], lambda e: True)
    assert (entry["url"], entry["method"], entry["intervalMinutes"]) == ("http://wms.example/orders", "GET", None)
    assert len(await pull_status(client, tenant)) == 1


async def test_unknown_endpoint_ids_are_404(client: TestClient, tenant: TenantKeys) -> None:
    for endpoint_id in ("not-a-uuid", "6f1c1e64-8b7c-4c34-a7a2-0c6f4b0e2a11", tenant.tenant_id):
        assert (await sync_now(client, tenant, endpoint_id))[0] == 404
        regenerate = await client.post(pull_path(tenant, endpoint_id, "secret"), headers=tenant.auth())
        assert regenerate.status == 404


# ---------------------------------------------------------------- the secret stays secret


async def test_the_pull_secret_is_in_no_event_read_model_or_log_line(
    client: TestClient,
    container: Container,
    tenant: TenantKeys,
    wms: FakeWms,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    added = await add_endpoint(client, tenant, wms.url("/orders"), interval=60)
    wms.serve_json("/orders", BATCH)
    assert (await sync_now(client, tenant, added["id"]))[0] == 200
    regenerated = await client.post(pull_path(tenant, added["id"], "secret"), headers=tenant.auth())
    new_secret = (await regenerated.json())["secret"]
    # A WMS that quotes the credential it was sent in its error page.
    wms.serve("/orders", Reply(status=500, body=b"rejected credential:", echo_authorization=True))
    status, body = await sync_now(client, tenant, added["id"])
    assert status == 502 and new_secret not in orjson.dumps(body).decode()
    assert wms.requests_to("/orders")[-1].headers["Authorization"] == f"Bearer {new_secret}"
    await status_after_attempts(client, tenant, added["id"], lambda e: e["lastSyncStatus"] == "failed")
    status_text = await (
        await client.get(f"/api/tenants/{tenant.tenant_id}/integrations", headers=tenant.auth())
    ).text()

    stored = _everything_stored(container, tmp_path)
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)

    assert wms.url("/orders").encode() in stored  # the scan does see what was stored
    assert "pull sync" in logged  # and what was logged
    for secret in (added["secret"], new_secret):
        assert secret.encode() not in stored
        assert secret not in logged
        assert secret not in status_text


def _everything_stored(container: Container, tmp_path: Path) -> bytes:
    """Every byte of the SQLite files, or every value of every table of the PostgreSQL schema."""
    if not container.settings.is_postgres:
        return b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("intake.sqlite3"))
    schema = container.db.schema
    chunks: list[bytes] = []
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
            )
        ]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"'):
                for value in row:
                    chunks.append(bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode())
    return b"\n".join(chunks)
