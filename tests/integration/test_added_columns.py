"""A database made before the read models grew columns is upgraded with no manual step.

The tables of the first release (created without the columns for coordinates,
secret rotation, partial acceptance and ignored-field warnings) count as
version 1 of their read models: the service rebuilds each changed read model
beside them from the event store and swaps it in, and the new columns are
there. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from infrastructure.event_store import open_event_store
from infrastructure.settings import Settings
from interfaces.container import build_container

OLD_TABLES = (
    "CREATE TABLE {rm_orders} (order_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, external_order_id TEXT NOT NULL, "
    "customer_id TEXT, delivery_address TEXT, total_weight DOUBLE PRECISION, volume DOUBLE PRECISION, "
    "pallet_count BIGINT, special_handling TEXT, planned_date TEXT, address_key TEXT, created_at TEXT NOT NULL, "
    "updated_at TEXT NOT NULL, version BIGINT NOT NULL)",
    "CREATE TABLE {rm_deliveries} (delivery_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, request_id TEXT NOT NULL, "
    "channel TEXT NOT NULL, received_at TEXT NOT NULL, status INTEGER NOT NULL, processed INTEGER NOT NULL, "
    "error TEXT, endpoint_id TEXT, payload_bytes BIGINT)",
    "CREATE TABLE {rm_webhooks} (webhook_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL UNIQUE, "
    "connected_at TEXT NOT NULL, active BOOLEAN NOT NULL, last_received_at TEXT)",
)


def test_tables_of_an_older_release_get_the_new_columns(settings: Settings) -> None:
    app, db = open_event_store(settings)
    with db.transaction() as cursor:
        for statement in OLD_TABLES:
            cursor.execute(statement.format(**{t: db.table(t) for t in ("rm_orders", "rm_deliveries", "rm_webhooks")}))
        # The first release tracked each read model's position beside its tables.
        tracking = db.table("projection_tracking")
        cursor.execute(f"CREATE TABLE {tracking} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
        for name in ("orders", "deliveries", "integrations"):
            cursor.execute(f"INSERT INTO {tracking} (name, position) VALUES (%s, 0)", (name,))
    app.close()

    container = build_container(settings)
    try:
        for name in ("orders", "deliveries", "integrations"):
            upgrade = container.followers[name].upgrade
            assert upgrade is not None and upgrade.pending(), name
            upgrade.run()
            assert not upgrade.pending()
        for table, columns in {
            "rm_orders": "latitude, longitude",
            "rm_deliveries": "secret_used, rejected, rejected_items",
            "rm_delivery_warnings": "warnings",
            "rm_webhooks": "previous_secret_expires_at",
        }.items():
            assert container.db.query(f"SELECT {columns} FROM {container.db.table(table)}") == []
    finally:
        container.close()
    # A restart: nothing left to upgrade, nothing fails.
    again = build_container(settings)
    try:
        assert all(f.upgrade is None or not f.upgrade.pending() for f in again.followers.values())
    finally:
        again.close()
