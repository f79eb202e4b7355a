"""Auditors and operators, from the API alone, over real HTTP, on SQLite and PostgreSQL.

"What did the WMS change on order X, in which request, and what did it look
like before?": the order history names every change and its source (the
X-Request-Id of the webhook response, which also finds the batch in the
delivery log), and ``asOfVersion`` / ``asOf`` show the order as it was.
The delivery log lists accepted and rejected batches, newest first, with the
error each got; a payload is never kept beyond its size and hash.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import psycopg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from application.timestamps import iso, parse_iso
from domain.delivery import Delivery
from domain.ids import webhook_id
from infrastructure.settings import Settings
from interfaces.container import Container
from interfaces.http.presenters.history import present_history
from tests.support.http import TenantKeys, Webhook
from tests.support.intake import receive
from tests.support.settings import POSTGRES_URL
from tests.support.waits import eventually

ADDRESS = "10 High Street, London SW1A 1AA"


async def send(client: TestClient, hook: Webhook, body: Any, secret: str | None = None) -> tuple[int, Any, str]:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    response = await client.post(hook.path, data=data, headers=hook.headers(secret))
    text = await response.text()
    return response.status, (orjson.loads(text) if text else None), response.headers["X-Request-Id"]


async def get(client: TestClient, path: str, key: str) -> tuple[int, Any]:
    response = await client.get(path, headers={"Authorization": f"Bearer {key}"})
    return response.status, await response.json()


async def issue(client: TestClient, tenant: TenantKeys, role: str) -> dict[str, str]:
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/api-keys", json={"role": role}, headers=tenant.auth()
    )
    assert response.status == 201
    return dict(await response.json())


async def delivery_log(client: TestClient, tenant: TenantKeys, count: int) -> list[dict[str, Any]]:
    """The whole delivery log once it holds ``count`` entries (it is a read model: it lags a little)."""

    async def complete() -> list[dict[str, Any]] | None:
        status, page = await get(
            client, f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries?limit=1000", tenant.admin_key
        )
        assert status == 200
        return page["deliveries"] if len(page["deliveries"]) >= count else None

    return list(await eventually(complete))


# ---------------------------------------------------------------- history and "as of"


async def test_an_auditor_finds_what_the_wms_changed_in_which_request_and_how_it_was_before(
    client: TestClient, webhook: Webhook, tenant: TenantKeys
) -> None:
    created = {
        "externalOrderId": "AUD-1",
        "deliveryAddress": ADDRESS,
        "customerName": "Acme Ltd",
        "totalWeight": 25.5,
        "palletCount": 1,
        "plannedDate": "2025-02-22",
        "ignoredField": "x",
    }
    status, body, first = await send(client, webhook, created)
    assert status == 200
    order_id = body["orders"][0]["orderId"]
    status, _, second = await send(
        client,
        webhook,
        {"externalOrderId": "AUD-1", "deliveryAddress": ADDRESS, "palletCount": 3, "plannedDate": "2025-02-23"},
    )
    assert status == 200
    # The same values again change nothing and record no event.
    status, _, unchanged = await send(
        client, webhook, {"externalOrderId": "AUD-1", "deliveryAddress": ADDRESS, "palletCount": 3}
    )
    assert status == 200
    status, _, third = await send(
        client,
        webhook,
        {"externalOrderId": "AUD-1", "deliveryAddress": ADDRESS, "totalWeight": None, "specialHandling": ["fragile"]},
    )
    assert status == 200

    auditor = (await issue(client, tenant, "auditor"))["apiKey"]
    base = f"/api/tenants/{tenant.tenant_id}/orders/{order_id}"
    status, history = await get(client, f"{base}/history", auditor)
    assert status == 200 and history["orderId"] == order_id
    events = history["events"]
    assert [(e["type"], e["version"]) for e in events] == [
        ("OrderCreated", 1),
        ("OrderUpdated", 2),
        ("OrderUpdated", 3),
    ]
    assert events[0]["changes"] == {
        "externalOrderId": "AUD-1",
        "customerId": events[0]["changes"]["customerId"],
        "deliveryAddress": ADDRESS,
        "totalWeight": 25.5,
        "palletCount": 1,
        "plannedDate": "2025-02-22",
    }
    assert events[1]["changes"] == {"palletCount": 3, "plannedDate": "2025-02-23"}
    assert events[2]["changes"] == {"totalWeight": None, "specialHandling": ["fragile"]}
    assert [e["source"]["requestId"] for e in events] == [first, second, third]
    assert all(e["source"]["channel"] == "webhook" and "apiKeyId" not in e["source"] for e in events)
    moments = [parse_iso(e["timestamp"]) for e in events]
    assert moments == sorted(moments) and all(e["timestamp"].endswith("Z") for e in events)

    # The request id finds the batch in the delivery log, and it names the same delivery.
    log = {entry["requestId"]: entry for entry in await delivery_log(client, tenant, 4)}
    assert set(log) == {first, second, unchanged, third}
    for event, request in zip(events, (first, second, third), strict=True):
        assert log[request]["deliveryId"] == event["source"]["deliveryId"]
        assert (log[request]["status"], log[request]["processed"], log[request]["error"]) == (200, 1, None)

    # What it looked like before each change.
    status, before_second = await get(client, f"{base}?asOfVersion=1", auditor)
    assert status == 200
    assert (before_second["version"], before_second["palletCount"], before_second["plannedDate"]) == (
        1,
        1,
        "2025-02-22",
    )
    assert before_second["totalWeight"] == 25.5 and before_second["specialHandling"] is None
    assert before_second["customerName"] == "Acme Ltd" and before_second["externalOrderId"] == "AUD-1"
    status, before_third = await get(client, f"{base}?asOfVersion=2", auditor)
    assert (before_third["version"], before_third["palletCount"], before_third["totalWeight"]) == (2, 3, 25.5)
    status, now = await get(client, f"{base}?asOfVersion=3", auditor)
    assert (now["totalWeight"], now["specialHandling"]) == (None, ["fragile"])

    # ... and at a moment: each event's own timestamp includes it; before the first there was nothing.
    for event in events:
        status, then = await get(client, f"{base}?asOf={event['timestamp']}", auditor)
        assert (status, then["version"]) == (200, event["version"])
    just_before = iso(moments[1] - timedelta(microseconds=1))
    status, then = await get(client, f"{base}?asOf={just_before}", auditor)
    assert then["version"] == 1
    status, _ = await get(client, f"{base}?asOf={iso(moments[0] - timedelta(seconds=1))}", auditor)
    assert status == 404
    status, later = await get(client, f"{base}?asOf=2999-01-01T00:00:00Z", auditor)
    assert later["version"] == 3

    # The read model agrees with the last version of the history.
    async def current() -> Any:
        status, order = await get(client, base, auditor)
        return order if status == 200 and order["version"] == 3 else None

    assert {k: v for k, v in (await eventually(current)).items() if k != "location"} == {
        k: v for k, v in now.items() if k != "location"
    }


async def test_as_of_asks_are_checked(
    client: TestClient, webhook: Webhook, tenant: TenantKeys, make_tenant: Any
) -> None:
    status, body, _ = await send(client, webhook, {"externalOrderId": "AUD-2", "deliveryAddress": ADDRESS})
    base = f"/api/tenants/{tenant.tenant_id}/orders/{body['orders'][0]['orderId']}"
    for query in (
        "asOfVersion=0",
        "asOfVersion=-1",
        "asOfVersion=two",
        "asOf=yesterday",
        "asOf=2025-13-01T00:00:00Z",
        "asOfVersion=1&asOf=2025-01-01T00:00:00Z",
    ):
        status, answer = await get(client, f"{base}?{query}", tenant.admin_key)
        assert status == 400 and answer["error"], query
    status, answer = await get(client, f"{base}?asOfVersion=2", tenant.admin_key)
    assert status == 404
    other = make_tenant("Other")
    for path in (f"{base}/history", f"{base}?asOfVersion=1"):
        status, _ = await get(client, path.replace(tenant.tenant_id, other.tenant_id), other.admin_key)
        assert status == 404, path
    status, _ = await get(client, f"/api/tenants/{tenant.tenant_id}/orders/{UUID(int=7)}/history", tenant.admin_key)
    assert status == 404


async def test_changes_made_through_the_api_name_the_key_that_made_them(
    client: TestClient, tenant: TenantKeys, container: Container
) -> None:
    planner = await issue(client, tenant, "planner")
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/customers",
        json={"name": "Key Co", "address": "3 Key Street, Leeds LS1 1AA"},
        headers=tenant.auth(planner["apiKey"]),
    )
    assert response.status == 201
    customer_id = UUID((await response.json())["customerId"])
    [created] = list(container.use_cases.events.get(customer_id))
    assert created.source == {"channel": "api", "deliveryId": None, "requestId": None, "apiKeyId": planner["id"]}

    admin_key_id = container.use_cases.authenticate(tenant.tenant_id, tenant.admin_key).key_id
    base = f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook"
    assert (await client.post(base, headers=tenant.auth())).status == 201
    assert (await client.post(f"{base}/secret", headers=tenant.auth())).status == 200
    assert (await client.patch(base, json={"active": False}, headers=tenant.auth())).status == 200
    sources = [e.source for e in container.use_cases.events.get(webhook_id(UUID(tenant.tenant_id)))]
    assert [s["apiKeyId"] for s in sources] == [admin_key_id] * 3
    assert all(s["channel"] == "api" for s in sources)


async def test_pulled_changes_name_the_sync_request_and_the_pull_channel(
    client: TestClient, tenant: TenantKeys, aiohttp_server: Any
) -> None:
    async def orders(request: web.Request) -> web.Response:
        return web.json_response([{"externalOrderId": "PULL-1", "deliveryAddress": ADDRESS}])

    wms_app = web.Application()
    wms_app.router.add_get("/orders", orders)
    wms: TestServer = await aiohttp_server(wms_app)
    base = f"/api/tenants/{tenant.tenant_id}/integrations/wms/pull-endpoints"
    response = await client.post(
        base, json={"url": str(wms.make_url("/orders")), "method": "GET"}, headers=tenant.auth()
    )
    assert response.status == 201
    endpoint = await response.json()
    response = await client.post(f"{base}/{endpoint['id']}/sync", headers=tenant.auth())
    assert response.status == 200, await response.text()
    request_id = response.headers["X-Request-Id"]
    order_id = (await response.json())["orders"][0]["orderId"]
    _status, history = await get(client, f"/api/tenants/{tenant.tenant_id}/orders/{order_id}/history", tenant.admin_key)
    [event] = history["events"]
    assert event["source"]["channel"] == "pull" and event["source"]["requestId"] == request_id
    [entry] = await delivery_log(client, tenant, 1)
    assert (entry["channel"], entry["requestId"], entry["deliveryId"]) == (
        "pull",
        request_id,
        event["source"]["deliveryId"],
    )


# ---------------------------------------------------------------- the delivery log


async def test_the_delivery_log_shows_accepted_and_rejected_batches_newest_first_with_their_errors(
    client: TestClient, webhook: Webhook, tenant: TenantKeys, container: Container
) -> None:
    customer = "00000000-0000-0000-0000-000000000000"
    sent: list[tuple[int, Any, str]] = []
    sent.append(await send(client, webhook, {"externalOrderId": "LOG-1", "deliveryAddress": ADDRESS}))
    sent.append(await send(client, webhook, b"{not json"))
    sent.append(await send(client, webhook, [1, "two"]))
    sent.append(await send(client, webhook, [{"externalOrderId": "LOG-2"}, {"deliveryAddress": ADDRESS}]))
    sent.append(
        await send(
            client, webhook, {"externalOrderId": "LOG-3", "deliveryAddress": ADDRESS, "plannedDate": "2025-02-30"}
        )
    )
    sent.append(await send(client, webhook, {"externalOrderId": "LOG-4", "customerId": customer}))
    container.settings.max_batch_items = 2
    sent.append(
        await send(client, webhook, [{"externalOrderId": f"LOG-5{i}", "deliveryAddress": ADDRESS} for i in range(3)])
    )
    container.settings.max_batch_items = 10_000
    container.settings.max_body_bytes = 2048
    sent.append(await send(client, webhook, {"externalOrderId": "LOG-6", "deliveryAddress": "x" * 4096}))
    container.settings.max_body_bytes = 10 * 1024 * 1024
    statuses = [status for status, _, _ in sent]
    assert statuses == [200, 400, 400, 400, 422, 400, 413, 413]

    # Refused before the batch is judged: not a delivery (no entry).
    status, _, unauthorised = await send(client, webhook, {"externalOrderId": "LOG-7"}, secret="wrong")
    assert status == 401
    response = await client.post(
        webhook.path, data=b"a=b", headers={**webhook.headers(), "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 415

    entries = await delivery_log(client, tenant, len(sent))
    assert [e["requestId"] for e in entries] == [request for _, _, request in reversed(sent)]
    for entry, (status, body, _) in zip(entries, reversed(sent), strict=True):
        assert entry["channel"] == "webhook" and entry["status"] == status
        assert entry["error"] == (None if status == 200 else body)
        assert entry["processed"] == (1 if status == 200 else 0)
    moments = [parse_iso(e["receivedAt"]) for e in entries]
    assert moments == sorted(moments, reverse=True)
    assert unauthorised not in {e["requestId"] for e in entries}

    # A rejection stores no order and leaves lastReceivedAt at the accepted batch.
    # (Each read model follows the store on its own: the orders may show a moment after the log.)
    async def listed() -> list[str]:
        _, orders = await get(client, f"/api/tenants/{tenant.tenant_id}/orders", tenant.admin_key)
        return [o["externalOrderId"] for o in orders["orders"]]

    assert await eventually(listed) == ["LOG-1"]
    status, integration = await get(client, f"/api/tenants/{tenant.tenant_id}/integrations", tenant.admin_key)
    assert integration["webhook"]["lastReceivedAt"] == entries[-1]["receivedAt"]

    # Pages: newest first, each entry once, the last page says there is no more.
    paged: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, page = await get(
            client, f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries?limit=3{cursor}", tenant.admin_key
        )
        assert status == 200 and len(page["deliveries"]) <= 3
        paged.extend(page["deliveries"])
        if page["nextCursor"] is None:
            break
        cursor = f"&cursor={page['nextCursor']}"
    assert paged == entries
    status, answer = await get(
        client, f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries?cursor=bogus", tenant.admin_key
    )
    assert (status, answer["error"]) == (400, "Invalid cursor")


async def test_a_callers_own_request_id_is_kept_and_finds_the_entry(
    client: TestClient, webhook: Webhook, tenant: TenantKeys
) -> None:
    response = await client.post(
        webhook.path, data=b"[{}]", headers={**webhook.headers(), "X-Request-Id": "wms-batch-000123"}
    )
    assert response.status == 400 and response.headers["X-Request-Id"] == "wms-batch-000123"
    [entry] = await delivery_log(client, tenant, 1)
    assert entry["requestId"] == "wms-batch-000123" and entry["error"] == await response.json()
    # An unusable one (spaces, too long) is replaced, never echoed.
    response = await client.post(webhook.path, data=b"[]", headers={**webhook.headers(), "X-Request-Id": "x y"})
    assert response.headers["X-Request-Id"] != "x y"


MARK = "ZEBRA-PAYLOAD-7781-QUOKKA"


async def test_payloads_are_kept_only_as_their_size_and_hash(
    client: TestClient, webhook: Webhook, tenant: TenantKeys, container: Container, settings: Settings
) -> None:
    bodies = [
        # Accepted: the unknown field is ignored, not stored.
        orjson.dumps({"externalOrderId": "PAY-1", "deliveryAddress": ADDRESS, "wmsNotes": MARK}),
        # Rejected: not JSON at all.
        f'{{"externalOrderId": "PAY-2", "note": "{MARK}"'.encode(),
        # Rejected: a validation problem elsewhere in the batch.
        orjson.dumps([{"externalOrderId": "PAY-3", "notes": MARK}]),
    ]
    results = [await send(client, webhook, body) for body in bodies]
    assert [status for status, _, _ in results] == [200, 400, 400]
    entries = await delivery_log(client, tenant, 3)
    container.catch_up()
    for entry, body in zip(reversed(entries), bodies, strict=True):
        delivery = container.use_cases.repository.get(UUID(entry["deliveryId"]))
        assert isinstance(delivery, Delivery)
        assert delivery.payload_bytes == len(body)
        assert delivery.payload_sha256 == hashlib.sha256(body).hexdigest()
    stored = _everything_stored(settings)
    assert "PAY-1" in stored  # the scan does see what is stored
    # Events are bytes: PostgreSQL shows them as hex.
    assert MARK not in stored and MARK.encode().hex() not in stored


def _everything_stored(settings: Settings) -> str:
    """Every byte the service stored: the SQLite files, or every row of the schema."""
    if not settings.is_postgres:
        folder = settings.sqlite_path.parent
        return "".join(p.read_bytes().decode("latin-1") for p in folder.iterdir() if p.is_file())
    schema = settings.database_url.rsplit("schema=", 1)[1]
    rows = []
    with psycopg.connect(POSTGRES_URL) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        assert len(tables) >= 4
        for (table,) in tables:
            rows.extend(row for (row,) in conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t'))
    return "\n".join(rows)


# ---------------------------------------------------------------- the CLI


def test_the_cli_prints_the_same_history_as_the_api(
    container: Container, settings: Settings, tenant: TenantKeys
) -> None:
    app = container.use_cases
    admin = app.authenticate(tenant.tenant_id, tenant.admin_key)
    bodies = (
        b'{"externalOrderId": "CLI-1", "deliveryAddress": "1 Cli Road"}',
        b'{"externalOrderId": "CLI-1", "deliveryAddress": "1 Cli Road", "volume": 2.5}',
    )
    for number, body in enumerate(bodies):
        result = receive(app, admin.tenant_id, body, f"cli-request-{number}")
    order_id = str(result.orders[0].order_id)
    expected = present_history(app.order_history(admin, order_id))
    env = {**os.environ, "WMS_INTAKE_DATABASE_URL": settings.database_url}
    done = subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "orders", "history", tenant.tenant_id, order_id],
        env=env,
        capture_output=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == expected
    assert [e["source"]["requestId"] for e in expected["events"]] == ["cli-request-0", "cli-request-1"]
    missing = subprocess.run(
        [sys.executable, "-m", "interfaces.cli", "orders", "history", tenant.tenant_id, str(UUID(int=1))],
        env=env,
        capture_output=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert missing.returncode == 1 and b"not found" in missing.stderr.lower()
