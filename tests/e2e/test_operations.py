"""Operating the service: health, readiness, Prometheus metrics and JSON logs, over real HTTP.

The operations routes: ``/healthz``, ``/readyz``, ``/metrics`` (requests by route
and status, orders created/updated, batch sizes, latency histograms, lag per
read model). Logs are JSON, one line per request with its request id,
tenant, status and duration, and never hold a secret or a payload.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from interfaces.container import Container
from interfaces.http.app import create_app
from tests.support.http import TenantKeys, Webhook
from tests.support.logs import json_logs

WEBHOOK_ROUTE = "/api/integrations/wms/{tenantId}"
ADDRESS_MARK = "77 Marmalade Mews, Leeds LS9 9ZZ"
BROKEN_MARK = "PAYLOAD-MARK-QX81"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition: (name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(await response.text())


async def test_health_and_readiness(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200 and await response.json() == {"status": "ok"}
    assert response.headers["X-Request-Id"]
    response = await client.get("/readyz")
    assert response.status == 200 and await response.json() == {"status": "ready", "database": "ok"}


async def test_metrics_count_requests_orders_batches_and_latency(client: TestClient, webhook: Webhook) -> None:
    batches = [
        [{"externalOrderId": f"M-{i}", "deliveryAddress": ADDRESS_MARK} for i in range(3)],
        [
            {"externalOrderId": "M-0", "deliveryAddress": ADDRESS_MARK, "palletCount": 2},
            {"externalOrderId": "M-9", "deliveryAddress": ADDRESS_MARK},
        ],
    ]
    for batch in batches:
        response = await client.post(webhook.path, data=orjson.dumps(batch), headers=webhook.headers())
        assert response.status == 200
    response = await client.post(webhook.path, data=b"{", headers=webhook.headers())
    assert response.status == 400
    response = await client.post(webhook.path, data=b"[]", headers=webhook.headers("wrong"))
    assert response.status == 401

    found = await scrape(client)
    requests = "wms_intake_http_requests_total"
    assert value(found, requests, method="POST", route=WEBHOOK_ROUTE, status="200") == 2
    assert value(found, requests, method="POST", route=WEBHOOK_ROUTE, status="400") == 1
    assert value(found, requests, method="POST", route=WEBHOOK_ROUTE, status="401") == 1
    connect = "/api/tenants/{tenantId}/integrations/wms/webhook"
    assert value(found, requests, method="POST", route=connect, status="201") == 1
    assert value(found, "wms_intake_orders_total", channel="webhook", outcome="created") == 4
    assert value(found, "wms_intake_orders_total", channel="webhook", outcome="updated") == 1
    assert value(found, "wms_intake_batch_size_count", channel="webhook") == 2
    assert value(found, "wms_intake_batch_size_sum", channel="webhook") == 5
    assert value(found, "wms_intake_batch_size_bucket", channel="webhook", le="2.0") == 1
    assert value(found, "wms_intake_http_request_seconds_count", route=WEBHOOK_ROUTE) == 4
    assert value(found, "wms_intake_http_request_seconds_bucket", route=WEBHOOK_ROUTE, le="+Inf") == 4

    # The scrape itself is counted by the next one, under its route.
    again = await scrape(client)
    assert value(again, requests, method="GET", route="/metrics", status="200") >= 1


async def test_an_identical_resend_is_counted_unchanged_and_no_created_series_is_exposed(
    client: TestClient, webhook: Webhook
) -> None:
    batch = [{"externalOrderId": f"U-{i}", "deliveryAddress": ADDRESS_MARK} for i in range(3)]
    for _ in range(2):
        response = await client.post(webhook.path, data=orjson.dumps(batch), headers=webhook.headers())
        assert response.status == 200
    response = await client.get("/metrics")
    text = await response.text()
    found = samples(text)
    assert value(found, "wms_intake_orders_total", channel="webhook", outcome="created") == 3
    assert value(found, "wms_intake_orders_total", channel="webhook", outcome="unchanged") == 3
    assert value(found, "wms_intake_orders_total", channel="webhook", outcome="updated") == 0
    assert "_created" not in text


async def test_a_get_on_the_webhook_is_counted_under_the_webhook_route(client: TestClient, webhook: Webhook) -> None:
    response = await client.get(webhook.path)
    assert response.status == 405
    found = await scrape(client)
    requests = "wms_intake_http_requests_total"
    assert value(found, requests, method="GET", route=WEBHOOK_ROUTE, status="405") == 1
    assert value(found, requests, method="GET", route="unmatched", status="405") == 0


async def test_metrics_show_the_lag_of_every_read_model(
    aiohttp_client: Any, container: Container, tenant: TenantKeys
) -> None:
    # No background work in this server: the read models stay behind until caught up.
    client = await aiohttp_client(create_app(container, run_background=False))
    container.catch_up()
    admin = container.use_cases.authenticate(tenant.tenant_id, tenant.admin_key)
    container.use_cases.connect_webhook(admin)
    container.use_cases.create_customer(admin, "Lag Ltd", "1 Lag Lane, York YO1 7HH", None)
    behind = await scrape(client)
    lags = {
        dict(labels)["projection"]: lag
        for (name, labels), lag in behind.items()
        if name == "wms_intake_projection_lag_events"
    }
    assert set(lags) == set(container.views)
    assert lags["orders"] >= 1 and lags["integrations"] >= 1
    container.catch_up()
    caught_up = await scrape(client)
    assert all(value(caught_up, "wms_intake_projection_lag_events", projection=n) == 0 for n in lags)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged at INFO and above, formatted as in production (JSON lines)."""
    with json_logs(logging.INFO) as stream:
        yield stream


async def test_one_json_log_line_per_request_without_secrets_or_payloads(
    client: TestClient, tenant: TenantKeys, log_lines: io.StringIO
) -> None:
    response = await client.post(f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=tenant.auth())
    secret = (await response.json())["secret"]
    hook = f"/api/integrations/wms/{tenant.tenant_id}"
    sent = [response.headers["X-Request-Id"]]
    for body, key in (
        (orjson.dumps({"externalOrderId": "LOG-1", "deliveryAddress": ADDRESS_MARK}), secret),
        (f'{{"externalOrderId": "{BROKEN_MARK}"'.encode(), secret),
        (orjson.dumps([{"externalOrderId": "LOG-2", "customerName": BROKEN_MARK}]), secret),
        (b"[]", "not-the-secret"),
    ):
        response = await client.post(
            hook, data=body, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        )
        sent.append(response.headers["X-Request-Id"])
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/orders", headers=tenant.auth())
    sent.append(response.headers["X-Request-Id"])
    response = await client.get("/healthz")
    sent.append(response.headers["X-Request-Id"])

    lines = [orjson.loads(line) for line in log_lines.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "wms_intake.access"]
    assert [line["requestId"] for line in access] == sent
    for line in access:
        assert {"ts", "level", "requestId", "tenant", "method", "route", "status", "durationMs"} <= set(line)
        assert isinstance(line["durationMs"], float | int) and line["durationMs"] >= 0
    assert [line["status"] for line in access] == [201, 200, 400, 400, 401, 200, 200]
    assert [line["tenant"] for line in access] == [tenant.tenant_id] * 6 + [None]
    everything = log_lines.getvalue()
    for never in (secret, tenant.admin_key, tenant.admin_key.split("_", 3)[3], ADDRESS_MARK, BROKEN_MARK):
        assert never not in everything
