"""API keys' last use, one row per key, beside the read models (see ``application.key_usage``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.timestamps import iso, parse_iso
from infrastructure.sql import SqlTable


class SqlKeyUsageStore(SqlTable):
    NAME = "api_key_usage"
    COLUMNS = (
        "tenant_id TEXT NOT NULL, key_id TEXT NOT NULL, last_used_at TEXT NOT NULL, PRIMARY KEY (tenant_id, key_id)"
    )

    def record(self, tenant_id: UUID, key_id: str, at: datetime) -> None:
        # Timestamps are fixed-width ISO strings: text order is time order.
        with self.db.transaction() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} AS u (tenant_id, key_id, last_used_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (tenant_id, key_id) DO UPDATE SET last_used_at = excluded.last_used_at "
                "WHERE u.last_used_at < excluded.last_used_at",
                (str(tenant_id), key_id, iso(at)),
            )

    def last_used(self, tenant_id: UUID) -> dict[str, datetime]:
        rows = self.db.query(f"SELECT key_id, last_used_at FROM {self.table} WHERE tenant_id = %s", (str(tenant_id),))
        return {row["key_id"]: parse_iso(row["last_used_at"]) for row in rows}
