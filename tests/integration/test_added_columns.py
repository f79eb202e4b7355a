"""A database made before the read models grew columns gets them added at start.

The tables of an older release (created without the columns for coordinates,
secret rotation and partial acceptance) are brought up to date by building
the service on them, and the projections then write and read the new columns.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

from infrastructure.persistence import open_event_store
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
    app.close()

    container = build_container(settings)
    try:
        for table, columns in {
            "rm_orders": "latitude, longitude",
            "rm_deliveries": "secret_used, rejected, rejected_items",
            "rm_webhooks": "previous_secret_expires_at",
        }.items():
            assert container.db.query(f"SELECT {columns} FROM {container.db.table(table)}") == []
        # Built twice (a restart): nothing to add any more, nothing fails.
        for view in container.views.values():
            view.create_tables()
    finally:
        container.close()
