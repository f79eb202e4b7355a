"""Leases for background jobs: PostgreSQL session advisory locks, or none (SQLite).

Policy: with several processes on one PostgreSQL, each projection follower
runs in exactly one of them. A lease is a session-level advisory lock held on
a dedicated connection (outside the pool, so no request ever borrows it):
while the connection lives, no other session can take the lock; when the
holder stops it unlocks, and when it dies PostgreSQL ends the session and
frees the lock, so a standby takes over on its next try. Lock keys are
derived from the schema and the lease's name, because advisory locks are
per database and several deployments (or test schemas) may share one.

A lease makes the work exclusive; it is not what makes it correct: each batch
still moves the view's tracking position from the value it read, so even two
holders (a lost connection noticed late) never apply an event twice.

SQLite has a single process by design: its lease is always held.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import psycopg

from application.ports import Lease
from infrastructure.event_store import eventsourcing_env
from infrastructure.settings import Settings

log = logging.getLogger(__name__)


class LocalLease:
    """The lease of a single-process store: always held."""

    def __init__(self, name: str) -> None:
        self.name = name

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        """Nothing to give up."""


class PostgresAdvisoryLease:
    """A session advisory lock on its own connection, opened on first use and
    kept while standing by (asking again costs a query, not a new connection)."""

    def __init__(self, name: str, conninfo: dict[str, Any], scope: str) -> None:
        self.name = name
        self.key = lock_key(scope, name)
        self._conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None
        self._locked = False

    @property
    def held(self) -> bool:
        return self._locked

    def acquire(self) -> bool:
        try:
            if self._conn is None:
                self._conn = psycopg.connect(**self._conninfo, autocommit=True)
            if self._locked:
                # Still ours only while the session lives: a cheap round trip proves it.
                self._conn.execute("SELECT 1")
                return True
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            self._locked = bool(row and row[0])
            if self._locked:
                log.info("lease %s taken", self.name)
            return self._locked
        except psycopg.Error as error:
            # The connection (or the database) went away: the lock went with it.
            if self._locked:
                log.warning("lease %s lost (%s)", self.name, type(error).__name__)
            self._drop()
            return False

    def release(self) -> None:
        if self._conn is not None and self._locked:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
                log.info("lease %s released", self.name)
            except psycopg.Error:
                pass  # closing the session below frees the lock all the same
        self._drop()

    def _drop(self) -> None:
        conn, self._conn, self._locked = self._conn, None, False
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()


def lock_key(scope: str, name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` within ``scope``."""
    digest = hashlib.sha256(f"wms-intake:{scope}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """Held while a process creates its tables: ``CREATE TABLE IF NOT EXISTS``
    run by two processes at once (``serve`` and ``worker`` started together)
    can fail on PostgreSQL's catalog unique index; one at a time, it can't."""
    if not settings.is_postgres:
        yield
        return
    conninfo = _conninfo(settings, "schema")
    key = lock_key(conninfo.pop("scope"), "schema")
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def projection_lease(settings: Settings, name: str) -> Lease:
    """The lease of the projection follower ``name`` for this store."""
    if not settings.is_postgres:
        return LocalLease(f"projection:{name}")
    conninfo = _conninfo(settings, name)
    return PostgresAdvisoryLease(f"projection:{name}", conninfo, scope=conninfo.pop("scope"))


def _conninfo(settings: Settings, name: str) -> dict[str, Any]:
    env = eventsourcing_env(settings)
    return {
        "host": env["POSTGRES_HOST"],
        "port": int(env["POSTGRES_PORT"]),
        "dbname": env["POSTGRES_DBNAME"],
        "user": env["POSTGRES_USER"],
        "password": env["POSTGRES_PASSWORD"],
        "connect_timeout": int(env["POSTGRES_CONNECT_TIMEOUT"]),
        # A holder whose server vanished finds out within a minute, not hours.
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "application_name": f"wms-intake lease {name}",
        "scope": env["POSTGRES_SCHEMA"],
    }
