"""Fail fast while PostgreSQL is unreachable, and notice by ourselves when it is back.

Without this, a request that meets a database that went away waits for a
pooled connection (``WMS_INTAKE_DB_CONNECT_TIMEOUT``) on each of the
library's ten attempts: 12 to 52 seconds before its 503. With it:

- A connection that fails (it can't be had, or it broke under a statement)
  is followed by one quick probe: a fresh connection of our own. When the
  probe gets through, the database is there (a single backend was killed, a
  reply was lost) and the caller's retries go on as before.
- When the probe fails too, the gate opens: from then on every connection
  request fails at once with ``DatabaseUnreachableError`` (a 503 with
  ``Retry-After``), which the library's retry loops do not catch.
- At most every ``probe_interval`` seconds one caller probes again; when the
  probe gets through, the gate closes, the pool drops its dead connections,
  and that caller goes on. Nothing needs restarting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from application.errors import ServiceUnavailableError

PROBE_INTERVAL = 0.5
#: libpq's smallest connect timeout (it raises anything below to 2 s).
PROBE_CONNECT_TIMEOUT = 2


class DatabaseUnreachableError(ServiceUnavailableError):
    def __init__(self) -> None:
        super().__init__("the database is unavailable; retry shortly", retry_after=1)


class DatabaseGate:
    def __init__(
        self,
        connect: Callable[[], AbstractContextManager[Any]],
        probe: Callable[[], bool],
        on_recovery: Callable[[], None] = lambda: None,
        probe_interval: float = PROBE_INTERVAL,
    ) -> None:
        self._connect = connect
        self._probe = probe
        self._on_recovery = on_recovery
        self.probe_interval = probe_interval
        self._lock = threading.Lock()
        self._probing = threading.Lock()
        self.down_since: float | None = None
        self._next_probe = 0.0
        self.openings = 0

    @property
    def is_open(self) -> bool:
        return self.down_since is not None

    @contextmanager
    def connection(self) -> Iterator[Any]:
        self._admit()
        acquired: Any = None
        try:
            with self._connect() as conn:
                acquired = conn
                yield conn
        except (OperationalError, InterfaceError):
            if acquired is None or getattr(acquired, "broken", False) or getattr(acquired, "closed", False):
                self._after_connection_failure()
            raise

    def _admit(self) -> None:
        if self.down_since is None:
            return
        if time.monotonic() < self._next_probe or not self._probing.acquire(blocking=False):
            raise DatabaseUnreachableError()
        try:
            if self.down_since is None:
                return
            if not self._probe():
                self._next_probe = time.monotonic() + self.probe_interval
                raise DatabaseUnreachableError()
            self.down_since = None
            self._on_recovery()
        finally:
            self._probing.release()

    def _after_connection_failure(self) -> None:
        with self._probing:
            if self.down_since is not None:
                return
            if not self._probe():
                now = time.monotonic()
                self.down_since, self._next_probe = now, now + self.probe_interval
                self.openings += 1


def install(datastore: Any) -> DatabaseGate:
    """Put a gate in front of every connection the eventsourcing datastore hands out."""
    params = {k: v for k, v in datastore.pool.kwargs.items() if k in ("dbname", "host", "port", "user", "password")}

    def probe() -> bool:
        try:
            with psycopg.connect(**params, connect_timeout=PROBE_CONNECT_TIMEOUT) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def recovered() -> None:
        # Connections the outage broke are dropped now, not one failure at a time.
        with suppress(psycopg.Error):
            datastore.pool.check()

    gate = DatabaseGate(datastore.get_connection, probe, recovered)
    # The datastore's own transaction() and every recorder call go through this attribute.
    datastore.get_connection = gate.connection
    return gate
