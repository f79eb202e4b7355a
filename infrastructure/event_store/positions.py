"""Where the event store is: its notification ids, overall and per aggregate.

Implements ``application.consistency.EventPositions`` with one indexed query
each: the maximum of the notification id (primary key or rowid), and the events of a
few aggregates found through the (originator_id, originator_version) key.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from infrastructure.event_store.pg_arrays import array_literal
from infrastructure.sql import Database


class SqlEventPositions:
    def __init__(self, db: Database, events_table: str) -> None:
        self.db = db
        self.table = db.table(events_table)
        # The library's SQLite events table numbers its events by rowid.
        self.id_column = "notification_id" if db.dialect == "postgres" else "rowid"

    def latest(self) -> int:
        row = self.db.query_one(f"SELECT MAX({self.id_column}) AS position FROM {self.table}")
        return int(row["position"]) if row and row["position"] is not None else 0

    def latest_of(self, aggregate_ids: Iterable[UUID]) -> int | None:
        ids = list(dict.fromkeys(aggregate_ids))
        if not ids:
            return None
        if self.db.dialect == "postgres":
            row = self.db.query_one(
                f"SELECT MAX({self.id_column}) AS position FROM {self.table} WHERE originator_id = ANY(%s::uuid[])",
                (array_literal(ids),),
            )
        else:
            row = self.db.query_one(
                f"SELECT MAX({self.id_column}) AS position FROM {self.table} "
                f"WHERE originator_id IN ({', '.join(['%s'] * len(ids))})",
                [i.hex for i in ids],
            )
        return int(row["position"]) if row and row["position"] is not None else None
