"""The event store and everything that makes it fast, behind the application's ports.

Other packages import only what this module exports; the rest is private
to the package.

Private eventsourcing API used here, each for speed on the hot path of a
batch, and kept in this package only: the recorders override the library's
``_insert_events``/``insert_events`` (array inserts, version claims), the
aggregate cache restores aggregates through their ``__dict__`` (no replay),
and ``load_many`` replays events with ``mutate`` directly (no per-event
runtime Protocol check). An upgrade of the library is checked with the bench.
"""

from __future__ import annotations

from typing import Any

from infrastructure.db_gate import install as install_gate
from infrastructure.event_store.environment import eventsourcing_env
from infrastructure.event_store.pg_arrays import array_literal
from infrastructure.event_store.positions import SqlEventPositions
from infrastructure.event_store.store import EventStore
from infrastructure.settings import Settings
from infrastructure.sql import Database

__all__ = ["EventStore", "SqlEventPositions", "array_literal", "eventsourcing_env", "open_event_store"]


def open_event_store(settings: Settings) -> tuple[EventStore, Database]:
    """The event store, and the SQL handle for read models on the same database."""

    def sql(recorder: Any) -> Database:
        datastore = recorder.datastore
        if settings.is_postgres:
            # Every route answers 503 at once while the database is unreachable.
            install_gate(datastore)
            return Database(datastore, "postgres", schema=datastore.schema)
        return Database(datastore, "sqlite")

    store = EventStore(eventsourcing_env(settings), aggregate_cache_size=settings.aggregate_cache_size, sql=sql)
    assert store.db is not None
    return store, store.db
