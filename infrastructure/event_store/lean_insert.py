"""PostgreSQL event inserts that hold the table lock for less time.

Every insert takes the events table's EXCLUSIVE lock, so the time between
taking the lock and committing is time no other writer of any process can
use. The array insert spends three client round trips inside the lock
(begin-and-lock, insert, commit), and between them a client thread that
must wait for the interpreter's lock before it sends the next message.

- A small insert (a few requests' orders) goes as ONE simple query: begin,
  the lock timeout, the lock, NOTIFY, the insert with its arrays inlined as
  literals (quoted by psycopg), and COMMIT. The server takes and releases
  the lock while executing that one message.
- A large insert (from ``COPY_FROM`` events) is sent by binary COPY, which
  skips building and parsing four array literals, and reads the batch's ids
  and commits in one more round trip.

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

Inserts that must also check the versions of aggregates the command read
(``expected_versions``) always use the array insert's single statement,
inlined the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, ProgrammingError, StoredEvent
from eventsourcing.utils import retry
from psycopg import ClientCursor, Cursor
from psycopg.pq import ExecStatus
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier, Literal

from application.ports import EXPECTED_VERSIONS
from infrastructure.event_store.postgres_recorder import ArrayInsertPostgresRecorder

#: From this many events (and no version claims) an insert is sent by COPY.
COPY_FROM = 64
_COLUMN_TYPES = ("uuid", "int8", "text", "bytea")


class LeanInsertPostgresRecorder(ArrayInsertPostgresRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = SQL("{schema}.{table}").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name)
        )
        self.copy_statement = SQL(
            "COPY {table} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"
        ).format(table=table)
        self.last_id_and_commit_statement = SQL(
            "SELECT currval(pg_get_serial_sequence({table}, 'notification_id')) AS last; COMMIT"
        ).format(table=Literal(f'"{self.datastore.schema}"."{self.events_table_name}"'))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        expected = kwargs.get(EXPECTED_VERSIONS)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            assert conn.autocommit
            try:
                if len(stored_events) >= COPY_FROM and not expected:
                    notification_ids = self._copy(curs, stored_events)
                else:
                    notification_ids = self._in_one_query(conn, curs, stored_events, expected)
            except BaseException:
                # As the array insert does: free the table lock now. A broken
                # connection has nothing left to undo.
                if not conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        curs.execute("ROLLBACK")
                raise
        if len(notification_ids) != len(stored_events):
            raise ProgrammingError(f"expected {len(stored_events)} notification ids, got {len(notification_ids)}")
        return notification_ids

    def _in_one_query(
        self, conn: Any, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], expected: Any
    ) -> list[int]:
        statement, params = self.insert_statement(stored_events, expected)
        insert = ClientCursor(conn).mogrify(statement, params)
        script = b"; ".join((self.prelude_statement.as_bytes(conn), insert.encode(), b"COMMIT"))
        # Without parameters psycopg sends the script as one simple query; it
        # is never worth preparing (its text is new every time).
        curs.execute(script, prepare=False)
        while curs.pgresult is None or curs.pgresult.status != ExecStatus.TUPLES_OK:
            if not curs.nextset():
                raise ProgrammingError("the insert returned no notification ids")
        return [row["notification_id"] for row in curs.fetchall()]

    def _copy(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent]) -> list[int]:
        curs.execute(self.prelude_statement)
        with curs.copy(self.copy_statement) as copy:
            copy.set_types(_COLUMN_TYPES)
            write_row = copy.write_row
            for e in stored_events:
                write_row((e.originator_id, e.originator_version, e.topic, e.state))
        curs.execute(self.last_id_and_commit_statement)
        row = curs.fetchone()
        if row is None:
            raise ProgrammingError("no notification id after COPY")
        last = int(row["last"])
        return list(range(last - len(stored_events) + 1, last + 1))


RECORDER_TOPIC = f"{__name__}:{LeanInsertPostgresRecorder.__name__}"
