"""How hard the SQLite event store's connections wait for the disk at each commit.

The library opens the database in WAL mode and leaves ``synchronous`` at
SQLite's default, FULL: every commit waits for the write-ahead log to reach
the disk (an fsync), which for the webhook's small transactions costs far
more than the insert. With ``synchronous=NORMAL`` in WAL mode a commit is
written to the log without waiting for the disk; the log is synced at
checkpoints.

What that keeps: a committed transaction survives a crash of the service
(the log was written before COMMIT returned; the operating system writes it
out), and the database is never corrupted. What it gives up: after a power
loss or an operating-system crash, the last transactions committed before it
may be rolled back. PostgreSQL deployments keep their own settings: this is
the embedded store's trade.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.sqlite import SQLiteDatastore

SYNCHRONOUS = "NORMAL"


def commit_without_waiting_for_the_disk(datastore: SQLiteDatastore) -> None:
    """Every connection ``datastore`` opens from now on uses ``synchronous=NORMAL``."""
    if datastore.pool.is_sqlite_memory_mode or getattr(datastore.pool, "_synchronous_set", False):
        return  # no log to sync; or already done for this pool
    create = datastore.pool._create_connection

    def create_connection() -> Any:
        connection = create()
        # Outside any transaction: SQLite refuses to change it inside one.
        connection._sqlite_conn.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
        return connection

    datastore.pool._create_connection = create_connection  # type: ignore[method-assign]  # the library's pool has no hook for this
    datastore.pool._synchronous_set = True  # type: ignore[attr-defined]  # our own mark on the pool: done once
