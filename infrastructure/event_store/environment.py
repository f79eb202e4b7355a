"""Event-store wiring: the eventsourcing environment for SQLite or PostgreSQL.

The environment is built explicitly from our settings (the library would
otherwise default silently to an in-memory store, or pick up stray
variables). ``POSTGRES_ENABLE_DB_FUNCTIONS`` is never set: in 9.5.6 it makes
applications sharing a schema write into each other's table.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from infrastructure.event_store.lean_insert import RECORDER_TOPIC
from infrastructure.event_store.sqlite_recorder import RECORDER_TOPIC as SQLITE_RECORDER_TOPIC
from infrastructure.settings import DEFAULT_SQLITE_DIR, Settings, SettingsError


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
