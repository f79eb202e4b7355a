"""Only the tenant's own WMS can write to its orders; no secret is ever kept in clear.

Real servers on 127.0.0.1, real databases (SQLite and PostgreSQL); the
database is read directly to check what is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import types
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

import application.tokens
from application.tokens import secret_matches
from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from interfaces.http.app import create_app
from tests.reliability.conftest import last_position, routes_of, topics_since
from tests.support.http import TenantKeys, Webhook
from tests.support.logs import json_logs
from tests.support.settings import make_settings

UNAUTHORIZED = b'{"error":"Unauthorized"}'
ORDER = {"externalOrderId": "SEC-1", "deliveryAddress": "10 High Street, London SW1A 1AA", "palletCount": 1}


async def connect(client: TestClient, tenant: TenantKeys) -> Webhook:
    response = await client.post(f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=tenant.auth())
    assert response.status == 201
    body = await response.json()
    return Webhook(tenant, body["webhookUrl"], body["secret"])


async def post(client: TestClient, path: str, headers: dict[str, str], body: Any = ORDER) -> tuple[int, bytes, Any]:
    response = await client.post(path, data=orjson.dumps(body), headers={"Content-Type": "application/json", **headers})
    return response.status, await response.read(), response.headers


# No background geocoding: these tests count every event a request leaves.
pytestmark = pytest.mark.settings(geocoder="none")


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every secret comparison made through ``application.tokens``: its operands' lengths."""
    seen: list[tuple[int, int]] = []

    def compare_digest(a: bytes, b: bytes) -> bool:
        seen.append((len(a), len(b)))
        return hmac.compare_digest(a, b)

    monkeypatch.setattr(application.tokens, "hmac", types.SimpleNamespace(compare_digest=compare_digest))
    return seen


# ---------------------------------------------------------------------- constant time


def test_a_secret_is_compared_as_a_fixed_length_digest_whatever_is_presented(
    comparisons: list[tuple[int, int]],
) -> None:
    stored = hashlib.sha256(b"whs_the-real-secret").hexdigest()
    for presented in ("", "w", "whs_the-real-secre", "whs_the-real-secret", "x" * 10_000, "é" * 300):
        secret_matches(presented, stored)
    # hmac.compare_digest on equal-length digests: the time does not depend on
    # how much of the secret was right, nor on its length.
    assert comparisons == [(64, 64)] * 6
    assert secret_matches("whs_the-real-secret", stored) and not secret_matches("whs_the-real-secreT", stored)


async def test_every_webhook_and_api_key_check_compares_fixed_length_digests_only(
    client: TestClient, webhook: Webhook, make_tenant: Callable[[str], TenantKeys], comparisons: list[tuple[int, int]]
) -> None:
    tenant = webhook.tenant
    other = make_tenant("No webhook yet")
    unknown = "0b9d3f6e-5a1c-4e2b-9f7a-1c2d3e4f5a6b"
    webhook_cases = {
        "right secret": (webhook.path, webhook.secret),
        "wrong secret": (webhook.path, webhook.secret[:-1] + "x"),
        "unknown tenant": (f"/api/integrations/wms/{unknown}", webhook.secret),
        "tenant without webhook": (f"/api/integrations/wms/{other.tenant_id}", webhook.secret),
    }
    for case, (path, secret) in webhook_cases.items():
        comparisons.clear()
        await post(client, path, {"Authorization": f"Bearer {secret}"})
        # A known webhook is checked from this process's last read and again
        # with the batch's own read: every comparison is of two SHA-256 digests.
        assert comparisons and set(comparisons) == {(64, 64)}, case

    key_id = tenant.admin_key.split("_")[2]
    api_cases = {
        "right key": tenant.admin_key,
        "wrong secret part": tenant.admin_key[:-1] + ("A" if tenant.admin_key[-1] != "A" else "B"),
        "unknown key id": tenant.admin_key.replace(key_id, "0" * len(key_id)),
        "unknown tenant": tenant.admin_key.replace(tenant.tenant_id.replace("-", ""), "0" * 32),
    }
    for case, key in api_cases.items():
        comparisons.clear()
        await client.get(f"/api/tenants/{tenant.tenant_id}/orders", headers={"Authorization": f"Bearer {key}"})
        assert comparisons == [(64, 64)], case


# ---------------------------------------------------------------------- one 401 for every failure


