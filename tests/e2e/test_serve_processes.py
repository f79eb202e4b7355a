"""``wms-intake serve --processes N``: N HTTP processes on one port and one worker,
as real processes on one PostgreSQL schema."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.settings import Settings
from interfaces.container import build_container
from interfaces.supervisor import default_processes, share_rate_limit
from tests.support.processes import Process, answers, children_of, listeners, serve, service_env
from tests.support.settings import POSTGRES_ON, POSTGRES_URL, make_settings, postgres_url
from tests.support.waits import wait_until

postgres_only = pytest.mark.skipif(not POSTGRES_ON, reason="the processes share a PostgreSQL")
ORDER = b'{"externalOrderId":"PROC-1","deliveryAddress":"10 High Street, London SW1A 1AA","plannedDate":"2025-02-22"}'


@pytest.fixture
def database(postgres_schema: str) -> str:
    return postgres_url(postgres_schema)


@pytest.fixture
def tenant(database: str) -> dict[str, str]:
    container = build_container(make_settings(database))
    try:
        created = container.use_cases.create_tenant("Many Processes Ltd")
    finally:
        container.close()
    return {"tenantId": str(created.tenant_id), "adminKey": created.admin_api_key}


@pytest.fixture
def service(database: str, tmp_path: Path) -> Iterator[Process]:
    process = serve(2, service_env(database, tmp_path), tmp_path / "serve.log").start()
    try:
        process.wait_ready()
        wait_until(lambda: len(roles(process)) == 3, what="two HTTP children and a worker")
        wait_until(lambda: listeners(process.port) == 2, what="both HTTP children listening")
        yield process
    finally:
        process.stop()


def roles(service: Process) -> dict[int, str]:
    """The supervisor's children: pid -> "serve" or "worker"."""
    return {
        pid: ("worker" if " worker" in cmd else "serve")
        for pid, cmd in children_of(service.pid).items()
        if "interfaces.cli" in cmd
    }


