"""A faster insert for the PostgreSQL event store.

The library inserts via ``unnest(%s::stored_event_uuid[])``: psycopg then
dumps one composite value per event in Python, which cost more than the
insert itself for large batches. Four arrays of plain types (uuid, bigint,
text, bytea) skip that per-event Python work and insert the same rows. The table
lock and NOTIFY of the library's recorder are kept exactly as they are.

The statements are not sent in psycopg's pipeline mode as the library does:
a pipeline whose message is larger than the socket buffer (a batch of a few
thousand orders) can leave the end of it unsent while psycopg waits for the
results, and the server waits for the rest of the message for ever (psycopg
issue #685; it hung 10,000-order batches here). Instead the transaction takes
three round trips: BEGIN with the lock and NOTIFY as one simple query, the
insert as one statement, COMMIT.

It also honours ``expected_versions`` (see ``application.ports``): after its
own inserts, still under the table lock, it claims the next version of every
aggregate the command read but did not change, by copying that version's row
if it exists. An aggregate that moved makes the copy hit the primary key, so
the transaction fails with the same ``IntegrityError`` as any other conflict.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from application.ports import EXPECTED_VERSIONS
from infrastructure.event_store.pg_arrays import array_literal


class ArrayInsertPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.insert_arrays_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        table = {"schema": Identifier(self.datastore.schema), "table": Identifier(self.events_table_name)}
        # Several statements in one simple query (no parameters): one round trip.
        self.prelude_statement = SQL(
            "BEGIN; SET LOCAL lock_timeout = '{timeout}s'; "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; NOTIFY {channel}"
        ).format(timeout=SQL(str(int(self.datastore.lock_timeout))), channel=Identifier(self.channel_name), **table)
        # Claims run in the same statement as the insert, which sees the table
        # as it was before the statement: the rows this statement inserts are
        # added to what a claim looks at. A group commit saves several requests
        # at once, and one of them may change an aggregate another one read
        # and left unchanged: that must fail too. A claim copies the row of the
        # next version (its content does not matter: the copy always collides).
        self.insert_and_claim_statement = SQL(
            "WITH inserted AS ("
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id, originator_id, originator_version), "
            "claimed AS ("
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT e.originator_id, e.originator_version, 'claim', ''::bytea "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS x(originator_id, version) "
            "JOIN (SELECT originator_id, originator_version FROM {schema}.{table} "
            "UNION ALL SELECT originator_id, originator_version FROM inserted) e "
            "ON e.originator_id = x.originator_id AND e.originator_version = x.version + 1) "
            "SELECT notification_id FROM inserted ORDER BY notification_id"
        ).format(**table)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """The library's insert (same lock, NOTIFY, retries and errors) in three round trips.

        BEGIN, the lock timeout, the table lock and NOTIFY go as one simple
        query; the insert (and the version claims) as one statement; then
        COMMIT. The library's pipeline sends seven statements.
        """
        if not stored_events:
            return []
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            assert conn.autocommit
            curs.execute(self.prelude_statement)
            try:
                self._insert_stored_events(curs, stored_events, **kwargs)
                notification_ids = [row["notification_id"] for row in curs.fetchall()]
            except BaseException:
                # The pool would roll back too; doing it here frees the table
                # lock now. A broken connection has nothing left to undo.
                if not conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        curs.execute("ROLLBACK")
                raise
            curs.execute("COMMIT")
            if len(notification_ids) != len(stored_events):
                raise ProgrammingError(f"expected {len(stored_events)} notification ids, got {len(notification_ids)}")
            return notification_ids

    def _insert_stored_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        curs.execute(*self.insert_statement(stored_events, kwargs.get(EXPECTED_VERSIONS)))

    def insert_statement(self, stored_events: Sequence[StoredEvent], expected: Any) -> tuple[SQL | Composed, list[Any]]:
        """The insert of ``stored_events`` (and the claims of ``expected``) and its parameters."""
        params: list[Any] = [
            array_literal([e.originator_id for e in stored_events]),
            array_literal([e.originator_version for e in stored_events]),
            array_literal([e.topic for e in stored_events]),
            array_literal([e.state for e in stored_events]),
        ]
        if expected:
            params += [array_literal(expected), array_literal(expected.values())]
            return self.insert_and_claim_statement, params
        return self.insert_arrays_statement, params


RECORDER_TOPIC = f"{__name__}:{ArrayInsertPostgresRecorder.__name__}"
