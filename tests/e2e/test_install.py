"""The built wheel, installed in a fresh virtual environment outside the
repository, serves the documented cURL example with the default geocoder.

This is what an operator does on a new machine: build (or download) the
wheel, ``pip install`` it, run ``wms-intake serve``. Nothing of the source tree
is importable there: the server runs from the installed package alone, so the
postcode data, the dashboard files and the entry point must all be in the wheel.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import venv
import zipfile
from pathlib import Path
from typing import Any

import orjson

from tests.support.waits import wait_until

ROOT = Path(__file__).resolve().parents[2]
CURL_EXAMPLE = (
    b'{"externalOrderId":"ORD-1","deliveryAddress":"10 High St, London SW1A 1AA",'
    b'"customerName":"Acme","plannedDate":"2025-02-22"}'
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: bytes | None = None, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, orjson.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def build_wheel(out: Path) -> Path:
    # Built from a copy, so the build leaves nothing in the working tree.
    source = out / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "build",
            "*.egg-info",
            "__pycache__",
            ".pytest_cache",
            ".hypothesis",
            "var",
            "test-artifacts",
            "tests",
            "bench",
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("wms_intake-*.whl")
    return wheel


def test_the_wheel_installed_in_a_clean_venv_serves_the_curl_example_with_a_geocoded_location(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert any(n.startswith("infrastructure/geocoding/codepointopen/sw.csv.gz") for n in names)
    assert any(n.endswith("NOTICE") for n in names), "the OGL attribution ships with the data"

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True, timeout=600
    )

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("WMS_INTAKE_", "PYTHON", "VIRTUAL_ENV"))
    }
    cli = str(env_dir / "bin" / "wms-intake")
    created = subprocess.run(
        [cli, "tenants", "create", "--name", "Acme"], cwd=run_dir, env=env, capture_output=True, text=True, timeout=120
    )
    assert created.returncode == 0, created.stderr
    tenant = orjson.loads(created.stdout)
    port = free_port()
    server = subprocess.Popen(
        [cli, "serve", "--port", str(port)], cwd=run_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _ready(base), 60, "the installed server to answer")
        status, connected = http(
            "POST", f"{base}/api/tenants/{tenant['tenantId']}/integrations/wms/webhook", b"", tenant["adminApiKey"]
        )
        assert status == 201, connected
        status, accepted = http(
            "POST", f"{base}/api/integrations/wms/{tenant['tenantId']}", CURL_EXAMPLE, connected["secret"]
        )
        assert status == 200 and accepted["processed"] == 1, accepted

        def located() -> Any:
            status, order = http(
                "GET",
                f"{base}/api/tenants/{tenant['tenantId']}/orders/by-external-id/ORD-1",
                token=tenant["adminApiKey"],
            )
            return order if status == 200 and order["location"]["status"] == "ok" else None

        order = wait_until(located, 60, "the order's geocoded location")
        assert order["location"]["precision"] == "postcode"
        assert abs(order["location"]["lat"] - 51.501) < 0.01 and abs(order["location"]["lon"] + 0.1416) < 0.01
    finally:
        server.terminate()
        server.wait(timeout=30)


def _ready(base: str) -> bool:
    try:
        return http("GET", f"{base}/readyz")[0] == 200
    except OSError:
        return False