def call(
    service: Process, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    """One request on a fresh connection (each may land on any of the processes)."""
    request = urllib.request.Request(service.base_url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def as_admin(service: Process, tenant: dict[str, str], method: str, path: str) -> tuple[int, Any, Any]:
    """``call`` on the tenant's own ``path`` (under ``/api/tenants/{id}``) with its admin key."""
    headers = {"Authorization": f"Bearer {tenant['adminKey']}"}
    return call(service, method, f"/api/tenants/{tenant['tenantId']}{path}", headers=headers)


def connect_webhook(service: Process, tenant: dict[str, str]) -> str:
    status, body, _ = as_admin(service, tenant, "POST", "/integrations/wms/webhook")
    assert status == 201, body
    return str(orjson.loads(body)["secret"])


def send_then_list(service: Process, tenant: dict[str, str]) -> list[dict[str, Any]]:
    """Connect the webhook, send ORDER through it, then list its date's orders
    as of that write (the read waits for the orders read model to reach it)."""
    secret = connect_webhook(service, tenant)
    hook = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    status, _, headers = call(service, "POST", f"/api/integrations/wms/{tenant['tenantId']}", ORDER, hook)
    assert status == 200
    status, body, _ = as_admin(
        service, tenant, "GET", f"/orders?plannedDate=2025-02-22&after={headers['X-Event-Position']}"
    )
    assert status == 200, body
    return list(orjson.loads(body)["orders"])


def metrics_files_by_pid(scratch: Path) -> set[int]:
    return {int(path.stem.rsplit("_", 1)[1]) for path in scratch.glob("wms-intake-metrics-*/*.db")}


@postgres_only
def test_n_processes_answer_on_one_port_and_metrics_add_up_across_them(service: Process, tmp_path: Path) -> None:
    http_children = {pid for pid, role in roles(service).items() if role == "serve"}
    assert len(http_children) == 2
    requests = 40
    for _ in range(requests):
        assert call(service, "GET", "/api/openapi.json")[0] == 200
    # Both HTTP processes answered (each wrote its own counters) ...
    assert http_children <= metrics_files_by_pid(tmp_path)
    # ... and any one of them reports the sum of all.
    status, text, _ = call(service, "GET", "/metrics")
    assert status == 200
    counted = [
        sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
        if sample.name == "wms_intake_http_requests_total" and sample.labels.get("route") == "/api/openapi.json"
    ]
    assert sum(counted) == requests


@postgres_only
def test_the_background_work_runs_once_in_the_worker(service: Process, tenant: dict[str, str]) -> None:
    assert sorted(roles(service).values()) == ["serve", "serve", "worker"]
    # The list is a read model: only the worker follows it, and it does.
    assert [o["externalOrderId"] for o in send_then_list(service, tenant)] == ["PROC-1"]
    # Each read model is followed by one process, the worker: the HTTP ones don't
    # even stand by (no lease connection at all).
    log = service.log()
    for lease in ("orders", "integrations", "deliveries", "pull_endpoints"):
        assert log.count(f"lease projection:{lease} taken") == 1, lease
    by_role: dict[str, list[int]] = {"serve": [], "worker": []}
    for pid, role in roles(service).items():
        by_role[role].append(lease_connections(pid))
    assert by_role["serve"] == [0, 0], by_role
    assert by_role["worker"][0] >= 4, by_role


def lease_connections(pid: int) -> int:
    """The PostgreSQL connections of process ``pid`` whose last statement was a
    lease's (taking the lock, or the round trip that proves it still held)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and int(fields[2].rsplit(":", 1)[1], 16) == (urlsplit(POSTGRES_URL).port or 5432):
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    if not ports:
        return 0
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE client_port = ANY(%s) "
            "AND (query LIKE %s OR query = 'SELECT 1')",
            (ports, "%advisory_lock%"),
        ).fetchone()
    return int(row[0]) if row else 0


@postgres_only
def test_a_killed_child_is_restarted(service: Process, tenant: dict[str, str]) -> None:
    before = roles(service)
    victims = [
        next(pid for pid, role in before.items() if role == "serve"),
        next(pid for pid, role in before.items() if role == "worker"),
    ]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)

    def replaced() -> dict[int, str]:
        """The children once both victims have been replaced (empty until then)."""
        now = roles(service)
        done = sorted(now.values()) == ["serve", "serve", "worker"] and not set(victims) & set(now)
        return now if done else {}

    after = wait_until(replaced, what="both killed children replaced")
    assert len(after) == 3
    wait_until(lambda: answers(service.port), what="the service answering")
    # The replacement worker is a new interpreter: until it has started and taken the
    # read models' leases nobody follows them, and a read that waits for a position
    # answers 503 once its wait runs out (as it should). Starting takes a few seconds,
    # more on a busy machine than a read waits, so the write comes after the takeover.
    wait_until(
        lambda: service.log().count("lease projection:orders taken") == 2, what="the new worker following the orders"
    )
    # The new worker follows the read models again.
    assert len(send_then_list(service, tenant)) == 1
    assert "exited with -9; restarting" in service.log()


@postgres_only
def test_sigterm_lets_the_requests_in_flight_finish_then_exits(service: Process, tenant: dict[str, str]) -> None:
    secret = connect_webhook(service, tenant)
    # A big batch: a couple of seconds of work that is under way when SIGTERM arrives.
    body = orjson.dumps(
        [
            {"externalOrderId": f"DRAIN-{i:05d}", "deliveryAddress": f"{i} High Street, Leeds LS1 1AA"}
            for i in range(10_000)
        ]
    )
    head = (
        f"POST /api/integrations/wms/{tenant['tenantId']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", service.port), timeout=60) as sock:
        sock.sendall(head)
        # "100 Continue": a process has the request in hand and waits for its body.
        assert sock.recv(64).startswith(b"HTTP/1.1 100")
        sock.sendall(body)
        # The process has read the whole body (nothing left in its socket): the batch is being stored.
        wait_until(lambda: unread_bytes(service.port, sock.getsockname()[1]) == 0, what="the body read")
        os.kill(service.pid, signal.SIGTERM)
        # Every process stops accepting new connections ...
        wait_until(lambda: not _connectable(service.port), what="the port closed")
        # ... yet the request in flight is answered in full.
        response = _read_response(sock)
    assert response.startswith(b"HTTP/1.1 200"), response[:200]
    assert orjson.loads(response.split(b"\r\n\r\n", 1)[1])["processed"] == 10_000
    assert service.process is not None
    assert service.process.wait(60) == 0
    assert roles(service) == {}


def unread_bytes(server_port: int, client_port: int) -> int | None:
    """Bytes the server's side of one connection has received but its process has not read."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16)
        if (local, remote) == (server_port, client_port):
            return int(fields[4].split(":")[1], 16)
    return None


def _connectable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@postgres_only
@pytest.mark.parametrize("divide", [False, True])
def test_the_rate_limit_is_each_process_s_own_unless_divided_among_them(
    database: str, tenant: dict[str, str], tmp_path: Path, divide: bool
) -> None:
    env = service_env(
        database,
        tmp_path,
        WMS_INTAKE_RATE_LIMIT_PER_SECOND="0.01",
        WMS_INTAKE_RATE_LIMIT_BURST="2",
        WMS_INTAKE_RATE_LIMIT_DIVIDE_BY_PROCESSES=str(divide).lower(),
    )
    service = serve(2, env, tmp_path / "serve.log").start()
    try:
        service.wait_ready()
        wait_until(lambda: listeners(service.port) == 2, what="both HTTP children listening")
        secret = connect_webhook(service, tenant)
        # One keep-alive connection: every request reaches the same process.
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
        statuses = []
        for _ in range(2):
            connection.request(
                "POST",
                f"/api/integrations/wms/{tenant['tenantId']}",
                ORDER,
                {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        connection.close()
    finally:
        service.stop()
    # A burst of 2 per process, or 2 shared by the 2 processes (1 each).
    assert statuses == ([200, 429] if divide else [200, 200])


def test_sqlite_defaults_to_one_process_and_postgres_to_every_core() -> None:
    assert default_processes(is_postgres=False) == 1
    assert default_processes(is_postgres=True) == len(os.sched_getaffinity(0))


def test_the_rate_limit_is_divided_among_the_processes_only_when_asked() -> None:
    own = Settings(rate_limit_per_second=200, rate_limit_burst=400)
    share_rate_limit(own, 4)
    assert (own.rate_limit_per_second, own.rate_limit_burst) == (200, 400)
    divided = Settings(rate_limit_per_second=200, rate_limit_burst=400, rate_limit_divide_by_processes=True)
    share_rate_limit(divided, 4)
    assert (divided.rate_limit_per_second, divided.rate_limit_burst) == (50, 100)
