"""The OpenAPI document is true: every route is in it, and the live server agrees with it.

An OpenAPI 3.1 document describing every route is served at
GET /api/openapi.json, and this test keeps it true. Schemathesis generates
requests from the served document (valid ones, then invalid ones) and sends
them to a real server on 127.0.0.1, authenticated with a real admin key and a
real webhook secret; no response may be a 500, and every response must have a
documented status and match its documented schema. Bounded: a few dozen
examples per operation, no shrinking.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from interfaces.container import Container
from interfaces.http.app import create_app
from interfaces.http.openapi import is_api_route, undescribed_routes
from interfaces.http.routes import ROUTES
from tests.support.http import TenantKeys

EXAMPLES_PER_OPERATION = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@contextmanager
def live_server(container: Container) -> Iterator[str]:
    """The real app on 127.0.0.1 (its own event loop in a thread, so synchronous
    clients like schemathesis can call it); yields its base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(container), access_log=None)
    address: list[str] = []
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        host, port = runner.addresses[0][:2]
        address.append(f"http://{host}:{port}")
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="live-server", daemon=True)
    thread.start()
    assert ready.wait(10), "the server did not start"
    try:
        yield address[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


# The change feed's long polls (wait up to 30 s) would hold every generated call.
pytestmark = pytest.mark.settings(changes_max_wait_seconds=0.2)


@pytest.fixture
def server(container: Container) -> Iterator[str]:
    with live_server(container) as base_url:
        yield base_url


def test_every_registered_route_is_described(container: Container) -> None:
    app = create_app(container)
    assert undescribed_routes(app) == [], "add these routes to ROUTES in interfaces/http/routes.py"
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    described = {route.key for route in ROUTES if route.key in routes}
    assert described == {key for key in routes if is_api_route(*key)}


def test_the_document_is_served_and_describes_every_route(server: str, container: Container) -> None:
    document = requests.get(f"{server}/api/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.1")
    app = create_app(container)
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if is_api_route(route.method, path):
            operation = document["paths"][path][route.method.lower()]
            assert operation["responses"], (route.method, path)
            for response in operation["responses"].values():
                assert "X-Request-Id" in response["headers"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "http", "scheme": "bearer"}
    webhook = document["paths"]["/api/integrations/wms/{tenantId}"]["post"]
    assert set(webhook["responses"]) >= {"200", "400", "401", "413", "415", "422", "429", "503"}
    payload = document["components"]["schemas"]["WebhookPayload"]
    assert {"$ref": "#/components/schemas/WebhookOrder"} in payload["oneOf"]
    error = document["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]


def test_the_document_passes_schemathesis_schema_validation(server: str, container: Container) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/api/openapi.json")
    schema.validate()
    operations = {(r.ok().method.upper(), r.ok().path) for r in schema.get_all_operations()}
    routes = {
        (r.method, r.resource.canonical)
        for r in create_app(container).router.routes()
        if r.resource is not None and is_api_route(r.method, r.resource.canonical)
    }
    # Loaded from a URL, schemathesis leaves out the operation that served the document.
    assert operations == routes - {("GET", "/api/openapi.json")}


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    server: str, container: Container, tenant: TenantKeys, mode: schemathesis.GenerationMode
) -> None:
    secret = _connect_webhook(container, tenant)
    real_ids = {"tenantId": tenant.tenant_id, **_seed(server, container, tenant, secret)}
    schema = schemathesis.openapi.from_url(f"{server}/api/openapi.json")
    failures: list[str] = []
    statuses: dict[str, Counter[int]] = {}
    runs = [
        (result.ok(), ids)
        for result in schema.get_all_operations()
        # Each operation with ids in its path runs twice: with generated ids, then with real ones.
        for ids in ({"tenantId"}, set(real_ids))
    ]
    for operation, names in runs:
        present = {name: real_ids[name] for name in names if f"{{{name}}}" in operation.path}
        if names != {"tenantId"} and set(present) <= {"tenantId"}:
            continue  # no id of its own: the first run covered it
        if mode == schemathesis.GenerationMode.NEGATIVE and not _has_inputs(operation):
            continue  # nothing to make invalid
        seen = statuses.setdefault(operation.label, Counter())
        token = secret if operation.path.startswith("/api/integrations/wms/") else tenant.admin_key
        strategy = operation.as_strategy(mode, path_parameters=present or None)

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def exercise(case: Any) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            response = case.call(base_url=server, headers=headers, timeout=30)
            seen[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            exercise()
        except Exception as failure:
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    assert not failures, "\n\n".join(failures)
    print({label: dict(seen) for label, seen in statuses.items()})
    if mode == schemathesis.GenerationMode.POSITIVE:
        # The run got past authentication: valid requests really did things.
        assert statuses["POST /api/integrations/wms/{tenantId}"][200] > 0
        assert statuses["GET /api/tenants/{tenantId}/orders"][200] > 0
        assert statuses["POST /api/tenants/{tenantId}/customers"][201] > 0


def _has_inputs(operation: Any) -> bool:
    return bool(operation.body) or any(True for _ in operation.iter_parameters())


def _connect_webhook(container: Container, tenant: TenantKeys) -> str:
    principal = container.use_cases.authenticate(tenant.tenant_id, tenant.admin_key)
    return container.use_cases.connect_webhook(principal)


def _seed(server: str, container: Container, tenant: TenantKeys, secret: str) -> dict[str, str]:
    """A few real orders (updated once, so they have a history), a customer and a
    spare API key: ids for the runs that should find something besides 404."""
    for _ in range(2):
        response = requests.post(
            f"{server}/api/integrations/wms/{tenant.tenant_id}",
            json=[
                {
                    "externalOrderId": f"SEED-{i}",
                    "deliveryAddress": f"{i} Seed Street, Leeds LS1 1AA",
                    "plannedDate": "2025-02-22",
                    "specialHandling": ["fragile"],
                    "palletCount": i + _,
                }
                for i in range(3)
            ],
            headers={"Authorization": f"Bearer {secret}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
    order_id = response.json()["orders"][0]["orderId"]
    principal = container.use_cases.authenticate(tenant.tenant_id, tenant.admin_key)
    customer = container.use_cases.create_customer(principal, "Seed Ltd", "1 Seed Road, York YO1 7HH", None)
    spare = container.use_cases.issue_api_key(principal, "planner")
    # Nothing listens on port 9 of 127.0.0.1: "Sync now" meets an unreachable WMS (502).
    endpoint = container.pull.add_endpoint(principal, "http://127.0.0.1:9/orders", "GET", None)
    container.catch_up()
    return {
        "orderId": order_id,
        "externalOrderId": "SEED-0",
        "customerId": customer.customer_id,
        "keyId": spare.key_id,
        "endpointId": str(endpoint.endpoint_id),
    }


def test_text_with_a_nul_character_is_refused_and_never_stops_the_read_models(
    server: str, container: Container, tenant: TenantKeys
) -> None:
    """Found by fuzzing: PostgreSQL text cannot hold U+0000, so an accepted one
    stopped the orders read model for every tenant, and a lookup with one was a 500."""
    secret = _connect_webhook(container, tenant)
    hook = f"{server}/api/integrations/wms/{tenant.tenant_id}"
    response = requests.post(
        hook,
        data=b'{"externalOrderId": "NUL-1", "deliveryAddress": "1 A\\u0000 Street", "specialHandling": ["a\\u0000"]}',
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert [p["field"] for p in response.json()["details"]] == ["deliveryAddress", "specialHandling"]
    api = f"{server}/api/tenants/{tenant.tenant_id}"
    auth = {"Authorization": f"Bearer {tenant.admin_key}"}
    created = requests.post(
        f"{api}/customers", json={"name": "A\x00", "address": "1 B Street"}, headers=auth, timeout=10
    )
    assert created.status_code == 400 and created.json()["details"][0]["field"] == "name"
    for path in ("/orders/by-external-id/A%00B", "/customers/A%00B", "/orders/A%00B", "/orders/A%00B/history"):
        assert requests.get(api + path, headers=auth, timeout=10).status_code == 404, path
    # A cursor is ours only if it decodes to what we wrote: ["\u0000"] is not.
    assert requests.get(f"{api}/orders?cursor=WyJcdTAwMDAiXQ", headers=auth, timeout=10).status_code == 400
    ok = requests.post(
        hook,
        json={"externalOrderId": "NUL-2", "deliveryAddress": "2 A Street"},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert ok.status_code == 200
    container.catch_up()
    assert container.followers["orders"].failures == 0
    assert requests.get(f"{api}/orders/by-external-id/NUL-2", headers=auth, timeout=10).status_code == 200
