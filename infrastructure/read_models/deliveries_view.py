"""The delivery log: accepted and rejected batches, newest first."""

from __future__ import annotations

from typing import Any

import orjson

from application.errors import InvalidRequestError
from application.paging import Page
from application.read_models import DeliveryRow
from application.timestamps import iso
from infrastructure.read_models.tracked_view import BatchedWriter, SqlTrackedView, decode_cursor, encode_cursor
from infrastructure.sql import SqlCursor


class SqlDeliveriesView(SqlTrackedView):
    name = "deliveries"
    version = 2
    # Warnings live in a table of their own: few deliveries have any, and the
    # delivery table's columns stay as they were for existing databases.
    tables = ("rm_deliveries", "rm_delivery_warnings")

    def ddl(self) -> list[str]:
        table = self.db.table("rm_deliveries")
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "delivery_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, request_id TEXT NOT NULL, "
            "channel TEXT NOT NULL, received_at TEXT NOT NULL, status INTEGER NOT NULL, "
            "processed INTEGER NOT NULL, error TEXT, endpoint_id TEXT, payload_bytes BIGINT, "
            "secret_used TEXT, rejected INTEGER, rejected_items TEXT)",
            f"CREATE INDEX IF NOT EXISTS rm_deliveries_newest ON {table} (tenant_id, received_at, delivery_id)",
            f"CREATE INDEX IF NOT EXISTS rm_deliveries_by_request ON {table} (tenant_id, request_id)",
            f"CREATE TABLE IF NOT EXISTS {self.db.table('rm_delivery_warnings')} ("
            "delivery_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, warnings TEXT NOT NULL)",
        ]

    def writer(self, cursor: SqlCursor) -> DeliveriesTableWriter:
        return DeliveriesTableWriter(self, cursor)

    def list_deliveries(
        self, tenant_id: str, limit: int, cursor: str | None, request_id: str | None = None
    ) -> Page[DeliveryRow]:
        where, params = ["d.tenant_id = %s"], [tenant_id]
        if request_id is not None:
            where.append("d.request_id = %s")
            params.append(request_id)
        if cursor is not None:
            before = decode_cursor(cursor, 2)
            if before is None or not all(isinstance(v, str) for v in before):
                raise InvalidRequestError("Invalid cursor")
            where.append("(d.received_at < %s OR (d.received_at = %s AND d.delivery_id < %s))")
            params.extend([before[0], before[0], before[1]])
        rows = self.db.query(
            f"SELECT d.*, w.warnings FROM {self.db.table('rm_deliveries')} d "
            f"LEFT JOIN {self.db.table('rm_delivery_warnings')} w ON w.delivery_id = d.delivery_id "
            "WHERE " + " AND ".join(where) + " ORDER BY d.received_at DESC, d.delivery_id DESC LIMIT %s",
            (*params, limit + 1),
        )
        page = rows[:limit]
        next_cursor = encode_cursor([page[-1]["received_at"], page[-1]["delivery_id"]]) if len(rows) > limit else None
        return Page([_delivery_of(r) for r in page], next_cursor)


class DeliveriesTableWriter(BatchedWriter):
    def __init__(self, view: SqlDeliveriesView, cursor: SqlCursor) -> None:
        super().__init__(cursor)
        self.table = view.db.table("rm_deliveries")
        self.warnings = view.db.table("rm_delivery_warnings")

    def insert_delivery(self, row: dict[str, Any]) -> None:
        self.add(
            f"INSERT INTO {self.table} (delivery_id, tenant_id, request_id, channel, received_at, "
            "status, processed, error, endpoint_id, payload_bytes, secret_used, rejected, rejected_items) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (delivery_id) DO NOTHING",
            (
                row["delivery_id"],
                row["tenant_id"],
                row["request_id"],
                row["channel"],
                iso(row["received_at"]),
                row["status"],
                row["processed"],
                orjson.dumps(row["error"]).decode() if row["error"] is not None else None,
                row["endpoint_id"],
                row["payload_bytes"],
                row.get("secret_used"),
                row.get("rejected", 0),
                orjson.dumps(row["rejected_items"]).decode() if row.get("rejected_items") is not None else None,
            ),
        )
        if row.get("warnings"):
            self.add(
                f"INSERT INTO {self.warnings} (delivery_id, tenant_id, warnings) VALUES (%s, %s, %s) "
                "ON CONFLICT (delivery_id) DO NOTHING",
                (row["delivery_id"], row["tenant_id"], orjson.dumps(row["warnings"]).decode()),
            )


def _delivery_of(row: dict[str, Any]) -> DeliveryRow:
    partial = row["rejected_items"] is not None
    return DeliveryRow(
        delivery_id=row["delivery_id"],
        request_id=row["request_id"],
        channel=row["channel"],
        received_at=row["received_at"],
        status=int(row["status"]),
        processed=int(row["processed"]),
        error=orjson.loads(row["error"]) if row["error"] is not None else None,
        endpoint_id=row["endpoint_id"],
        secret_used=row["secret_used"],
        rejected=int(row["rejected"] or 0) if partial else None,
        rejected_items=orjson.loads(row["rejected_items"]) if partial else None,
        warnings=orjson.loads(row["warnings"]) if row["warnings"] is not None else None,
    )
