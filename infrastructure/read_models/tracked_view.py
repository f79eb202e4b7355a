"""Shared machinery of tracked views: tracking rows, batched writes, reset."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from application.read_models import TrackingConflictError
from infrastructure.sql import Database, SqlCursor


class BatchedWriter:
    """Buffers consecutive statements of the same text into one ``executemany``.

    Rows keep their order: the buffer flushes whenever the statement changes,
    so an update never runs before the insert it depends on.
    """

    def __init__(self, cursor: SqlCursor) -> None:
        self.cursor = cursor
        self._statement: str | None = None
        self._rows: list[Sequence[Any]] = []

    def add(self, statement: str, row: Sequence[Any]) -> None:
        if statement != self._statement:
            self.flush()
            self._statement = statement
        self._rows.append(row)

    def flush(self) -> None:
        if self._statement is not None and self._rows:
            self.cursor.executemany(self._statement, self._rows)
        self._statement = None
        self._rows = []


class SqlTrackedView:
    """A read model whose rows and tracking position move in one transaction."""

    name: str = ""
    tables: tuple[str, ...] = ()

    def __init__(self, db: Database) -> None:
        self.db = db
        self.tracking = db.table("projection_tracking")

    # ---------------------------------------------------------------- schema

    def ddl(self) -> list[str]:
        """CREATE statements of this view's tables and indexes."""
        raise NotImplementedError

    def create_tables(self) -> None:
        with self.db.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self.tracking} "
                "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            for statement in self.ddl():
                cursor.execute(statement)
            cursor.execute(
                f"INSERT INTO {self.tracking} (name, position) VALUES (%s, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (self.name,),
            )

    # ---------------------------------------------------------------- tracking

    def position(self) -> int:
        row = self.db.query_one(f"SELECT position FROM {self.tracking} WHERE name = %s", (self.name,))
        return int(row["position"]) if row else 0

    @contextmanager
    def batch(self, expected: int, new: int) -> Iterator[Any]:
        with self.db.transaction(durable=False) as cursor:
            # The tracking move comes first: it takes the write lock at once
            # (SQLite) and loses early if another process already moved on.
            moved = cursor.execute(
                f"UPDATE {self.tracking} SET position = %s WHERE name = %s AND position = %s",
                (new, self.name, expected),
            )
            if moved != 1:
                raise TrackingConflictError(self.name)
            writer = self.writer(cursor)
            yield writer
            writer.flush()

    def advance(self, expected: int, new: int) -> None:
        moved = self.db.execute(
            f"UPDATE {self.tracking} SET position = %s WHERE name = %s AND position = %s",
            (new, self.name, expected),
        )
        if moved != 1:
            raise TrackingConflictError(self.name)

    def writer(self, cursor: SqlCursor) -> Any:
        raise NotImplementedError

    def reset(self) -> None:
        with self.db.transaction() as cursor:
            for table in self.tables:
                cursor.execute(f"DELETE FROM {self.db.table(table)}")
            cursor.execute(f"UPDATE {self.tracking} SET position = 0 WHERE name = %s", (self.name,))

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table, in a stable order (to compare rebuilds)."""
        return {
            table: self.db.query(f"SELECT * FROM {self.db.table(table)} ORDER BY 1")
            for table in self.tables
        }


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
