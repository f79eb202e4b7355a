"""The ``wms-intake`` command as an operator runs it: in a subprocess, from a
working directory of its own, with settings in the environment.

Start-up failures are one line saying what is wrong and how to fix it, exit 2
for a configuration error and 1 for a run-time one, no traceback unless
``--debug``. ``serve`` says where it listens, where the dashboard is, which store
(never its password), the topology, and what to do when there is no tenant.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest

from interfaces.container import build_container
from tests.support.settings import POSTGRES_URL, make_settings
from tests.support.waits import wait_until

ROOT = Path(__file__).resolve().parents[2]


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli", *args],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WMS_INTAKE_")}
    env["PYTHONPATH"] = str(ROOT)
    env["WMS_INTAKE_SECRET_KEY"] = "test-only-secret-key-with-more-than-32-characters"
    env.update(extra or {})
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_one_line_failure(done: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("wms-intake: ")
    for word in words:
        assert word in lines[0], (word, lines[0])


# ---------------------------------------------------------------- start-up failures


def test_an_invalid_setting_names_the_variable_and_exits_2(tmp_path: Path) -> None:
    done = run("serve", cwd=tmp_path, env={"WMS_INTAKE_MAX_BODY_BYTES": "ten"})
    assert_one_line_failure(done, 2, "WMS_INTAKE_MAX_BODY_BYTES", "'ten'", "integer")


def test_a_database_url_of_an_unknown_kind_exits_2(tmp_path: Path) -> None:
    done = run("tenants", "list", cwd=tmp_path, env={"WMS_INTAKE_DATABASE_URL": "mysql://u:hunter2@db/x"})
    assert_one_line_failure(done, 2, "WMS_INTAKE_DATABASE_URL", "sqlite:///", "postgresql://")
    assert "hunter2" not in done.stderr


def test_a_missing_sqlite_directory_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    done = run("serve", cwd=tmp_path, env={"WMS_INTAKE_DATABASE_URL": f"sqlite:///{missing}/x.db"})
    assert_one_line_failure(done, 2, str(missing), "create it")
    assert not (tmp_path / "no").exists()


def test_the_default_var_directory_is_made_when_missing(tmp_path: Path) -> None:
    done = run("tenants", "list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == {"tenants": []}
    assert (tmp_path / "var" / "wms-intake.sqlite3").is_file()


def test_an_unreachable_postgresql_is_a_run_time_failure_exit_1_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://postgres:s3cret-pw@127.0.0.1:{free_port()}/test"
    done = run("serve", cwd=tmp_path, env={"WMS_INTAKE_DATABASE_URL": url})
    assert_one_line_failure(done, 1, "cannot reach PostgreSQL", "refused", "WMS_INTAKE_DATABASE_URL")
    assert "s3cret-pw" not in done.stderr


@pytest.mark.postgres
def test_a_postgresql_database_that_does_not_exist_is_a_configuration_error(tmp_path: Path) -> None:
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/no_such_database_wms_intake"
    done = run("serve", cwd=tmp_path, env={"WMS_INTAKE_DATABASE_URL": url})
    assert_one_line_failure(done, 2, "no_such_database_wms_intake", "does not exist")


def test_a_port_in_use_is_one_line_exit_1_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run("serve", "--port", port, cwd=tmp_path)
        assert_one_line_failure(done, 1, f"port {port} is already in use", "--port")
        debug = run("serve", "--port", port, "--debug", cwd=tmp_path)
        assert debug.returncode != 0 and "Traceback" in debug.stderr


# ---------------------------------------------------------------- serve says where it is


def test_serve_prints_url_dashboard_store_topology_and_next_step_and_slash_opens_the_dashboard(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("postgresql"):
        # Trust authentication ignores the password: it must still never be shown.
        database_url = database_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret-pw@", 1)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port), "--no-worker"],
        cwd=tmp_path,
        env=_env({"WMS_INTAKE_DATABASE_URL": database_url}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [_readline(server, 60) for _ in range(5)]
        base = f"http://127.0.0.1:{port}"
        assert lines[0] == f"wms-intake listening on {base}"
        assert lines[1].split() == ["dashboard:", f"{base}/dashboard/"]
        assert lines[2].split()[:2] == ["store:", "PostgreSQL" if "postgresql" in database_url else "SQLite"]
        assert "s3cret-pw" not in lines[2]
        assert "--no-worker" in lines[3] and "wms-intake worker" in lines[3]
        assert "wms-intake tenants create --name" in lines[4]

        opener = urllib.request.build_opener(_NoRedirect())
        with pytest.raises(urllib.error.HTTPError) as redirected:
            opener.open(f"{base}/", timeout=10)
        assert redirected.value.code == 302
        assert redirected.value.headers["Location"] == "/dashboard/"
    finally:
        server.terminate()
        server.wait(timeout=30)
        assert server.stderr is not None and server.stdout is not None
        server.stderr.close()
        server.stdout.close()


def _readline(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = process.stdout.readline()
    assert line or time.monotonic() < deadline, "serve printed nothing"
    return line.rstrip("\n")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# ---------------------------------------------------------------- operator commands


def test_help_shows_defaults_and_choices(tmp_path: Path) -> None:
    serve = run("serve", "--help", cwd=tmp_path)
    assert "(default: 8080)" in serve.stdout and "(default: 127.0.0.1)" in serve.stdout
    rebuild = run("projections", "rebuild", "--help", cwd=tmp_path)
    assert "{orders,integrations,deliveries,pull_endpoints}" in rebuild.stdout
    keys = run("api-keys", "create", "--help", cwd=tmp_path)
    assert "{admin,planner,auditor}" in keys.stdout and "(default: admin)" in keys.stdout


def test_an_operator_lists_tenants_issues_lists_and_revokes_keys_and_reads_a_history_by_external_id(
    database_url: str, tmp_path: Path
) -> None:
    env = {"WMS_INTAKE_DATABASE_URL": database_url}
    created = orjson.loads(run("tenants", "create", "--name", "Acme", cwd=tmp_path, env=env).stdout)
    tenant = created["tenantId"]
    listed = orjson.loads(run("tenants", "list", cwd=tmp_path, env=env).stdout)["tenants"]
    assert [(t["tenantId"], t["name"], t["activeApiKeys"]) for t in listed] == [(tenant, "Acme", 1)]

    # The way back in: a new admin key for a tenant whose key was lost.
    issued = run(
        "api-keys", "create", "--tenant", tenant, "--role", "planner", "--name", "Planner tablet", cwd=tmp_path, env=env
    )
    assert issued.returncode == 0, issued.stderr
    key = orjson.loads(issued.stdout)
    assert key["role"] == "planner" and key["apiKey"].startswith("wik_")
    assert key["name"] == "Planner tablet"
    container = build_container(make_settings(database_url))
    try:
        principal = container.use_cases.authenticate(tenant, key["apiKey"])
        assert principal.role.value == "planner"
        hook_secret = container.use_cases.connect_webhook(
            container.use_cases.authenticate(tenant, created["adminApiKey"])
        )
        assert hook_secret
        from uuid import UUID, uuid4

        from application.commands import ReceiveBatch

        body = b'{"externalOrderId":"ORD-CLI-1","deliveryAddress":"10 High St, London SW1A 1AA"}'
        container.use_cases.receive_batch(
            ReceiveBatch(
                tenant_id=UUID(tenant),
                body=body,
                body_size=len(body),
                channel="webhook",
                request_id="r-1",
                received_at=container.use_cases.clock.now(),
                max_items=10,
                max_body_bytes=10_000,
                delivery_id=uuid4(),
            )
        )
    finally:
        container.close()

    keys = orjson.loads(run("api-keys", "list", "--tenant", tenant, cwd=tmp_path, env=env).stdout)["apiKeys"]
    assert sorted((k["role"], k["name"]) for k in keys) == [("admin", None), ("planner", "Planner tablet")]
    revoked = run("api-keys", "revoke", "--tenant", tenant, key["id"], cwd=tmp_path, env=env)
    assert revoked.returncode == 0, revoked.stderr
    keys = orjson.loads(run("api-keys", "list", "--tenant", tenant, cwd=tmp_path, env=env).stdout)["apiKeys"]
    assert {k["id"]: k["revoked"] for k in keys}[key["id"]] is True

    history = run("orders", "history", tenant, "--external-id", "ORD-CLI-1", cwd=tmp_path, env=env)
    assert history.returncode == 0, history.stderr
    trail = orjson.loads(history.stdout)
    assert trail["events"][0]["changes"]["deliveryAddress"] == "10 High St, London SW1A 1AA"

    unknown = run("api-keys", "create", "--tenant", "00000000-0000-0000-0000-000000000000", cwd=tmp_path, env=env)
    assert_one_line_failure(unknown, 1, "not found", "tenants list")
    unknown_order = run("orders", "history", tenant, "--external-id", "NOPE", cwd=tmp_path, env=env)
    assert unknown_order.returncode == 1 and "Traceback" not in unknown_order.stderr


def test_a_worker_serves_its_own_metrics_on_request(tmp_path: Path) -> None:
    port = free_port()
    worker = subprocess.Popen(
        [sys.executable, "-m", "interfaces.cli", "worker", "--metrics-port", str(port)],
        cwd=tmp_path,
        env=_env(None),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def metrics() -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    return str(response.read().decode())
            except OSError:
                assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
                return None

        text = wait_until(metrics, 60, "the worker's metrics answering", every=0.2)
        assert "# TYPE wms_intake_orders_total counter" in text or "# TYPE wms_intake_orders counter" in text
        assert 'wms_intake_projection_lag_events{projection="orders"} 0.0' in text
        assert "_created" not in text
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        if worker.stderr is not None:
            worker.stderr.close()


def test_a_sqlite_path_that_is_no_database_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "a-directory.db").mkdir()
    done = run("serve", cwd=tmp_path, env={"WMS_INTAKE_DATABASE_URL": "sqlite:///a-directory.db"})
    assert_one_line_failure(done, 2, "cannot open SQLite", "WMS_INTAKE_DATABASE_URL")
    (tmp_path / "garbage.db").write_bytes(b"this is not a database" * 100)
    done = run("tenants", "list", cwd=tmp_path, env={"WMS_INTAKE_DATABASE_URL": "sqlite:///garbage.db"})
    assert_one_line_failure(done, 2, "not a database")
