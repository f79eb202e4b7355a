"""A Python client generated from the served document runs the README's walk-throughs.

``openapi-python-client`` generates a client from ``GET /api/openapi.json`` of
the real service (its own process); the README's two walk-throughs (the
webhook with curl, and "Pull from WMS" with a file served on this machine
standing in for the WMS) then run through that client alone: its method
names are the document's operationIds, its models the document's schemas.
"""

from __future__ import annotations

import datetime
import functools
import http.server
import importlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests.support.processes import live_service
from tests.support.waits import read_until

GENERATOR = str(Path(sys.executable).with_name("openapi-python-client"))
PACKAGE = "wms_intake_client"


def generate_client(document_url: str, where: Path) -> Callable[[str], ModuleType]:
    """Generate the client package from the served document; return an importer
    of its modules (``importer("api.orders.get_order")``)."""
    document = where / "openapi.json"
    document.write_bytes(requests.get(document_url, timeout=10).content)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    generated = subprocess.run(
        [GENERATOR, "generate", "--path", str(document), "--meta", "none", "--output-path", str(where / PACKAGE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # A client that generated with warnings has pieces missing: none may be.
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout + generated.stderr
    sys.path.insert(0, str(where))
    return lambda name: importlib.import_module(f"{PACKAGE}.{name}" if name else PACKAGE)


@pytest.fixture
def client_package(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    sys.path[:] = [p for p in sys.path if p != str(tmp_path)]
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


@pytest.fixture
def wms_demo(tmp_path: Path) -> Iterator[str]:
    """The README's stand-in WMS: ``python3 -m http.server`` serving wms-demo/orders.json."""
    directory = tmp_path / "wms-demo"
    directory.mkdir()
    (directory / "orders.json").write_text(
        '[{"externalOrderId":"PULL-1","deliveryAddress":"10 High St, London SW1A 1AA","plannedDate":"2025-02-22"}]'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_generated_client_runs_the_readme_walk_throughs(
    database_url: str, client_package: Path, wms_demo: str
) -> None:
    with live_service(database_url, client_package / "server.log", connect_webhook=False) as service:
        load = generate_client(f"{service.base_url}/api/openapi.json", client_package)
        client_module, models = load(""), load("models")
        admin = client_module.AuthenticatedClient(base_url=service.base_url, token=service.admin_key)
        tenant = service.tenant_id

        def call(module: str, **kwargs: Any) -> Any:
            """One operation through the generated client; its parsed success body."""
            response = load(f"api.{module}").sync_detailed(
                tenant_id=tenant, client=kwargs.pop("client", admin), **kwargs
            )
            assert 200 <= response.status_code < 300, (module, response.status_code, response.content)
            return response.parsed

        # Settings -> Integrations -> "Connect WMS": the webhook URL and its secret (shown once)
        connected = call("integrations.connect_webhook")
        assert isinstance(connected, models.WebhookConnected)
        assert connected.webhook_url.endswith(f"/api/integrations/wms/{tenant}")

        # The documentation's cURL example, with the secret as the Bearer token
        wms = client_module.AuthenticatedClient(base_url=service.base_url, token=connected.secret)
        order = models.WebhookOrderByAddress(
            external_order_id="ORD-1",
            delivery_address="10 High St, London SW1A 1AA",
            customer_name="Acme",
            planned_date=datetime.date(2025, 2, 22),
        )
        accepted = call("webhook.receive_orders", client=wms, body=order)
        assert isinstance(accepted, models.WebhookAccepted)
        assert (accepted.accepted, accepted.processed) == (True, 1)
        order_id = accepted.orders[0].order_id

        # Planning's view for that date, the integration status, the delivery log
        planned = read_until(
            lambda: call("orders.list_orders", planned_date=order.planned_date), lambda page: len(page.orders) == 1
        )
        assert planned.orders[0].external_order_id == "ORD-1"
        assert planned.orders[0].customer_name == "Acme"
        status = read_until(
            lambda: call("integrations.get_integration_status"), lambda s: s.webhook.last_received_at is not None
        )
        assert status.webhook.active is True
        log = read_until(lambda: call("integrations.list_deliveries"), lambda page: len(page.deliveries) == 1)
        assert (log.deliveries[0].status, log.deliveries[0].processed) == (200, 1)

        # An order's audit trail
        history = call("orders.get_order_history", order_id=order_id)
        assert [event.type_ for event in history.events] == ["OrderCreated"]
        assert history.events[0].source.channel == "webhook"

        # Pull from WMS: add the endpoint (its secret shown once), Sync now, status, orders
        added = call(
            "pull_from_wms.add_pull_endpoint",
            body=models.AddPullEndpoint(url=f"{wms_demo}/orders.json", method=models.AddPullEndpointMethod.GET),
        )
        assert added.secret
        synced = call("pull_from_wms.sync_pull_endpoint", endpoint_id=added.id)
        assert (synced.accepted, synced.processed) == (True, 1)
        status = read_until(
            lambda: call("integrations.get_integration_status"),
            lambda s: s.pull_endpoints and s.pull_endpoints[0].last_sync_status is not None,
        )
        assert status.pull_endpoints[0].last_sync_status == "ok"
        planned = read_until(
            lambda: call("orders.list_orders", planned_date=order.planned_date), lambda page: len(page.orders) == 2
        )
        assert [o.external_order_id for o in planned.orders] == ["ORD-1", "PULL-1"]
        # Every 5 minutes from now on, a new secret, then stop pulling
        changed = call(
            "pull_from_wms.change_pull_endpoint",
            endpoint_id=added.id,
            body=models.ChangePullEndpoint(interval_minutes=5),
        )
        assert changed.interval_minutes == 5 and changed.next_sync_at
        renewed = call("pull_from_wms.regenerate_pull_endpoint_secret", endpoint_id=added.id)
        assert renewed.secret and renewed.secret != added.secret
        call("pull_from_wms.remove_pull_endpoint", endpoint_id=added.id)
        assert (
            read_until(
                lambda: call("pull_from_wms.list_pull_endpoints"), lambda listed: listed.pull_endpoints == []
            ).pull_endpoints
            == []
        )
