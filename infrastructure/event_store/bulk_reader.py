"""Reading the stored events of many aggregates in one round trip."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from infrastructure.event_store.pg_arrays import array_literal
from infrastructure.sql import Database

# SQLite's default limit on bound parameters is 32766 on current builds but
# 999 on old ones: stay below the old limit (two parameters per id).
SQLITE_CHUNK = 450


class RepositoryBulkReader:
    """Fallback bulk reader: one query per aggregate, on any event store (the in-memory one)."""

    def __init__(self, recorder: Any) -> None:
        self._recorder = recorder

    def select_events_of(
        self, originator_ids: Iterable[UUID], after: Mapping[UUID, int] | None = None
    ) -> dict[UUID, list[StoredEvent]]:
        found: dict[UUID, list[StoredEvent]] = {}
        for oid in originator_ids:
            known = (after or {}).get(oid)
            events = list(self._recorder.select_events(oid, gt=known))
            if events:
                found[oid] = events
        return found


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
