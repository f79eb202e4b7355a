"""Who may call what: every tenant-API route × role × own/other tenant, over real HTTP.

Roles: ``admin`` (all), ``planner`` (orders, customers), ``auditor``
(orders and their history). A key of tenant A gets 404 for every route of
tenant B; a key lacking the role gets 403; a missing, malformed or revoked key
gets 401 (a revoked key at once). The routes come from the app's router: a
new tenant route without an expectation here fails the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from interfaces.container import Container
from interfaces.http.routes import ROUTES
from tests.support.http import TenantKeys
from tests.support.intake import receive

TENANT = "/api/tenants/{tenantId}"
PULL = f"{TENANT}/integrations/wms/pull-endpoints"
ROLES = ("admin", "planner", "auditor")
ADMIN = frozenset({"admin"})
PLANNING = frozenset({"admin", "planner"})
EVERYONE = frozenset(ROLES)
AUDIT = frozenset({"admin", "auditor"})


@dataclass(frozen=True)
class Expect:
    """Who may call a route, what success looks like, and what to send."""

    roles: frozenset[str]
    success: int
    #: role -> JSON body (each allowed role's call must succeed on its own)
    body: Callable[[str], Any] | None = None
    #: path parameter -> the key of the id in the world (default: same name)
    ids: dict[str, str] = field(default_factory=dict)


# In the order they run: "Connect WMS" before what needs a connected webhook,
# removals after what uses the removed thing.
EXPECTATIONS: dict[tuple[str, str], Expect] = {
    ("POST", f"{TENANT}/integrations/wms/webhook"): Expect(ADMIN, 201),
    ("PATCH", f"{TENANT}/integrations/wms/webhook"): Expect(ADMIN, 200, lambda role: {"active": True}),
    ("POST", f"{TENANT}/integrations/wms/webhook/secret"): Expect(ADMIN, 200),
    ("GET", f"{TENANT}/integrations"): Expect(ADMIN, 200),
    ("GET", f"{TENANT}/integrations/wms/deliveries"): Expect(ADMIN, 200),
    ("POST", PULL): Expect(ADMIN, 201, lambda role: {"url": "http://127.0.0.1:9/orders", "method": "GET"}),
    ("GET", PULL): Expect(ADMIN, 200),
    ("PATCH", f"{PULL}/{{endpointId}}"): Expect(ADMIN, 200, lambda role: {"intervalMinutes": None}),
    ("POST", f"{PULL}/{{endpointId}}/secret"): Expect(ADMIN, 200),
    ("POST", f"{PULL}/{{endpointId}}/sync"): Expect(ADMIN, 200),
    ("DELETE", f"{PULL}/{{endpointId}}"): Expect(ADMIN, 204, ids={"endpointId": "spareEndpointId"}),
    ("POST", f"{TENANT}/api-keys"): Expect(ADMIN, 201, lambda role: {"role": "auditor"}),
    ("GET", f"{TENANT}/api-keys"): Expect(ADMIN, 200),
    ("DELETE", f"{TENANT}/api-keys/{{keyId}}"): Expect(ADMIN, 204),
    ("POST", f"{TENANT}/customers"): Expect(
        PLANNING, 201, lambda role: {"name": f"{role} Ltd", "address": f"1 {role} Road, York YO1 7HH"}
    ),
    ("GET", f"{TENANT}/customers"): Expect(PLANNING, 200),
    ("GET", f"{TENANT}/customers/{{customerId}}"): Expect(PLANNING, 200),
    ("GET", f"{TENANT}/orders"): Expect(EVERYONE, 200),
    ("GET", f"{TENANT}/orders/by-external-id/{{externalOrderId}}"): Expect(EVERYONE, 200),
    ("GET", f"{TENANT}/orders/{{orderId}}"): Expect(EVERYONE, 200),
    ("GET", f"{TENANT}/orders/{{orderId}}/history"): Expect(AUDIT, 200),
    ("GET", TENANT): Expect(EVERYONE, 200),
    ("GET", f"{TENANT}/planned-dates"): Expect(EVERYONE, 200),
    ("DELETE", f"{TENANT}/integrations/wms/webhook/previous-secret"): Expect(ADMIN, 204),
    ("GET", f"{TENANT}/orders/changes"): Expect(EVERYONE, 200),
}


def tenant_routes(client: TestClient) -> list[tuple[str, str]]:
    """(METHOD, path template) of every tenant-API route the app registered."""
    routes = []
    for route in client.server.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method != "HEAD" and path.startswith(TENANT) and (route.method, path) not in routes:
            routes.append((route.method, path))
    return routes


@dataclass
class World:
    """Tenant A (the callers' tenant) and tenant B, each with something behind every id."""

    a: TenantKeys
    b: TenantKeys
    keys: dict[str, str]  # role -> key of tenant A
    ids: dict[str, dict[str, str]]  # "a"/"b" -> path parameter -> id

    def path(self, template: str, side: str, expect: Expect) -> str:
        ids = self.ids[side]
        values = {name: ids[expect.ids.get(name, name)] for name in ids}
        return template.format(**{k: v for k, v in values.items() if "{" + k + "}" in template})


@pytest.fixture
async def wms(aiohttp_server: Any) -> TestServer:
    """A WMS on 127.0.0.1 that has no new orders (for "Sync now")."""

    async def no_orders(request: web.Request) -> web.Response:
        return web.json_response([])

    app = web.Application()
    app.router.add_route("*", "/orders", no_orders)
    return await aiohttp_server(app)


@pytest.fixture
def world(container: Container, tenant: TenantKeys, make_tenant: Callable[[str], TenantKeys], wms: TestServer) -> World:
    app = container.use_cases
    other = make_tenant("Other Deliveries")
    keys = {"admin": tenant.admin_key}
    a_admin = app.authenticate(tenant.tenant_id, tenant.admin_key)
    for role in ("planner", "auditor"):
        keys[role] = app.issue_api_key(a_admin, role).api_key
    ids = {"a": _furnish(container, tenant, wms, connect=False), "b": _furnish(container, other, wms, connect=True)}
    container.catch_up()
    return World(tenant, other, keys, ids)


def _furnish(container: Container, keys: TenantKeys, wms: TestServer, *, connect: bool) -> dict[str, str]:
    """An order (with history), a customer, a spare API key, two pull endpoints."""
    app = container.use_cases
    admin = app.authenticate(keys.tenant_id, keys.admin_key)
    if connect:
        app.connect_webhook(admin)
    order = {"externalOrderId": "ROLE-1", "deliveryAddress": "1 Matrix Lane, Leeds LS1 1AA"}
    result = receive(app, admin.tenant_id, order, "seed-request-0001")
    customer = app.create_customer(admin, "Matrix Ltd", "2 Matrix Lane, Leeds LS1 1AA", None)
    url = str(wms.make_url("/orders"))
    return {
        "tenantId": keys.tenant_id,
        "orderId": str(result.orders[0].order_id),
        "externalOrderId": "ROLE-1",
        "customerId": customer.customer_id,
        "keyId": app.issue_api_key(admin, "planner").key_id,
        "endpointId": str(container.pull.add_endpoint(admin, url, "GET", None).endpoint_id),
        "spareEndpointId": str(container.pull.add_endpoint(admin, url, "GET", None).endpoint_id),
    }


async def call(client: TestClient, method: str, path: str, key: str | None, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    response = await client.request(method, path, headers=headers, json=body)
    text = await response.text()
    assert response.headers.get("X-Request-Id")
    return response.status, (orjson.loads(text) if text else None)


async def test_every_tenant_route_has_an_expectation(client: TestClient) -> None:
    routes = set(tenant_routes(client))
    missing = routes - set(EXPECTATIONS)
    assert not missing, f"add these routes to EXPECTATIONS (which roles may call them): {sorted(missing)}"
    assert set(EXPECTATIONS) <= routes, f"stale expectations: {sorted(set(EXPECTATIONS) - routes)}"


async def test_every_route_answers_each_role_of_each_tenant_as_specified(client: TestClient, world: World) -> None:
    outcomes: list[str] = []
    routes = set(tenant_routes(client))
    for (method, template), expect in EXPECTATIONS.items():
        if (method, template) not in routes:
            continue
        for role in ROLES:
            body = expect.body(role) if expect.body else None
            # Another tenant's route: 404 whatever the role, and nothing changes there.
            status, answer = await call(client, method, world.path(template, "b", expect), world.keys[role], body)
            if status != 404 or "error" not in answer:
                outcomes.append(f"{method} {template} as {role} of another tenant: {status} {answer}")
            status, answer = await call(client, method, world.path(template, "a", expect), world.keys[role], body)
            wanted = expect.success if role in expect.roles else 403
            if status != wanted:
                outcomes.append(f"{method} {template} as {role}: {status} (wanted {wanted}) {answer}")
            elif wanted == 403:
                assert answer == {"error": "Forbidden"}
    assert not outcomes, "\n".join(outcomes)
    await _tenant_b_is_untouched(client, world)


async def _tenant_b_is_untouched(client: TestClient, world: World) -> None:
    b = world.ids["b"]
    status, keys = await call(client, "GET", f"/api/tenants/{b['tenantId']}/api-keys", world.b.admin_key)
    assert status == 200
    assert [k["revoked"] for k in keys["apiKeys"] if k["id"] == b["keyId"]] == [False]
    status, integration = await call(client, "GET", f"/api/tenants/{b['tenantId']}/integrations", world.b.admin_key)
    assert status == 200 and integration["webhook"]["active"] is True
    assert {e["id"] for e in integration["pullEndpoints"]} == {b["endpointId"], b["spareEndpointId"]}
    status, customers = await call(client, "GET", f"/api/tenants/{b['tenantId']}/orders", world.b.admin_key)
    assert [o["externalOrderId"] for o in customers["orders"]] == ["ROLE-1"]


@pytest.mark.parametrize("credential", ["none", "not bearer", "malformed", "unknown key", "webhook secret"])
async def test_without_a_valid_key_every_route_answers_401(
    client: TestClient, world: World, container: Container, credential: str
) -> None:
    a = world.ids["a"]
    admin = container.use_cases.authenticate(a["tenantId"], world.keys["admin"])
    secret = container.use_cases.connect_webhook(admin) if credential == "webhook secret" else ""
    forged = world.keys["admin"][:-4] + "AAAA"
    headers = {
        "none": {},
        "not bearer": {"Authorization": f"Basic {world.keys['admin']}"},
        "malformed": {"Authorization": "Bearer not-a-key"},
        "unknown key": {"Authorization": f"Bearer {forged}"},
        "webhook secret": {"Authorization": f"Bearer {secret}"},
    }[credential]
    for method, template in tenant_routes(client):
        expect = EXPECTATIONS.get((method, template), Expect(ADMIN, 200))
        response = await client.request(method, world.path(template, "a", expect), headers=headers)
        assert response.status == 401, (method, template, await response.text())
        assert await response.json() == {"error": "Unauthorized"}
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_revoked_key_stops_working_at_once_on_every_route(client: TestClient, world: World) -> None:
    a = world.ids["a"]
    status, issued = await call(
        client, "POST", f"/api/tenants/{a['tenantId']}/api-keys", world.keys["admin"], {"role": "admin"}
    )
    assert status == 201
    status, _ = await call(client, "GET", f"/api/tenants/{a['tenantId']}/api-keys", issued["apiKey"])
    assert status == 200
    status, _ = await call(
        client, "DELETE", f"/api/tenants/{a['tenantId']}/api-keys/{issued['id']}", world.keys["admin"]
    )
    assert status == 204
    # No waiting: the very next request with the revoked key is refused, on every route.
    for method, template in tenant_routes(client):
        expect = EXPECTATIONS.get((method, template), Expect(ADMIN, 200))
        status, answer = await call(client, method, world.path(template, "a", expect), issued["apiKey"])
        assert (status, answer) == (401, {"error": "Unauthorized"}), (method, template)
    status, listed = await call(client, "GET", f"/api/tenants/{a['tenantId']}/api-keys", world.keys["admin"])
    assert [k["revoked"] for k in listed["apiKeys"] if k["id"] == issued["id"]] == [True]
    assert all("apiKey" not in k and "secretHash" not in k for k in listed["apiKeys"])


async def test_an_api_key_does_not_open_the_webhook(client: TestClient, world: World) -> None:
    status, answer = await call(
        client, "POST", f"/api/integrations/wms/{world.ids['b']['tenantId']}", world.keys["admin"], []
    )
    assert (status, answer) == (401, {"error": "Unauthorized"})


async def test_a_key_for_a_tenant_id_that_is_not_a_uuid_gets_404(client: TestClient, world: World) -> None:
    for role in ROLES:
        status, _ = await call(client, "GET", "/api/tenants/not-a-tenant/orders", world.keys[role])
        assert status == 404


async def test_keys_are_listed_without_secrets_and_issued_with_a_valid_role_only(
    client: TestClient, world: World
) -> None:
    base = f"/api/tenants/{world.ids['a']['tenantId']}/api-keys"
    status, answer = await call(client, "POST", base, world.keys["admin"], {"role": "owner"})
    assert status == 400 and answer["error"] == "Validation failed"
    status, answer = await call(client, "DELETE", f"{base}/no-such-key", world.keys["admin"])
    assert status == 404
    status, listed = await call(client, "GET", base, world.keys["admin"])
    assert {k["role"] for k in listed["apiKeys"]} == {"admin", "planner", "auditor"}
    assert all(set(k) == {"id", "name", "role", "createdAt", "revoked", "lastUsedAt"} for k in listed["apiKeys"])


def test_the_openapi_document_names_the_same_roles() -> None:
    roles = {route.key: frozenset(route.roles) for route in ROUTES}
    for key, expect in EXPECTATIONS.items():
        assert roles[key] == expect.roles, key
