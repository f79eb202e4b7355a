"""Helpers of the reliability suite: fault injection on PostgreSQL, event-store reads.

Tests marked ``disruptive`` stop the shared PostgreSQL server for a few
seconds; the hook below runs them after every other test of the session.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from interfaces.container import Container
from tests.support.settings import POSTGRES_ON, POSTGRES_URL
from tests.support.waits import wait_until

postgres_only = pytest.mark.skipif(not POSTGRES_ON, reason="needs PostgreSQL (WMS_INTAKE_TEST_POSTGRES=off)")
on_postgres = pytest.mark.parametrize("store", ["postgres"], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Disruptive tests last: the others (of every directory) keep their order."""
    disruptive = [item for item in items if item.get_closest_marker("disruptive")]
    if disruptive:
        items[:] = [item for item in items if not item.get_closest_marker("disruptive")] + disruptive


# ---------------------------------------------------------------------- PostgreSQL faults


@contextmanager
def admin_connection() -> Iterator[psycopg.Connection[Any]]:
    """A connection of our own, outside the service's pool (it survives the kills)."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        yield conn


def schema_of(container: Container) -> str:
    schema = container.db.schema
    assert schema, "a PostgreSQL container"
    return schema


def busy_backends(conn: psycopg.Connection[Any], schema: str, fragments: tuple[str, ...]) -> list[tuple[int, str]]:
    """Backends of ``schema`` inside a statement or a transaction whose last
    statement mentions one of ``fragments`` (only this test's schema: other
    tests share the server)."""
    rows = conn.execute(
        "SELECT pid, query FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
        "AND state IN ('active', 'idle in transaction') AND position(%s in query) > 0",
        (f'"{schema}".',),
    ).fetchall()
    return [(pid, query) for pid, query in rows if any(f in query for f in fragments)]


@dataclass
class BackendKiller:
    """Terminates backends of one schema that run a matching statement.

    ``limit`` kills at most, then stops; ``None`` keeps killing until stopped.
    """

    schema: str
    fragments: tuple[str, ...]
    limit: int | None = 1
    kills: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> BackendKiller:
        self._thread = threading.Thread(target=self._run, name="backend-killer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def wait_for_kills(self, count: int, within: float) -> bool:
        try:
            wait_until(lambda: len(self.kills) >= count, within, f"{count} kills", every=0.01)
        except AssertionError:
            return False
        return True

    def _run(self) -> None:
        with admin_connection() as conn:
            while not self._stop.is_set():
                for pid, query in busy_backends(conn, self.schema, self.fragments):
                    if conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]:
                        self.kills.append(query.strip()[:60])
                    if self.limit is not None and len(self.kills) >= self.limit:
                        return
                time.sleep(0.002)


def pg_cluster(action: str) -> None:
    """Stop or start the local PostgreSQL cluster (``pg_ctlcluster``)."""
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            version,
            "main",
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def wait_for_postgres(within: float = 30.0) -> None:
    def answers() -> bool:
        try:
            with admin_connection() as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    wait_until(answers, within, "PostgreSQL answering", every=0.1)


# ---------------------------------------------------------------------- the event store


@dataclass(frozen=True)
class Stored:
    id: int
    topic: str
    state: bytes


def stored_since(container: Container, position: int = 0) -> list[Stored]:
    """Every event recorded after notification ``position``, in order."""
    found: list[Stored] = []
    recorder = container.use_cases.recorder
    while True:
        page = recorder.select_notifications(start=position, limit=2000, inclusive_of_start=False)
        if not page:
            return found
        found.extend(Stored(n.id, n.topic, bytes(n.state)) for n in page)
        position = page[-1].id


def last_position(container: Container) -> int:
    return container.use_cases.recorder.max_notification_id() or 0


def topics_since(container: Container, position: int) -> list[str]:
    return [s.topic for s in stored_since(container, position)]


def count_topic(container: Container, topic: str, tenant_id: str | None = None) -> int:
    """How many events of ``topic`` (of one tenant, when given) the store holds."""
    return sum(
        1 for s in stored_since(container) if s.topic == topic and (tenant_id is None or tenant_id.encode() in s.state)
    )


def read_models_equal_a_rebuild(container: Container) -> dict[str, bool]:
    """Stop the background, then compare every read model with a replay from position 0."""
    container.stop_background()
    container.catch_up()
    result = {}
    for name, view in container.views.items():
        before = view.dump()
        container.rebuild(name)
        result[name] = view.dump() == before
    return result


def routes_of(app: Any, fill: dict[str, str], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route under ``prefix``, path parameters taken
    from ``fill`` (a random id when absent); static files left out."""
    routes = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        template = info.get("formatter") or info.get("path")
        if template is None or route.method == "HEAD" or not template.startswith(prefix):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: fill.get(m.group(1), str(uuid.uuid4())), template)
        routes.append((route.method if route.method != "*" else "GET", path))
    return routes


# ---------------------------------------------------------------------- a cuttable link to PostgreSQL


class CuttableLink:
    """A TCP relay on 127.0.0.1 in front of PostgreSQL that can be cut and restored.

    Cut: every relayed connection is closed and new ones are refused, as when
    the database host goes away. Only the service under test connects through
    it, so cutting it disturbs no other test using the shared server.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.open()

    def url(self, schema: str) -> str:
        parts = urlsplit(POSTGRES_URL)
        netloc = parts.netloc.rsplit("@", 1)
        auth = netloc[0] + "@" if len(netloc) == 2 else ""
        return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{self.port}", query=f"schema={schema}"))

    def open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        self.open()

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._sockets.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def postgres_address() -> tuple[str, int]:
    parts = urlsplit(POSTGRES_URL)
    return parts.hostname or "127.0.0.1", parts.port or 5432


@pytest.fixture
def link() -> Iterator[CuttableLink]:
    """A cuttable link to the test PostgreSQL, for one test."""
    relay = CuttableLink(postgres_address())
    yield relay
    relay.close()
