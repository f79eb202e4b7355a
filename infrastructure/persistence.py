"""Event-store wiring: the eventsourcing environment for SQLite or PostgreSQL.

The environment is built explicitly from our settings (the library would
otherwise default silently to an in-memory store, or pick up stray
variables). ``POSTGRES_ENABLE_DB_FUNCTIONS`` is never set: in 9.5.6 it makes
applications sharing a schema write into each other's table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.aggregate_cache import AggregateCache
from application.intake_app import IntakeApplication
from infrastructure.db_gate import install as install_gate
from infrastructure.event_positions import SqlEventPositions
from infrastructure.pg_arrays import array_literal
from infrastructure.postgres_recorder import RECORDER_TOPIC
from infrastructure.sqlite_recorder import RECORDER_TOPIC as SQLITE_RECORDER_TOPIC
from infrastructure.settings import DEFAULT_SQLITE_DIR, Settings, SettingsError
from infrastructure.sql import Database

# SQLite's default limit on bound parameters is 32766 on current builds but
# 999 on old ones: stay below the old limit (two parameters per id).
SQLITE_CHUNK = 450


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    if settings.is_postgres:
        return _postgres_env(settings)
    path = settings.sqlite_path
    if not path.parent.is_dir():
        # Only the default's own directory is made: any other missing
        # directory is more likely a typo than a wish for a new tree.
        if path.parent != DEFAULT_SQLITE_DIR:
            raise SettingsError(
                f"the directory of the SQLite database ({path.parent}) does not exist: "
                "create it, or fix WMS_INTAKE_DATABASE_URL"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": SQLITE_RECORDER_TOPIC,
        "CREATE_TABLE": "y",
    }


def _postgres_env(settings: Settings) -> dict[str, str]:
    url = urlsplit(settings.database_url)
    query = parse_qs(url.query)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
        "POSTGRES_POOL_SIZE": str(settings.db_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.db_max_overflow),
        # How long a request waits for a connection before it gets a 503.
        "POSTGRES_CONNECT_TIMEOUT": str(settings.db_connect_timeout),
        # Off by default: a ping on every checkout costs a round trip per
        # query. A connection found dead (a restart, a killed backend) fails
        # its statement, is discarded by the pool, and the library retries.
        "POSTGRES_PRE_PING": "y" if settings.db_pre_ping else "",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "",
        "APPLICATION_RECORDER_TOPIC": RECORDER_TOPIC,
        "CREATE_TABLE": "y",
    }


def open_event_store(settings: Settings) -> tuple[IntakeApplication, Database]:
    """The application on its event store, and the SQL handle for read models."""
    app = IntakeApplication(env=eventsourcing_env(settings))
    app.aggregate_cache = AggregateCache(max_items=settings.aggregate_cache_size)
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    if settings.is_postgres:
        # Every route answers 503 at once while the database is unreachable.
        install_gate(datastore)
        db = Database(datastore, "postgres", schema=datastore.schema)
    else:
        db = Database(datastore, "sqlite")
    app.bulk_reader = SqlBulkEventReader(db, app.recorder.events_table_name)  # type: ignore[attr-defined]
    app.event_positions = SqlEventPositions(db, app.recorder.events_table_name)  # type: ignore[attr-defined]
    return app, db


class SqlBulkEventReader:
    """All stored events of many aggregates in one query (chunked on SQLite).

    The library has no bulk ``get``: 1,000 orders would be 1,000 queries.
    """

    def __init__(self, db: Database, events_table: str) -> None:
        self.db = db
        self.table = db.table(events_table)

    def select_events_of(
        self, originator_ids: Iterable[UUID], after: Mapping[UUID, int] | None = None
    ) -> dict[UUID, list[StoredEvent]]:
        ids = list(dict.fromkeys(originator_ids))  # an id twice would join twice
        after = after or {}
        found: dict[UUID, list[StoredEvent]] = defaultdict(list)
        if not ids:
            return found
        if self.db.dialect == "postgres":
            # Each id with the version already known (0: none). The ANY
            # lets the planner read the ids in one scan of the primary key;
            # a join alone is planned as one index probe per id, which is slower.
            id_array = array_literal(ids)
            rows = self.db.query(
                "SELECT e.originator_id, e.originator_version, e.topic, e.state "
                f"FROM {self.table} e JOIN unnest(%s::uuid[], %s::bigint[]) AS known(id, version) "
                "ON e.originator_id = known.id "
                "WHERE e.originator_id = ANY(%s::uuid[]) AND e.originator_version > known.version "
                "ORDER BY e.originator_id, e.originator_version",
                (id_array, array_literal([after.get(i, 0) for i in ids]), id_array),
                # Prepared, it gets a generic plan after five runs that knows
                # nothing of the arrays' sizes, and that plan is slow for big batches.
                prepare=False,
            )
        else:
            select = f"SELECT originator_id, originator_version, topic, state FROM {self.table} "
            rows = []
            for start in range(0, len(ids), SQLITE_CHUNK):
                chunk = ids[start : start + SQLITE_CHUNK]
                # Only the versions after the known one come back (each id's own bound).
                bounds = " OR ".join(["(originator_id = %s AND originator_version > %s)"] * len(chunk))
                rows.extend(
                    self.db.query(
                        select + f"WHERE {bounds} ORDER BY originator_id, originator_version",
                        [value for i in chunk for value in (i.hex, after.get(i, 0))],
                    )
                )
        for row in rows:
            oid = row["originator_id"]
            key = oid if isinstance(oid, UUID) else UUID(oid)
            found[key].append(
                StoredEvent(
                    originator_id=key,
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
            )
        return found
