"""The geocoding queue: one row per tenant and normalised address, in SQL.

A tracked view like the read models: the follower writes rows and its
tracking position in one transaction, so every address an event brings is
queued exactly once, and the queue survives restarts. A row's ``state`` is
``queued`` (waiting, due at ``due_at``), ``resolved`` (its location is
recorded: queueing it again does nothing) or ``parked`` (failed retryably
after every attempt: queueing it again re-opens it).

Claims work on both dialects and across processes: a worker moves a due
row's ``due_at`` into the future only if it is still what it read, so of two
claimers exactly one wins, and a crashed worker's claim simply expires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from application.ports.geocoding import QueuedAddress
from domain.addresses import normalise_address
from infrastructure.event_store import array_literal
from infrastructure.read_models.tracked_view import SqlTrackedView
from infrastructure.sql import Database, SqlCursor

# Error texts kept for operators are bounded: a service may answer with a page of HTML.
MAX_ERROR_CHARS = 500


class SqlGeocodingQueue(SqlTrackedView):
    name = "geocoding"
    tables = ("geocoding_addresses", "geocoding_order_tenants")

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.addresses = db.table("geocoding_addresses")
        self.order_tenants = db.table("geocoding_order_tenants")
        self._listeners: list[Callable[[], None]] = []

    def ddl(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.addresses} ("
            "tenant_id TEXT NOT NULL, address_key TEXT NOT NULL, address TEXT NOT NULL, "
            "state TEXT NOT NULL, attempts INTEGER NOT NULL, due_at DOUBLE PRECISION NOT NULL, "
            "last_error TEXT, PRIMARY KEY (tenant_id, address_key))",
            f"CREATE INDEX IF NOT EXISTS geocoding_addresses_due ON {self.addresses} (state, due_at)",
            f"CREATE TABLE IF NOT EXISTS {self.order_tenants} (order_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL)",
        ]

    def on_enqueued(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after a follower batch that queued addresses commits."""
        self._listeners.append(listener)

    @contextmanager
    def batch(self, expected: int, new: int) -> Iterator[Any]:
        with super().batch(expected, new) as writer:
            yield writer
        if writer.enqueued:
            for listener in list(self._listeners):
                listener()

    def writer(self, cursor: SqlCursor) -> GeocodingQueueTableWriter:
        return GeocodingQueueTableWriter(self, cursor)

    # ---------------------------------------------------------------- the worker's side

    def claim_due(self, now: float, limit: int, lease_seconds: float) -> list[QueuedAddress]:
        claimed: list[QueuedAddress] = []
        with self.db.transaction(durable=False) as cursor:
            cursor.execute(
                f"SELECT tenant_id, address_key, address, attempts, due_at FROM {self.addresses} "
                "WHERE state = 'queued' AND due_at <= %s ORDER BY due_at LIMIT %s",
                (now, limit),
            )
            for row in cursor.fetchall():
                moved = cursor.execute(
                    f"UPDATE {self.addresses} SET due_at = %s WHERE tenant_id = %s "
                    "AND address_key = %s AND state = 'queued' AND due_at = %s",
                    (now + lease_seconds, row["tenant_id"], row["address_key"], row["due_at"]),
                )
                if moved == 1:
                    claimed.append(
                        QueuedAddress(
                            tenant_id=row["tenant_id"],
                            address_key=row["address_key"],
                            address=row["address"],
                            attempts=int(row["attempts"]),
                        )
                    )
        return claimed

    def next_due(self) -> float | None:
        row = self.db.query_one(f"SELECT MIN(due_at) AS due FROM {self.addresses} WHERE state = 'queued'")
        return float(row["due"]) if row and row["due"] is not None else None

    def resolved(self, item: QueuedAddress) -> None:
        self._set(item, "state = 'resolved', last_error = NULL", ())

    def parked(self, item: QueuedAddress) -> None:
        self._set(item, "state = 'parked'", ())

    def retry_later(self, item: QueuedAddress, due_at: float, attempts: int, error: str) -> None:
        self._set(item, "due_at = %s, attempts = %s, last_error = %s", (due_at, attempts, error[:MAX_ERROR_CHARS]))

    def depth(self) -> int:
        row = self.db.query_one(f"SELECT COUNT(*) AS n FROM {self.addresses} WHERE state = 'queued'")
        return int(row["n"]) if row else 0

    def _set(self, item: QueuedAddress, assignments: str, params: tuple[Any, ...]) -> None:
        with self.db.transaction(durable=False) as cursor:
            cursor.execute(
                f"UPDATE {self.addresses} SET {assignments} "
                "WHERE tenant_id = %s AND address_key = %s AND state = 'queued'",
                (*params, item.tenant_id, item.address_key),
            )