async def test_every_webhook_authentication_failure_gets_the_same_401_and_changes_nothing(
    client: TestClient, webhook: Webhook, container: Container, make_tenant: Callable[[str], TenantKeys]
) -> None:
    tenant = webhook.tenant
    other = make_tenant("Other tenant")
    other_hook = await connect(client, other)
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook/secret", headers=tenant.auth()
    )
    new_secret = (await response.json())["secret"]
    old_secret = webhook.secret
    inactive = make_tenant("Inactive tenant")
    inactive_hook = await connect(client, inactive)
    response = await client.patch(
        f"/api/tenants/{inactive.tenant_id}/integrations/wms/webhook", json={"active": False}, headers=inactive.auth()
    )
    assert response.status == 200
    bare = make_tenant("Bare")
    position = last_position(container)

    path = webhook.path
    failures = {
        "no Authorization header": (path, {}),
        "another scheme": (path, {"Authorization": f"Basic {new_secret}"}),
        "empty bearer": (path, {"Authorization": "Bearer "}),
        "bearer without a token": (path, {"Authorization": "Bearer"}),
        "oversized token": (path, {"Authorization": "Bearer " + "a" * 5000}),
        "wrong secret": (path, {"Authorization": "Bearer whs_not-the-secret"}),
        "the old secret after regenerating": (path, {"Authorization": f"Bearer {old_secret}"}),
        "another tenant's secret": (path, {"Authorization": f"Bearer {other_hook.secret}"}),
        "an admin API key": (path, {"Authorization": f"Bearer {tenant.admin_key}"}),
        "unknown tenant": (
            "/api/integrations/wms/6a1f0c55-7d0e-4c3b-8a9f-0e1d2c3b4a59",
            {"Authorization": f"Bearer {new_secret}"},
        ),
        "not a tenant id": ("/api/integrations/wms/acme", {"Authorization": f"Bearer {new_secret}"}),
        "tenant without a webhook": (
            f"/api/integrations/wms/{bare.tenant_id}",
            {"Authorization": f"Bearer {new_secret}"},
        ),
        "deactivated webhook, right secret": (inactive_hook.path, {"Authorization": f"Bearer {inactive_hook.secret}"}),
    }
    for case, (target, headers) in failures.items():
        status, body, response_headers = await post(client, target, headers, body=[ORDER] * 3)
        assert (status, body) == (401, UNAUTHORIZED), case
        assert response_headers["WWW-Authenticate"] == "Bearer", case
        # A body that isn't even JSON changes nothing either: auth is checked first.
        status, body, _ = await post(client, target, headers, body="not json")
        assert (status, body) == (401, UNAUTHORIZED), case

    assert topics_since(container, position) == [], "an unauthenticated request left an event"
    status, _, _ = await post(client, path, {"Authorization": f"Bearer {new_secret}"})
    assert status == 200


async def test_every_tenant_api_authentication_failure_gets_the_same_401(
    client: TestClient, tenant: TenantKeys
) -> None:
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/api-keys", json={"role": "planner"}, headers=tenant.auth()
    )
    issued = await response.json()
    await client.delete(f"/api/tenants/{tenant.tenant_id}/api-keys/{issued['id']}", headers=tenant.auth())
    keys = {
        "none": None,
        "malformed": "Bearer not-a-key",
        "wrong secret part": f"Bearer {tenant.admin_key[:-2]}zz",
        "revoked": f"Bearer {issued['apiKey']}",
        "basic scheme": f"Basic {tenant.admin_key}",
    }
    for case, header in keys.items():
        headers = {"Authorization": header} if header else {}
        response = await client.get(f"/api/tenants/{tenant.tenant_id}/orders", headers=headers)
        assert (response.status, await response.read()) == (401, UNAUTHORIZED), case


# ---------------------------------------------------------------------- tenant isolation


