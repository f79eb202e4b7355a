"""A thin, dialect-aware SQL helper over the event store's own connection pool.

Read models live in the same database as the events and reuse the
eventsourcing datastore's pool (psycopg pool / SQLite connections), so a
deployment has one pool to size and one database to back up. SQL is written
once with ``%s`` placeholders; the SQLite flavour rewrites them to ``?``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Literal

from eventsourcing.persistence import InterfaceError, OperationalError

Dialect = Literal["sqlite", "postgres"]


class SqlCursor:
    """Executes statements inside one transaction; rows come back as dicts."""

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self._raw = raw
        self._dialect = dialect

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    def _sql(self, statement: str) -> str:
        return statement.replace("%s", "?") if self._dialect == "sqlite" else statement

    def execute(self, statement: str, params: Sequence[Any] = (), *, prepare: bool | None = None) -> int:
        """Run a statement; return the number of rows it changed. ``prepare=False``
        (PostgreSQL) plans it afresh for its values every time."""
        if prepare is None or self._dialect == "sqlite":
            self._raw.execute(self._sql(statement), tuple(params))
        else:
            self._raw.execute(self._sql(statement), tuple(params), prepare=prepare)
        return int(self._raw.rowcount)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._raw.executemany(self._sql(statement), [tuple(r) for r in rows])

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self._raw.fetchall()]

    def fetchone(self) -> dict[str, Any] | None:
        row = self._raw.fetchone()
        return dict(row) if row is not None else None


class Database:
    """The SQL side of one event store: its dialect, schema and transactions."""

    def __init__(self, datastore: Any, dialect: Dialect, schema: str | None = None) -> None:
        self.datastore = datastore
        self.dialect = dialect
        self.schema = schema if dialect == "postgres" else None

    def table(self, name: str) -> str:
        return f'"{self.schema}"."{name}"' if self.schema else name

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[SqlCursor]:
        """One committed transaction (rolled back on any exception).

        ``durable=False`` (PostgreSQL) commits without waiting for the WAL
        flush: for read models, whose rows and tracking position are lost or
        kept together in a crash and are then simply re-applied from the
        event store. Events themselves are always committed durably.
        """
        with self.datastore.transaction(commit=True) as raw:
            cursor = SqlCursor(self._unwrap(raw), self.dialect)
            if not durable and self.dialect == "postgres":
                cursor.execute("SET LOCAL synchronous_commit = off")
            yield cursor

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        """One write statement, committed on its own; the number of rows it changed.

        On PostgreSQL the autocommit connection runs it as its own transaction:
        one round trip instead of BEGIN, the statement and COMMIT.
        """
        if self.dialect == "postgres":
            with self.datastore.get_connection() as conn, conn.cursor() as raw:
                return SqlCursor(raw, self.dialect).execute(statement, params)
        with self.transaction() as cursor:
            return cursor.execute(statement, params)

    def query(self, statement: str, params: Sequence[Any] = (), *, prepare: bool | None = None) -> list[dict[str, Any]]:
        """Rows of one read-only statement; retried once after a dead connection.

        Connections are not pinged before use (a round trip per query). When
        one turns out dead (a database restart, a killed backend), every idle
        connection of the pool is checked, the dead ones are dropped, and the
        read is tried once more on a live one.
        """
        try:
            return self._query(statement, params, prepare)
        except (InterfaceError, OperationalError):
            if self.dialect != "postgres":
                raise
            self.datastore.pool.check()
            return self._query(statement, params, prepare)

    def _query(self, statement: str, params: Sequence[Any], prepare: bool | None) -> list[dict[str, Any]]:
        # PostgreSQL connections are in autocommit mode: a lone SELECT needs no
        # BEGIN/ROLLBACK around it (two round trips saved on every read).
        if self.dialect == "postgres":
            with self.datastore.get_connection() as conn, conn.cursor() as raw:
                cursor = SqlCursor(raw, self.dialect)
                cursor.execute(statement, params, prepare=prepare)
                return cursor.fetchall()
        with self.datastore.transaction(commit=False) as raw:
            cursor = SqlCursor(self._unwrap(raw), self.dialect)
            cursor.execute(statement, params)
            return cursor.fetchall()

    def query_one(self, statement: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.query(statement, params)
        return rows[0] if rows else None

    def _unwrap(self, raw: Any) -> Any:
        # eventsourcing wraps sqlite3 cursors; psycopg cursors come as they are.
        return getattr(raw, "sqlite_cursor", raw)


class SqlTable:
    """A store kept in tables of its own beside the event store's: ``NAME`` is
    the table, ``COLUMNS`` its columns and keys, ``INDEXES`` extra
    ``CREATE INDEX`` statements (``{table}`` stands for the table)."""

    NAME: ClassVar[str]
    COLUMNS: ClassVar[str]
    INDEXES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = db.table(self.NAME)

    def create_table(self) -> None:
        with self.db.transaction() as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({self.COLUMNS})")
            for index in self.INDEXES:
                cursor.execute(index.format(table=self.table))
