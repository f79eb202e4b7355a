"""Shared machinery of tracked views: tracking rows, batched writes, reset."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from application.read_models import TrackingConflictError
from infrastructure.event_store import array_literal
from infrastructure.sql import Database, SqlCursor


class BatchedWriter:
    """Buffers rows of the same statement into one ``executemany`` (or one bulk
    statement on PostgreSQL).

    Each table keeps the order of its writes: a row for a table whose pending
    rows belong to another statement flushes those first, so an update never
    runs before the insert it depends on. Writes to different tables (which
    share no keys or constraints) may be grouped out of order: a batch of new
    orders alternates customer, order, location, and is written as three statements.
    """

    def __init__(self, cursor: SqlCursor) -> None:
        self.cursor = cursor
        #: table -> (statement, bulk statement, key index, rows), in the order first written.
        self._pending: dict[str | None, tuple[str, str | None, int, list[Sequence[Any]]]] = {}

    def add(self, statement: str, row: Sequence[Any], *, bulk: str | None = None, key: int = 0) -> None:
        """Buffer one row of ``statement``. ``bulk`` (PostgreSQL) is the same
        write for many rows at once, taking one array literal per column;
        ``row[key]`` is the key of the row it writes."""
        table = _table_of(statement)
        pending = self._pending.get(table)
        if pending is None or pending[0] != statement:
            if table is None:
                self.flush()  # a statement we cannot place keeps everything in order
            elif pending is not None:
                self._write(*self._pending.pop(table))
            pending = self._pending[table] = (statement, bulk, key, [])
        pending[3].append(row)

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for statement, bulk, key, rows in pending.values():
            self._write(statement, bulk, key, rows)

    def _write(self, statement: str, bulk: str | None, key: int, rows: list[Sequence[Any]]) -> None:
        if not rows:
            return
        # Rows naming one key twice keep one statement each: one upsert (or
        # update) may not touch a row twice, and a later row must see the earlier.
        if bulk and self.cursor.dialect == "postgres" and len({r[key] for r in rows}) == len(rows):
            self.cursor.execute(bulk, [array_literal(column) for column in zip(*rows, strict=True)])
        else:
            self.cursor.executemany(statement, rows)


_TABLE = re.compile(r"^\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+(\S+)", re.IGNORECASE)


def _table_of(statement: str) -> str | None:
    matched = _TABLE.match(statement)
    return matched.group(1) if matched else None


class SqlTrackedView:
    """A read model whose rows and tracking position move in one transaction."""

    name: str = ""
    tables: tuple[str, ...] = ()
    #: The shape of this read model: raise it whenever ``ddl()`` or what the
    #: projection writes changes. A store whose tables have another version is
    #: rebuilt beside them and swapped in (infrastructure/read_models/upgrade.py).
    version: int = 1

    def __init__(self, db: Database) -> None:
        self.db = db
        self.tracking = db.table("projection_tracking")
        #: The tracking row of these tables (another for a table being built beside them).
        self.tracking_name = self.name

    # ---------------------------------------------------------------- schema

    def ddl(self) -> list[str]:
        """CREATE statements of this view's tables and indexes."""
        raise NotImplementedError

    def create_tables(self) -> None:
        """Create the tables of this version, unless the store holds another
        version's (then they are left alone until the upgrade swaps them)."""
        from infrastructure.read_models.upgrade import prepare_versioned

        prepare_versioned(self)

    def create_current_tables(self) -> None:
        with self.db.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self.tracking} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            # The tracking row before the tables: a follower in another process
            # moves that row first, then writes the tables. Were the tables
            # locked here first (an existing index's CREATE INDEX IF NOT EXISTS
            # takes a SHARE lock), each would wait for the other: a deadlock.
            cursor.execute(
                f"INSERT INTO {self.tracking} (name, position) VALUES (%s, 0) ON CONFLICT (name) DO NOTHING",
                (self.tracking_name,),
            )
            for statement in self.ddl():
                cursor.execute(statement)

    # ---------------------------------------------------------------- tracking

    def position(self) -> int:
        row = self.db.query_one(f"SELECT position FROM {self.tracking} WHERE name = %s", (self.tracking_name,))
        return int(row["position"]) if row else 0

    @contextmanager
    def batch(self, expected: int, new: int) -> Iterator[Any]:
        with self.db.transaction(durable=False) as cursor:
            # The tracking move comes first: it takes the write lock at once
            # (SQLite) and loses early if another process already moved on.
            moved = cursor.execute(
                f"UPDATE {self.tracking} SET position = %s WHERE name = %s AND position = %s",
                (new, self.tracking_name, expected),
            )
            if moved != 1:
                raise TrackingConflictError(self.name)
            writer = self.writer(cursor)
            yield writer
            writer.flush()

    def advance(self, expected: int, new: int) -> None:
        moved = self.db.execute(
            f"UPDATE {self.tracking} SET position = %s WHERE name = %s AND position = %s",
            (new, self.tracking_name, expected),
        )
        if moved != 1:
            raise TrackingConflictError(self.name)

    def writer(self, cursor: SqlCursor) -> Any:
        raise NotImplementedError

    def reset(self) -> None:
        from infrastructure.read_models.upgrade import recreate_if_other_version

        if recreate_if_other_version(self):
            return
        with self.db.transaction() as cursor:
            for table in self.tables:
                cursor.execute(f"DELETE FROM {self.db.table(table)}")
            cursor.execute(f"UPDATE {self.tracking} SET position = 0 WHERE name = %s", (self.tracking_name,))

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table, in a stable order (to compare rebuilds)."""
        return {table: self.db.query(f"SELECT * FROM {self.db.table(table)} ORDER BY 1") for table in self.tables}


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any] | None:
    """The values of a page cursor, or None when it is not one of ours."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(values, list) or len(values) != size or not storable(*values):
        return None
    return values


def storable(*values: Any) -> bool:
    """Whether every text value could be stored: PostgreSQL text holds no U+0000
    (the driver refuses it as a parameter), so a key with one names no row."""
    return not any(isinstance(v, str) and "\x00" in v for v in values)
