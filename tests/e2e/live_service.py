"""The real service as its own process (``wms-intake serve``) on 127.0.0.1, with
a tenant, its admin key and a connected webhook: what an outside client sees."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import requests

ROOT = Path(__file__).resolve().parents[2]
WMS_INTAKE = str(Path(sys.executable).with_name("wms-intake"))


@dataclass(frozen=True)
class LiveService:
    base_url: str
    tenant_id: str
    admin_key: str
    webhook_secret: str | None
    env: dict[str, str]

    @property
    def api(self) -> str:
        return f"{self.base_url}/api/tenants/{self.tenant_id}"

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_service(
    database_url: str, log_path: Path, *, connect_webhook: bool = True, **settings: str
) -> Iterator[LiveService]:
    """The service on a free port; with ``connect_webhook`` its webhook is connected."""
    env = {
        **os.environ,
        "WMS_INTAKE_DATABASE_URL": database_url,
        "WMS_INTAKE_RATE_LIMIT_PER_SECOND": "0",
        "WMS_INTAKE_GEOCODER": "none",
        "WMS_INTAKE_PULL_ALLOW_PRIVATE": "true",
        "WMS_INTAKE_PULL_TIMEOUT_SECONDS": "2",
        "WMS_INTAKE_PROJECTION_POLL_INTERVAL": "0.05",
        "WMS_INTAKE_SECRET_KEY": "test-only-secret-key-with-more-than-32-characters",
        "WMS_INTAKE_LOG_LEVEL": "WARNING",
        # The change feed's long poll holds an empty answer up to its wait: capped
        # short here, so fuzzed waits keep the run bounded.
        "WMS_INTAKE_CHANGES_MAX_WAIT_SECONDS": "0.2",
        **settings,
    }
    created = subprocess.run(
        [WMS_INTAKE, "tenants", "create", "--name", "Acme"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )
    tenant = orjson.loads(created.stdout)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [WMS_INTAKE, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log_path.read_text()[-3000:]
            try:
                if requests.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.1)
        secret = None
        if connect_webhook:
            connected = requests.post(
                f"{base_url}/api/tenants/{tenant['tenantId']}/integrations/wms/webhook",
                headers={"Authorization": f"Bearer {tenant['adminApiKey']}"}, timeout=10,
            )
            assert connected.status_code == 201, connected.text
            secret = connected.json()["secret"]
        yield LiveService(base_url, tenant["tenantId"], tenant["adminApiKey"], secret, env)
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
