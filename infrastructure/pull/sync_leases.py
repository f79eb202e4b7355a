"""The database side of "one sync per endpoint": a small table of leases.

Not a read model (a rebuild must not drop a running sync's lease) and not
business history (the attempts themselves are events): one row per endpoint
that has synced, holding the attempt that runs or last ran and until when its
lease lasts. Taking a lease is one ``INSERT … ON CONFLICT DO UPDATE … WHERE``
that succeeds only when no unexpired lease is there: PostgreSQL re-checks the
condition after a concurrent taker commits and SQLite serialises writers, so
exactly one of several concurrent takers wins, in any process. Timestamps are
ISO 8601 UTC text of one fixed width, so they compare correctly as strings.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.errors import ServiceUnavailableError
from application.timestamps import iso
from infrastructure.sql import SqlTable

TABLE = "pull_sync_leases"


class SqlSyncLeases(SqlTable):
    NAME = TABLE
    COLUMNS = (
        "endpoint_id TEXT PRIMARY KEY, attempt_id TEXT NOT NULL, trigger TEXT NOT NULL, "
        "started_at TEXT NOT NULL, lease_until TEXT NOT NULL"
    )

    def take(self, endpoint_id: UUID, attempt_id: UUID, trigger: str, now: datetime, until: datetime) -> str | None:
        for _ in range(3):
            with self.db.transaction() as cursor:
                won = cursor.execute(
                    f"INSERT INTO {self.table} AS lease (endpoint_id, attempt_id, trigger, started_at, lease_until) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (endpoint_id) DO UPDATE SET "
                    "attempt_id = excluded.attempt_id, trigger = excluded.trigger, "
                    "started_at = excluded.started_at, lease_until = excluded.lease_until "
                    "WHERE lease.lease_until < %s",
                    (str(endpoint_id), str(attempt_id), trigger, iso(now), iso(until), iso(now)),
                )
            if won == 1:
                return None
            holder = self.db.query_one(
                f"SELECT attempt_id FROM {self.table} WHERE endpoint_id = %s AND lease_until >= %s",
                (str(endpoint_id), iso(now)),
            )
            if holder is not None:
                return str(holder["attempt_id"])
            # The holder gave its lease back in between: try again.
        raise ServiceUnavailableError("the sync lease kept changing hands; retry", retry_after=1)

    def give_back(self, endpoint_id: UUID, attempt_id: UUID) -> None:
        # An ended lease stays as a row whose time is over: '' sorts before
        # every timestamp, whatever the clocks of the processes say.
        with self.db.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET lease_until = '' WHERE endpoint_id = %s AND attempt_id = %s",
                (str(endpoint_id), str(attempt_id)),
            )