async def test_tenant_a_credentials_cannot_touch_anything_of_tenant_b(
    client: TestClient, make_tenant: Callable[[str], TenantKeys], container: Container
) -> None:
    a, b = make_tenant("Tenant A"), make_tenant("Tenant B")
    hook_a, hook_b = await connect(client, a), await connect(client, b)
    status, body, _ = await post(client, hook_b.path, {"Authorization": f"Bearer {hook_b.secret}"})
    assert status == 200
    b_order = orjson.loads(body)["orders"][0]["orderId"]
    response = await client.post(
        f"/api/tenants/{b.tenant_id}/customers",
        json={"name": "B Ltd", "address": "2 Dock Road, Hull HU1 1AA"},
        headers=b.auth(),
    )
    b_customer = (await response.json())["customerId"]
    b_key = await _first_key_id(client, b)
    container.catch_up()
    position = last_position(container)

    # A's webhook secret on B's webhook.
    status, body, _ = await post(client, hook_b.path, {"Authorization": f"Bearer {hook_a.secret}"})
    assert (status, body) == (401, UNAUTHORIZED)
    # A's admin key on every route of B: as if B did not exist.
    fill = {
        "tenantId": b.tenant_id,
        "orderId": b_order,
        "externalOrderId": ORDER["externalOrderId"],
        "customerId": b_customer,
        "keyId": b_key,
    }
    answers = {}
    for method, path in routes_of(client.server.app, fill, prefix="/api/tenants/"):  # type: ignore[union-attr]  # the test client always has its server
        response = await client.request(method, path, json={"role": "admin", "active": False}, headers=a.auth())
        answers[f"{method} {path}"] = response.status
    assert answers and set(answers.values()) == {404}, {k: v for k, v in answers.items() if v != 404}
    # A's key on A's own routes naming B's things.
    for path in (
        f"/api/tenants/{a.tenant_id}/orders/{b_order}",
        f"/api/tenants/{a.tenant_id}/orders/{b_order}/history",
        f"/api/tenants/{a.tenant_id}/orders/{b_order}?asOfVersion=1",
        f"/api/tenants/{a.tenant_id}/orders/by-external-id/{ORDER['externalOrderId']}",
        f"/api/tenants/{a.tenant_id}/customers/{b_customer}",
    ):
        response = await client.get(path, headers=a.auth())
        assert response.status == 404, path
    # A's webhook naming B's customer: that customer does not exist for A.
    status, body, _ = await post(
        client,
        hook_a.path,
        {"Authorization": f"Bearer {hook_a.secret}"},
        body={"externalOrderId": "X", "customerId": b_customer},
    )
    assert status == 400 and orjson.loads(body)["error"] == "Customer not found"

    # Nothing of B moved: only A's own rejected delivery was recorded.
    assert topics_since(container, position) == ["wms-intake:DeliveryRejected"]
    status, _, _ = await post(client, hook_b.path, {"Authorization": f"Bearer {hook_b.secret}"})
    assert status == 200
    response = await client.get(f"/api/tenants/{b.tenant_id}/orders/{b_order}/history", headers=b.auth())
    assert response.status == 200 and len((await response.json())["events"]) == 1


async def _first_key_id(client: TestClient, tenant: TenantKeys) -> str:
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/api-keys", headers=tenant.auth())
    return str((await response.json())["apiKeys"][0]["id"])


# ---------------------------------------------------------------------- secrets at rest and in logs


