"""Large event inserts into PostgreSQL by binary COPY, under the library's table lock.

A COPY of a batch's rows skips building and parsing four array literals and
the planning of an INSERT: for a thousand events it is the cheaper insert.
For a handful of events its extra round trips cost more than they save, so
small inserts, and inserts that must also check the versions of aggregates
the command read (``expected_versions``), keep the array insert.

The guarantees a follower relies on stay those of the library's insert:

- The transaction starts with the same ``LOCK TABLE … IN EXCLUSIVE MODE``
  and ``NOTIFY``. While it holds the lock no other transaction can insert
  into the events table, so no notification id is committed behind one a
  follower has already read.
- COPY takes the notification ids from the table's sequence one row after
  another, in input order. Nothing else can draw from that sequence while
  the lock is held, so the batch's ids are the ``n`` consecutive numbers
  ending at the sequence's ``currval``: the ids are known without reading
  the rows back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, ProgrammingError, StoredEvent
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier, Literal

from application.ports import EXPECTED_VERSIONS
from infrastructure.postgres_recorder import ArrayInsertPostgresRecorder

#: From this many events an insert is sent by COPY.
COPY_FROM = 64
_COLUMN_TYPES = ("uuid", "int8", "text", "bytea")


class CopyInsertPostgresRecorder(ArrayInsertPostgresRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = SQL("{schema}.{table}").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name)
        )
        self.copy_statement = SQL(
            "COPY {table} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"
        ).format(table=table)
        # The batch's last id and the commit in one round trip (a simple query).
        self.last_id_and_commit_statement = SQL(
            "SELECT currval(pg_get_serial_sequence({table}, 'notification_id')); COMMIT"
        ).format(table=Literal(f'"{self.datastore.schema}"."{self.events_table_name}"'))

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if len(stored_events) < COPY_FROM or kwargs.get(EXPECTED_VERSIONS):
            return super().insert_events(stored_events, **kwargs)
        return self._copy_events(stored_events)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _copy_events(self, stored_events: Sequence[StoredEvent]) -> Sequence[int]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            assert conn.autocommit
            curs.execute(self.prelude_statement)
            try:
                with curs.copy(self.copy_statement) as copy:
                    copy.set_types(_COLUMN_TYPES)
                    write_row = copy.write_row
                    for e in stored_events:
                        write_row((e.originator_id, e.originator_version, e.topic, e.state))
                curs.execute(self.last_id_and_commit_statement)
                row = curs.fetchone()
            except BaseException:
                # As the array insert does: free the table lock now.
                if not conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        curs.execute("ROLLBACK")
                raise
        if row is None:
            raise ProgrammingError("no notification id after COPY")
        last = int(row["currval"])
        return list(range(last - len(stored_events) + 1, last + 1))


RECORDER_TOPIC = f"{__name__}:{CopyInsertPostgresRecorder.__name__}"
