"""``wms-intake serve --processes N``: N HTTP processes on one port, and one worker.

Python runs one request at a time per interpreter, so one process uses one
core. The supervisor starts N ``serve --no-worker`` children that all listen
on the same port (``SO_REUSEPORT``: the kernel spreads new connections over
them) and one ``worker`` child for the background work (read models,
geocoding, scheduled pulls), which must run once. It restarts a child that
dies (after a back-off that grows while it keeps dying), forwards SIGTERM and
SIGINT (each child stops accepting, finishes the requests it has, and exits)
and exits when they have.

Metrics: every child writes its counters to files in a directory the
supervisor owns (prometheus-client's multiprocess mode), and any child's
``/metrics`` sums them all, dead children's included (counters never go back).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: The directory prometheus-client's multiprocess mode writes to (read at its import).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: A restarted child waits this long first, doubled after each quick death, up to the cap.
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
#: A child that ran this long before dying is restarted at once (its back-off is reset).
HEALTHY_RUN_SECONDS = 30.0
#: How long the children get to finish their requests after SIGTERM before they are killed.
DRAIN_SECONDS = 70.0


def default_processes(is_postgres: bool) -> int:
    """The number of cores on PostgreSQL; 1 on SQLite (one writer: more processes only queue on its lock)."""
    if not is_postgres:
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    backoff: float = BACKOFF_FIRST_SECONDS
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    """Starts the children, restarts the ones that die, and stops them all on a signal."""

    children: list[Child]
    env: dict[str, str]
    say: Callable[[str], None]
    stopping: bool = field(default=False)

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, env=self.env, preexec_fn=_die_with_parent)
        child.started = time.monotonic()
        child.restart_at = None

    def tend(self) -> None:
        """Restart the children that died (each after its back-off)."""
        now = time.monotonic()
        for child in self.children:
            assert child.process is not None
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._spawn(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            if now - child.started >= HEALTHY_RUN_SECONDS:
                child.backoff = BACKOFF_FIRST_SECONDS
            self.say(
                f"wms-intake: {child.name} (pid {child.process.pid}) exited with {code}; restarting in {child.backoff:.1f}s"
            )
            child.restart_at = now + child.backoff
            child.backoff = min(BACKOFF_MAX_SECONDS, child.backoff * 2)

    def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        """SIGTERM to every child (each drains its requests), then wait; kill what outlives the drain."""
        self.stopping = True
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + drain_seconds
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _die_with_parent() -> None:
    # Linux: a child gets SIGTERM when the supervisor dies, even by SIGKILL,
    # so no child outlives it (and holds the port). Elsewhere: best effort.
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def child_argv(command: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "interfaces.cli", command, *extra]


def run_supervisor(
    *, host: str, port: int, processes: int, with_worker: bool, banner: list[str], say: Callable[[str], None]
) -> int:
    """Run until SIGTERM or SIGINT; 0 once every child has stopped."""
    metrics_dir = tempfile.mkdtemp(prefix="wms-intake-metrics-")
    env = dict(os.environ)
    env[MULTIPROC_ENV] = metrics_dir
    # The children find this package the way this process did.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH")) if p)
    children = [
        Child(
            f"serve[{n}]",
            child_argv(
                "serve",
                "--processes",
                "1",
                "--no-worker",
                "--reuse-port",
                "--quiet",
                "--share-of",
                str(processes),
                "--host",
                host,
                "--port",
                str(port),
            ),
        )
        for n in range(processes)
    ]
    if with_worker:
        children.append(Child("worker", child_argv("worker")))
    supervisor = Supervisor(children, env, say)
    stop_requested: list[int] = []

    def request_stop(signum: int, _: object) -> None:
        stop_requested.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        supervisor.start()
        announced = False
        while not stop_requested:
            supervisor.tend()
            if not announced and _healthy(host, port):
                say("\n".join(banner))
                announced = True
            time.sleep(0.1)
        say(f"wms-intake: stopping {len(children)} processes (in-flight requests finish first)")
        supervisor.stop()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _healthy(host: str, port: int) -> bool:
    target = f"[{host}]" if ":" in host else ("127.0.0.1" if host in ("0.0.0.0", "") else host)
    try:
        with urllib.request.urlopen(f"http://{target}:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _package_root() -> str:
    import interfaces

    return os.path.dirname(os.path.dirname(os.path.abspath(interfaces.__file__)))


def share_rate_limit(settings: Any, share_of: int) -> None:
    """One of ``share_of`` processes: with ``WMS_INTAKE_RATE_LIMIT_DIVIDE_BY_PROCESSES``,
    each gets 1/N of the per-tenant rate and burst, so the configured figures bound
    the whole machine (a client on one keep-alive connection then gets 1/N).
    Otherwise the limit is each process's own."""
    if share_of > 1 and settings.rate_limit_divide_by_processes:
        settings.rate_limit_per_second = settings.rate_limit_per_second / share_of
        settings.rate_limit_burst = max(1, settings.rate_limit_burst // share_of)
