"""Real ``wms-intake`` processes: a supervised ``serve --processes N``, single
``serve``/``worker`` processes, or one service with a tenant and its webhook
connected, as an outside client sees it (``live_service``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import requests

from bench.loadgen import REPO_ROOT, ServerProcess, free_port
from bench.stopping import stop_process
from tests.support.settings import SECRET_KEY
from tests.support.waits import wait_until

ROOT = REPO_ROOT


def service_env(database_url: str, scratch: Path, **extra: str) -> dict[str, str]:
    """The environment of a service under test: no stray WMS_INTAKE_ variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WMS_INTAKE_", "PROMETHEUS_MULTIPROC"))}
    env.update(
        {
            "WMS_INTAKE_DATABASE_URL": database_url,
            "WMS_INTAKE_SECRET_KEY": SECRET_KEY,
            "WMS_INTAKE_GEOCODER": "none",
            "WMS_INTAKE_PULL_ALLOW_PRIVATE": "true",
            "WMS_INTAKE_PROJECTION_POLL_INTERVAL": "0.05",
            # Each process opens its pool's base size at once (the overflow only under
            # load); several test runs share one PostgreSQL and its connection limit.
            "WMS_INTAKE_DB_POOL_SIZE": "2",
            # The supervisor's metrics directory is made here, where the test can see it.
            "TMPDIR": str(scratch),
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    env.update(extra)
    return env


class Process:
    """One ``wms-intake`` command in a subprocess, logging to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.args = args
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Process:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "interfaces.cli", *self.args],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        return self

    def wait_ready(self, within: float = 60.0) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"exited with {self.process.returncode}:\n{self.log()}")
            return answers(self.port)

        try:
            wait_until(ready, within, f"{self.args[0]} answering /readyz", every=0.1)
        except AssertionError:
            if self.process is not None and self.process.poll() is not None:
                raise
            raise AssertionError(f"not ready within {within}s:\n{self.log()}") from None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGTERM, grace=30)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def answers(port: int) -> bool:
    """True when a fresh connection to the port gets 200 from /readyz."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def serve(processes: int, env: dict[str, str], log_path: Path, *extra: str) -> Process:
    port = free_port()
    return Process(
        ["serve", "--processes", str(processes), "--host", "127.0.0.1", "--port", str(port), *extra],
        env,
        log_path,
        port,
    )


def listeners(port: int) -> int:
    """How many sockets listen on ``port`` (one per process with ``SO_REUSEPORT``)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def children_of(pid: int) -> dict[int, str]:
    """The live child processes of ``pid``: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # Fields after the command's parenthesised name: state, ppid, ...
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def run_to_end(
    args: list[str], env: dict[str, str], *, cwd: Path = ROOT, timeout: float, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Runs a command to its end (within ``timeout`` seconds), its output and errors kept as text."""
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=check)


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


@contextmanager
def live_service(
    database_url: str, log_path: Path, *, connect_webhook: bool = True, **settings: str
) -> Iterator[LiveService]:
    """The service (``wms-intake serve``) on a free port with a tenant; with
    ``connect_webhook`` its webhook is connected."""
    env = {
        **os.environ,
        "WMS_INTAKE_DATABASE_URL": database_url,
        "WMS_INTAKE_RATE_LIMIT_PER_SECOND": "0",
        "WMS_INTAKE_GEOCODER": "none",
        "WMS_INTAKE_PULL_ALLOW_PRIVATE": "true",
        "WMS_INTAKE_PULL_TIMEOUT_SECONDS": "2",
        "WMS_INTAKE_PROJECTION_POLL_INTERVAL": "0.05",
        "WMS_INTAKE_SECRET_KEY": SECRET_KEY,
        "WMS_INTAKE_LOG_LEVEL": "WARNING",
        # The change feed's long poll holds an empty answer up to its wait: capped
        # short here, so fuzzed waits keep the run bounded.
        "WMS_INTAKE_CHANGES_MAX_WAIT_SECONDS": "0.2",
        **settings,
    }
    created = run_to_end(
        [sys.executable, "-m", "interfaces.cli", "tenants", "create", "--name", "Acme"], env, timeout=60, check=True
    )
    tenant = orjson.loads(created.stdout)
    server = Process(["serve", "--host", "127.0.0.1"], env, log_path)
    server.args += ["--port", str(server.port)]
    server.start()
    try:
        server.wait_ready(30)
        secret = None
        if connect_webhook:
            connected = requests.post(
                f"{server.base_url}/api/tenants/{tenant['tenantId']}/integrations/wms/webhook",
                headers={"Authorization": f"Bearer {tenant['adminApiKey']}"},
                timeout=10,
            )
            assert connected.status_code == 201, connected.text
            secret = connected.json()["secret"]
        yield LiveService(server.base_url, tenant["tenantId"], tenant["adminApiKey"], secret, env)
    finally:
        server.stop()


@contextmanager
def servers_running(count: int, database_url: str, logs: Path, env: dict[str, str]) -> Iterator[list[ServerProcess]]:
    """``count`` plain ``wms-intake serve`` processes on one database (as the
    bench starts them), each logging into ``logs``; stopped afterwards."""
    servers = [ServerProcess(database_url, logs / f"server-{n}.log", env) for n in range(count)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()