def every_stored_value(container: Container) -> bytes:
    """Every row of every table of this database (event store and read models), as bytes."""
    db = container.db
    if db.dialect == "postgres":
        names = [
            r["table_name"]
            for r in db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (db.schema,))
        ]
    else:
        names = [r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert any("events" in n for n in names)
    dump = io.BytesIO()
    for name in names:
        for row in db.query(f"SELECT * FROM {db.table(name)}"):
            for value in row.values():
                dump.write(bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode())
                dump.write(b"\n")
    return dump.getvalue()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line of the service at DEBUG, formatted as in production."""
    with json_logs(logging.DEBUG) as lines:
        yield lines


async def test_secrets_and_keys_are_stored_only_as_hashes_and_never_logged(
    client: TestClient, tenant: TenantKeys, container: Container, log_lines: io.StringIO
) -> None:
    hook = await connect(client, tenant)
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook/secret", headers=tenant.auth()
    )
    secret = (await response.json())["secret"]
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/api-keys", json={"role": "planner"}, headers=tenant.auth()
    )
    planner_key = (await response.json())["apiKey"]
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/pull-endpoints",
        json={"url": "http://127.0.0.1:9/orders", "method": "GET"},
        headers=tenant.auth(),
    )
    assert response.status == 201, await response.text()
    pull_secret = (await response.json())["secret"]
    # Use every credential, right and wrong, so each passes through the logs.
    for presented in (secret, hook.secret, planner_key, tenant.admin_key, pull_secret):
        await post(client, hook.path, {"Authorization": f"Bearer {presented}"})
        await client.get(f"/api/tenants/{tenant.tenant_id}/orders", headers={"Authorization": f"Bearer {presented}"})
    await post(client, hook.path, {"Authorization": f"Bearer {secret}"}, body=[{"externalOrderId": ""}])
    container.catch_up()

    secrets = {
        "webhook secret": secret,
        "old webhook secret": hook.secret,
        "planner key": planner_key,
        "admin key": tenant.admin_key,
        "pull secret": pull_secret,
    }
    stored = every_stored_value(container)
    logged = log_lines.getvalue()
    assert "request" in logged and tenant.tenant_id in logged
    for name, value in secrets.items():
        assert value.encode() not in stored, f"the {name} is stored in clear"
        assert value not in logged, f"the {name} is in a log line"
    # What is kept instead: the SHA-256 of the webhook secret and of each API key.
    for name in ("webhook secret", "planner key", "admin key"):
        assert hashlib.sha256(secrets[name].encode()).hexdigest().encode() in stored, name


# ---------------------------------------------------------------------- rate limit and request ids


async def test_the_webhook_rate_limit_is_per_tenant_and_answers_429_with_retry_after(
    aiohttp_client: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().rate_limit_per_second >= 100 and Settings().rate_limit_burst >= 100, "generous by default"
    monkeypatch.setenv("WMS_INTAKE_RATE_LIMIT_PER_SECOND", "0.01")
    monkeypatch.setenv("WMS_INTAKE_RATE_LIMIT_BURST", "3")
    configured = Settings(database_url=database_url)
    container = build_container(
        make_settings(
            database_url,
            rate_limit_per_second=configured.rate_limit_per_second,
            rate_limit_burst=configured.rate_limit_burst,
            geocoder="none",
        )
    )
    try:
        client = await aiohttp_client(create_app(container))
        created = [container.use_cases.create_tenant(name) for name in ("Busy", "Quiet")]
        busy, quiet = (TenantKeys(str(t.tenant_id), t.admin_api_key) for t in created)
        busy_hook, quiet_hook = await connect(client, busy), await connect(client, quiet)
        auth = {"Authorization": f"Bearer {busy_hook.secret}"}
        statuses = [(await post(client, busy_hook.path, auth))[0] for _ in range(3)]
        position = last_position(container)
        status, body, headers = await post(client, busy_hook.path, auth, body=[{**ORDER, "externalOrderId": "LIMITED"}])

        assert statuses == [200, 200, 200]
        assert status == 429 and int(headers["Retry-After"]) >= 1 and headers["X-Request-Id"]
        assert orjson.loads(body) == {"error": "Too many requests", "retryAfter": int(headers["Retry-After"])}
        assert topics_since(container, position) == [], "a refused request stored something"
        assert (await post(client, quiet_hook.path, {"Authorization": f"Bearer {quiet_hook.secret}"}))[0] == 200
    finally:
        container.close()


async def test_every_response_carries_a_request_id(client: TestClient, webhook: Webhook) -> None:
    tenant = webhook.tenant
    fill = {"tenantId": tenant.tenant_id}
    seen: dict[str, tuple[int, str]] = {}
    for method, path in routes_of(client.server.app, fill):  # type: ignore[union-attr]  # the test client always has its server
        response = await client.request(method, path, headers=tenant.auth(), data=b"{}")
        seen[f"{method} {path}"] = (response.status, response.headers.get("X-Request-Id", ""))
    for method, path in (("GET", "/no/such/route"), ("DELETE", "/healthz"), ("POST", webhook.path)):
        response = await client.request(method, path)
        seen[f"{method} {path} (error)"] = (response.status, response.headers.get("X-Request-Id", ""))
    missing = {route: status for route, (status, rid) in seen.items() if len(rid) < 8}
    assert not missing, missing
    assert len({rid for _, rid in seen.values()}) == len(seen), "request ids are unique"

    # A caller's own id is echoed when it is safe, replaced when it is not.
    response = await client.get("/healthz", headers={"X-Request-Id": "wms-batch-000123"})
    assert response.headers["X-Request-Id"] == "wms-batch-000123"
    response = await client.get("/healthz", headers={"X-Request-Id": "evil\u00e9<script>"})
    assert response.headers["X-Request-Id"] != "evil\u00e9<script>" and len(response.headers["X-Request-Id"]) >= 8