# Queueing an address again re-opens it only if it was parked.
_REOPEN_PARKED = (
    "ON CONFLICT (tenant_id, address_key) DO UPDATE SET state = 'queued', attempts = 0, "
    "due_at = excluded.due_at, address = excluded.address "
    "WHERE geocoding_addresses.state = 'parked'"
)


class GeocodingQueueTableWriter:
    """Buffers one follower batch and writes it with three ``executemany``.

    Order tenants go first: an order's address update may be in the same
    batch as the order's creation and is queued by looking its tenant up.
    """

    def __init__(self, queue: SqlGeocodingQueue, cursor: SqlCursor) -> None:
        self.queue = queue
        self.cursor = cursor
        self._tenants: list[tuple[str, str]] = []
        self._direct: list[tuple[str, str, str, float]] = []
        self._by_order: list[tuple[str, str, float, str]] = []
        self.enqueued = 0

    def order_placed(self, order_id: str, tenant_id: str) -> None:
        self._tenants.append((order_id, tenant_id))

    def enqueue(self, tenant_id: str, address: str, due_at: float) -> None:
        self._direct.append((tenant_id, normalise_address(address), address, due_at))
        self.enqueued += 1

    def enqueue_for_order(self, order_id: str, address: str, due_at: float) -> None:
        self._by_order.append((normalise_address(address), address, due_at, order_id))
        self.enqueued += 1

    def flush(self) -> None:
        if self.cursor.dialect == "postgres":
            self._flush_in_bulk()
        else:
            self._flush_row_by_row()
        self._tenants, self._direct, self._by_order = [], [], []

    def _flush_row_by_row(self) -> None:
        addresses, tenants = self.queue.addresses, self.queue.order_tenants
        self.cursor.executemany(
            f"INSERT INTO {tenants} (order_id, tenant_id) VALUES (%s, %s) ON CONFLICT (order_id) DO NOTHING",
            self._tenants,
        )
        self.cursor.executemany(
            f"INSERT INTO {addresses} (tenant_id, address_key, address, state, attempts, due_at) "
            f"VALUES (%s, %s, %s, 'queued', 0, %s) {_REOPEN_PARKED}",
            self._direct,
        )
        self.cursor.executemany(
            f"INSERT INTO {addresses} (tenant_id, address_key, address, state, attempts, due_at) "
            f"SELECT t.tenant_id, %s, %s, 'queued', 0, %s FROM {tenants} t WHERE t.order_id = %s "
            f"{_REOPEN_PARKED}",
            self._by_order,
        )

    def _flush_in_bulk(self) -> None:
        """The same three writes as one statement each (a 1,000-order batch
        made 2,000 statements). Only the first row of an address counts, as
        row by row: it queues or reopens the address, the next ones find it queued."""
        addresses, tenants = self.queue.addresses, self.queue.order_tenants
        columns = "(tenant_id, address_key, address, state, attempts, due_at)"
        if self._tenants:
            self.cursor.execute(
                f"INSERT INTO {tenants} (order_id, tenant_id) "
                "SELECT * FROM unnest(%s::text[], %s::text[]) ON CONFLICT (order_id) DO NOTHING",
                [array_literal(column) for column in zip(*self._tenants, strict=True)],
            )
        if self._direct:
            first = list({(row[0], row[1]): row for row in reversed(self._direct)}.values())
            self.cursor.execute(
                f"INSERT INTO {addresses} {columns} "
                "SELECT tenant_id, address_key, address, 'queued', 0, due_at "
                "FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[]) "
                f"AS x(tenant_id, address_key, address, due_at) {_REOPEN_PARKED}",
                [array_literal(column) for column in zip(*first, strict=True)],
            )
        if self._by_order:
            self.cursor.execute(
                f"INSERT INTO {addresses} {columns} "
                "SELECT DISTINCT ON (t.tenant_id, x.address_key) "
                "t.tenant_id, x.address_key, x.address, 'queued', 0, x.due_at "
                "FROM unnest(%s::text[], %s::text[], %s::float8[], %s::text[]) WITH ORDINALITY "
                "AS x(address_key, address, due_at, order_id, n) "
                f"JOIN {tenants} t ON t.order_id = x.order_id "
                f"ORDER BY t.tenant_id, x.address_key, x.n {_REOPEN_PARKED}",
                [array_literal(column) for column in zip(*self._by_order, strict=True)],
            )
