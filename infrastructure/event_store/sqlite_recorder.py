"""The SQLite event store's recorder, honouring ``expected_versions``.

See ``application.ports.EXPECTED_VERSIONS``: after its own inserts (which
hold SQLite's write lock until the commit, so nothing else can commit in
between) it checks that no aggregate the command read but did not change has
moved past the version it read, and fails the transaction with
``IntegrityError`` if one has, like any other conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from application.ports import EXPECTED_VERSIONS
from infrastructure.event_store.sqlite_durability import commit_without_waiting_for_the_disk

# Below SQLite's smallest limit on bound parameters (999 on old builds).
CHUNK = 900


class VersionCheckedSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        commit_without_waiting_for_the_disk(datastore)
        super().__init__(datastore, **kwargs)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        expected: Mapping[UUID, int] | None = kwargs.get(EXPECTED_VERSIONS)
        if expected:
            moved = self._moved(c, expected)
            if moved:
                raise IntegrityError(f"{len(moved)} aggregate(s) changed since they were read: {moved[:3]}")
        return notification_ids

    def _moved(self, c: SQLiteCursor, expected: Mapping[UUID, int]) -> list[UUID]:
        ids = list(expected)
        moved = []
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            c.execute(
                f"SELECT originator_id, MAX(originator_version) AS version FROM {self.events_table_name} "
                f"WHERE originator_id IN ({', '.join('?' * len(chunk))}) GROUP BY originator_id",
                [i.hex for i in chunk],
            )
            for row in c.fetchall():
                aggregate_id = UUID(row["originator_id"])
                if row["version"] > expected[aggregate_id]:
                    moved.append(aggregate_id)
        return moved


RECORDER_TOPIC = f"{__name__}:{VersionCheckedSQLiteRecorder.__name__}"
