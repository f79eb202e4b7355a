"""Real ``wms-intake`` processes for the multi-process tests: a supervised
``serve --processes N``, or single ``serve``/``worker`` processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.loadgen import REPO_ROOT, free_port

SECRET_KEY = "test-only-secret-key-with-more-than-32-characters"


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
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"exited with {self.process.returncode}:\n{self.log()}")
            if answers(self.port):
                return
            time.sleep(0.1)
        raise AssertionError(f"not ready within {within}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

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


def wait_for(condition, within: float = 30.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {within}s (last: {result!r})")
        time.sleep(0.05)
