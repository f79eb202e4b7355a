"""Pull endpoints: their sync status for the integration status, and the scheduler's claims.

One row per endpoint. The projection writes the endpoint's columns; the
scheduler writes only ``claimed_until`` and ``claim_token`` (see
``application/pull/schedule.py``), and the projection ends a claim when it
applies the attempt the claim was made for. Timestamps are ISO 8601 UTC text
of one fixed width, so they compare correctly as strings on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from application.ports.pull import Claim
from application.read_models import PullEndpointRow
from application.timestamps import iso
from infrastructure.read_models.tracked_view import BatchedWriter, SqlTrackedView
from infrastructure.sql import SqlCursor

TABLE = "rm_pull_endpoints"
#: Columns the projection may change through ``endpoint_changed``.
CHANGEABLE = ("url", "method", "interval_minutes", "next_sync_at")


class SqlPullEndpointsView(SqlTrackedView):
    name = "pull_endpoints"
    tables = (TABLE,)

    def ddl(self) -> list[str]:
        table = self.db.table(TABLE)
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "endpoint_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, url TEXT NOT NULL, "
            "method TEXT NOT NULL, interval_minutes INTEGER, created_at TEXT NOT NULL, "
            "next_sync_at TEXT, last_sync_at TEXT, last_sync_status TEXT, last_error TEXT, "
            "last_processed INTEGER, claimed_until TEXT, claim_token TEXT)",
            f"CREATE INDEX IF NOT EXISTS rm_pull_endpoints_by_tenant ON {table} (tenant_id, created_at)",
            f"CREATE INDEX IF NOT EXISTS rm_pull_endpoints_due ON {table} (next_sync_at)",
        ]

    def writer(self, cursor: SqlCursor) -> PullEndpointsTableWriter:
        return PullEndpointsTableWriter(self, cursor)

    # ---------------------------------------------------------------- queries

    def list_pull_endpoints(self, tenant_id: str) -> list[PullEndpointRow]:
        rows = self.db.query(
            f"SELECT * FROM {self.db.table(TABLE)} WHERE tenant_id = %s ORDER BY created_at, endpoint_id", (tenant_id,)
        )
        return [_endpoint_of(row) for row in rows]

    # ---------------------------------------------------------------- scheduler claims

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> Sequence[Claim]:
        """Claim due endpoints, each in its own transaction: one conditional UPDATE per row,
        which exactly one of several concurrent claimers can win."""
        table = self.db.table(TABLE)
        moment = iso(now)
        candidates = self.db.query(
            f"SELECT endpoint_id FROM {table} WHERE next_sync_at <= %s "
            "AND (claimed_until IS NULL OR claimed_until < %s) ORDER BY next_sync_at LIMIT %s",
            (moment, moment, limit),
        )
        claims: list[Claim] = []
        for row in candidates:
            attempt_id = uuid4()
            with self.db.transaction() as cursor:
                won = cursor.execute(
                    f"UPDATE {table} SET claimed_until = %s, claim_token = %s "
                    "WHERE endpoint_id = %s AND next_sync_at <= %s "
                    "AND (claimed_until IS NULL OR claimed_until < %s)",
                    (iso(lease_until), str(attempt_id), row["endpoint_id"], moment, moment),
                )
            if won == 1:
                claims.append(Claim(UUID(row["endpoint_id"]), attempt_id))
        return claims

    def release(self, claim: Claim) -> None:
        with self.db.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self.db.table(TABLE)} SET claimed_until = NULL, claim_token = NULL "
                "WHERE endpoint_id = %s AND claim_token = %s",
                (str(claim.endpoint_id), str(claim.attempt_id)),
            )


class PullEndpointsTableWriter(BatchedWriter):
    def __init__(self, view: SqlPullEndpointsView, cursor: SqlCursor) -> None:
        super().__init__(cursor)
        self.table = view.db.table(TABLE)

    def endpoint_added(self, row: dict[str, Any]) -> None:
        self.add(
            f"INSERT INTO {self.table} (endpoint_id, tenant_id, url, method, interval_minutes, "
            "created_at, next_sync_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (endpoint_id) DO NOTHING",
            (
                row["endpoint_id"],
                row["tenant_id"],
                row["url"],
                row["method"],
                row["interval_minutes"],
                iso(row["created_at"]),
                _moment(row["next_sync_at"]),
            ),
        )

    def endpoint_changed(self, endpoint_id: str, changes: dict[str, Any]) -> None:
        columns = [name for name in CHANGEABLE if name in changes]
        values = [_moment(changes[c]) if c == "next_sync_at" else changes[c] for c in columns]
        self.add(
            f"UPDATE {self.table} SET " + ", ".join(f"{c} = %s" for c in columns) + " WHERE endpoint_id = %s",
            (*values, endpoint_id),
        )

    def endpoint_removed(self, endpoint_id: str) -> None:
        self.add(f"DELETE FROM {self.table} WHERE endpoint_id = %s", (endpoint_id,))

    def sync_attempted(self, endpoint_id: str, attempt_id: str, row: dict[str, Any]) -> None:
        # SET expressions all see the row as it was, so both CASEs test the old token.
        self.add(
            f"UPDATE {self.table} SET last_sync_at = %s, last_sync_status = %s, last_error = %s, "
            "last_processed = %s, next_sync_at = %s, "
            "claimed_until = CASE WHEN claim_token = %s THEN NULL ELSE claimed_until END, "
            "claim_token = CASE WHEN claim_token = %s THEN NULL ELSE claim_token END "
            "WHERE endpoint_id = %s",
            (
                iso(row["last_sync_at"]),
                row["last_sync_status"],
                row["last_error"],
                row["last_processed"],
                _moment(row["next_sync_at"]),
                attempt_id,
                attempt_id,
                endpoint_id,
            ),
        )


def _moment(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _endpoint_of(row: dict[str, Any]) -> PullEndpointRow:
    return PullEndpointRow(
        endpoint_id=row["endpoint_id"],
        url=row["url"],
        method=row["method"],
        interval_minutes=row["interval_minutes"],
        created_at=row["created_at"],
        last_sync_at=row["last_sync_at"],
        last_sync_status=row["last_sync_status"],
        last_error=row["last_error"],
        last_processed=row["last_processed"],
        next_sync_at=row["next_sync_at"],
    )
