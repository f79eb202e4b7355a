"""Integration status: the webhook's connection, active flag and lastReceivedAt."""

from __future__ import annotations

from datetime import UTC, datetime

from application.read_models import WebhookRow
from application.timestamps import iso
from infrastructure.read_models.tracked_view import BatchedWriter, SqlTrackedView
from infrastructure.sql import SqlCursor


class SqlIntegrationsView(SqlTrackedView):
    name = "integrations"
    version = 2
    tables = ("rm_webhooks",)

    def ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.db.table('rm_webhooks')} ("
            "webhook_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL UNIQUE, connected_at TEXT NOT NULL, "
            "active BOOLEAN NOT NULL, last_received_at TEXT, previous_secret_expires_at TEXT)"
        ]

    def writer(self, cursor: SqlCursor) -> IntegrationsTableWriter:
        return IntegrationsTableWriter(self, cursor)

    def webhook_status(self, tenant_id: str) -> WebhookRow | None:
        row = self.db.query_one(f"SELECT * FROM {self.db.table('rm_webhooks')} WHERE tenant_id = %s", (tenant_id,))
        if row is None:
            return None
        until = row["previous_secret_expires_at"]
        return WebhookRow(
            active=bool(row["active"]),
            connected_at=row["connected_at"],
            last_received_at=row["last_received_at"],
            # Shown while a rotated-out secret still works, then gone.
            previous_secret_expires_at=until if until and until > iso(datetime.now(UTC)) else None,
        )


class IntegrationsTableWriter(BatchedWriter):
    def __init__(self, view: SqlIntegrationsView, cursor: SqlCursor) -> None:
        super().__init__(cursor)
        self.webhooks = view.db.table("rm_webhooks")

    def webhook_connected(self, webhook_id: str, tenant_id: str, connected_at: datetime) -> None:
        self.add(
            f"INSERT INTO {self.webhooks} (webhook_id, tenant_id, connected_at, active) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (webhook_id) DO NOTHING",
            (webhook_id, tenant_id, iso(connected_at), True),
        )

    def webhook_active(self, webhook_id: str, active: bool) -> None:
        self.add(f"UPDATE {self.webhooks} SET active = %s WHERE webhook_id = %s", (active, webhook_id))

    def delivery_received(self, tenant_id: str, channel: str, received_at: datetime) -> None:
        if channel != "webhook":
            return
        # Concurrent batches commit in any order: keep the latest moment seen.
        moment = iso(received_at)
        self.add(
            f"UPDATE {self.webhooks} SET last_received_at = %s WHERE tenant_id = %s "
            "AND (last_received_at IS NULL OR last_received_at < %s)",
            (moment, tenant_id, moment),
        )

    def previous_secret_until(self, webhook_id: str, until: datetime | None) -> None:
        self.add(
            f"UPDATE {self.webhooks} SET previous_secret_expires_at = %s WHERE webhook_id = %s",
            (iso(until) if until is not None else None, webhook_id),
        )
