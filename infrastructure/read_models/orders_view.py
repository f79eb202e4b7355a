"""Planning's read model: orders (with location) and customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from application.errors import InvalidRequestError
from application.history import provided_location
from application.paging import Page
from application.read_models import CustomerRow, DateCount, Location, OrderFilter, OrderView, PlannedDates
from application.timestamps import iso
from domain.order import COORDINATES, ORDER_FIELDS
from infrastructure.read_models.tracked_view import (
    BatchedWriter,
    SqlTrackedView,
    decode_cursor,
    encode_cursor,
    storable,
)
from infrastructure.sql import Database, SqlCursor

ORDER_COLUMNS = (
    *ORDER_FIELDS,
    # The normalised delivery address; NULL: the order is delivered to its customer's.
    "address_key",
    # Coordinates the WMS sent: when set, they are the order's location.
    *COORDINATES,
)


class SqlOrdersView(SqlTrackedView):
    """Orders carry no coordinates themselves: an order's location is the row of
    ``rm_locations`` for its address (its own, else its customer's), joined on
    read. A geocoding result is one row write however many orders share the
    address, and an order placed after its address was located shows it at once.
    """

    name = "orders"
    version = 2
    tables = ("rm_customers", "rm_orders", "rm_locations")

    def __init__(self, db: Database, *, geocoding: bool = True) -> None:
        super().__init__(db)
        # Status of an order whose address has no result yet: waiting for
        # the geocoder, or never to be geocoded because geocoding is off.
        self.unlocated_status = "pending" if geocoding else "disabled"

    def ddl(self) -> list[str]:
        orders, customers = self.db.table("rm_orders"), self.db.table("rm_customers")
        locations = self.db.table("rm_locations")
        return [
            f"CREATE TABLE IF NOT EXISTS {customers} ("
            "customer_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL, "
            "contact TEXT, address TEXT, address_key TEXT, created_at TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {orders} ("
            "order_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, external_order_id TEXT NOT NULL, "
            "customer_id TEXT, delivery_address TEXT, total_weight DOUBLE PRECISION, "
            "volume DOUBLE PRECISION, pallet_count BIGINT, special_handling TEXT, planned_date TEXT, "
            "address_key TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, "
            "version BIGINT NOT NULL, latitude DOUBLE PRECISION, longitude DOUBLE PRECISION)",
            f"CREATE UNIQUE INDEX IF NOT EXISTS rm_orders_by_external_id ON {orders} (tenant_id, external_order_id)",
            "CREATE INDEX IF NOT EXISTS rm_orders_by_planned_date "
            f"ON {orders} (tenant_id, planned_date, external_order_id)",
            f"CREATE TABLE IF NOT EXISTS {locations} ("
            "location_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, address_key TEXT NOT NULL, "
            "location_status TEXT, location_lat DOUBLE PRECISION, location_lon DOUBLE PRECISION, "
            "location_precision TEXT, provider TEXT, matched_address TEXT, failure TEXT, "
            "updated_at TEXT NOT NULL)",
            f"CREATE UNIQUE INDEX IF NOT EXISTS rm_locations_by_address ON {locations} (tenant_id, address_key)",
        ]

    def writer(self, cursor: SqlCursor) -> OrdersTableWriter:
        return OrdersTableWriter(self, cursor)

    # ---------------------------------------------------------------- queries

    def _select(self) -> str:
        return (
            "SELECT o.*, c.name AS customer_name, l.location_lat, l.location_lon, "
            "l.location_precision, l.failure AS location_failure, "
            f"COALESCE(l.location_status, '{self.unlocated_status}') AS location_status "
            f"FROM {self.db.table('rm_orders')} o "
            f"LEFT JOIN {self.db.table('rm_customers')} c ON c.customer_id = o.customer_id "
            f"LEFT JOIN {self.db.table('rm_locations')} l ON l.tenant_id = o.tenant_id "
            "AND l.address_key = COALESCE(o.address_key, c.address_key) "
        )

    def get_order(self, tenant_id: str, order_id: str) -> OrderView | None:
        if not storable(order_id):
            return None
        row = self.db.query_one(self._select() + "WHERE o.tenant_id = %s AND o.order_id = %s", (tenant_id, order_id))
        return _order_of(row) if row else None

    def get_order_by_external_id(self, tenant_id: str, external_id: str) -> OrderView | None:
        if not storable(external_id):
            return None
        row = self.db.query_one(
            self._select() + "WHERE o.tenant_id = %s AND o.external_order_id = %s", (tenant_id, external_id)
        )
        return _order_of(row) if row else None

    def list_orders(self, tenant_id: str, which: OrderFilter, limit: int, cursor: str | None) -> Page[OrderView]:
        planned_date, search, undated = which.planned_date, which.search, which.undated
        where, params = ["o.tenant_id = %s"], [tenant_id]
        if planned_date is not None:
            where.append("o.planned_date = %s")
            params.append(planned_date)
        if undated:
            where.append("o.planned_date IS NULL")
        if search:
            where.append("LOWER(o.external_order_id) LIKE %s ESCAPE '!'")
            params.append("%" + _like_escaped(search.lower()) + "%")
        if cursor is not None:
            after = decode_cursor(cursor, 1)
            if after is None or not isinstance(after[0], str):
                raise InvalidRequestError("Invalid cursor")
            where.append("o.external_order_id > %s")
            params.append(after[0])
        rows = self.db.query(
            self._select() + "WHERE " + " AND ".join(where) + " ORDER BY o.external_order_id LIMIT %s",
            (*params, limit + 1),
        )
        items = [_order_of(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, encode_cursor([items[-1].external_order_id]) if more else None)

    def planned_dates(self, tenant_id: str, since: str | None, limit: int) -> PlannedDates:
        orders = self.db.table("rm_orders")
        rows = self.db.query(
            f"SELECT planned_date, COUNT(*) AS orders FROM {orders} "
            "WHERE tenant_id = %s AND planned_date >= %s "
            "GROUP BY planned_date ORDER BY planned_date LIMIT %s",
            (tenant_id, since or "0000-00-00", limit),
        )
        undated = self.db.query_one(
            f"SELECT COUNT(*) AS orders FROM {orders} WHERE tenant_id = %s AND planned_date IS NULL", (tenant_id,)
        )
        return PlannedDates(
            [DateCount(row["planned_date"], int(row["orders"])) for row in rows],
            int(undated["orders"]) if undated else 0,
        )

    def get_customer(self, tenant_id: str, customer_id: str) -> CustomerRow | None:
        if not storable(customer_id):
            return None
        row = self.db.query_one(
            f"SELECT * FROM {self.db.table('rm_customers')} WHERE tenant_id = %s AND customer_id = %s",
            (tenant_id, customer_id),
        )
        if row is None:
            return None
        return _customer_of(row)

    def list_customers(self, tenant_id: str, search: str | None, limit: int, cursor: str | None) -> Page[CustomerRow]:
        """A tenant's customers by name (then id); ``search`` matches any part
        of the name or the address, ignoring case."""
        where, params = ["tenant_id = %s"], [tenant_id]
        if search:
            if not storable(search):
                return Page([], None)
            pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(lower(name) LIKE %s ESCAPE '\\' OR lower(address) LIKE %s ESCAPE '\\')")
            params += [pattern, pattern]
        if cursor is not None:
            after = decode_cursor(cursor, 2)
            if after is None or not all(isinstance(v, str) for v in after):
                raise InvalidRequestError("Invalid cursor")
            where.append("(name > %s OR (name = %s AND customer_id > %s))")
            params += [after[0], after[0], after[1]]
        rows = self.db.query(
            f"SELECT * FROM {self.db.table('rm_customers')} WHERE "
            + " AND ".join(where)
            + " ORDER BY name, customer_id LIMIT %s",
            (*params, limit + 1),
        )
        items = [_customer_of(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, encode_cursor([items[-1].name, items[-1].customer_id]) if more else None)


_UPSERT_CUSTOMER = (
    "ON CONFLICT (customer_id) DO UPDATE SET name = excluded.name, contact = excluded.contact, "
    "address = excluded.address, address_key = excluded.address_key"
)
# Columns of rm_orders that are not text, for the arrays of a bulk insert.
_ARRAY_TYPES = {
    "total_weight": "float8[]",
    "volume": "float8[]",
    "pallet_count": "int8[]",
    "version": "int8[]",
    "latitude": "float8[]",
    "longitude": "float8[]",
}


class OrdersTableWriter(BatchedWriter):
    def __init__(self, view: SqlOrdersView, cursor: SqlCursor) -> None:
        super().__init__(cursor)
        self.orders = view.db.table("rm_orders")
        self.customers = view.db.table("rm_customers")
        self.locations = view.db.table("rm_locations")
        columns = ("order_id", "tenant_id", "external_order_id", *ORDER_COLUMNS, "created_at", "updated_at", "version")
        self.insert_orders = (
            f"INSERT INTO {self.orders} ({', '.join(columns)}) SELECT * FROM unnest("
            + ", ".join(f"%s::{_ARRAY_TYPES.get(name, 'text[]')}" for name in columns)
            + ")"
        )

    def upsert_customer(self, row: dict[str, Any]) -> None:
        self.add(
            f"INSERT INTO {self.customers} (customer_id, tenant_id, name, contact, address, "
            "address_key, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) " + _UPSERT_CUSTOMER,
            (
                row["customer_id"],
                row["tenant_id"],
                row["name"],
                row["contact"],
                row["address"],
                row.get("address_key"),
                iso(row["created_at"]),
            ),
            bulk=f"INSERT INTO {self.customers} (customer_id, tenant_id, name, contact, address, "
            "address_key, created_at) SELECT * FROM unnest(" + ", ".join(["%s::text[]"] * 7) + ") " + _UPSERT_CUSTOMER,
        )

    def location_created(self, location_id: str, tenant_id: str, address_key: str, at: datetime) -> None:
        self.add(
            f"INSERT INTO {self.locations} (location_id, tenant_id, address_key, updated_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (location_id) DO NOTHING",
            (location_id, tenant_id, address_key, iso(at)),
            bulk=f"INSERT INTO {self.locations} (location_id, tenant_id, address_key, updated_at) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) "
            "ON CONFLICT (location_id) DO NOTHING",
        )

    def location_found(self, location_id: str, found: dict[str, Any], at: datetime) -> None:
        self.add(
            f"UPDATE {self.locations} SET location_status = 'ok', location_lat = %s, "
            "location_lon = %s, location_precision = %s, provider = %s, matched_address = %s, "
            "failure = NULL, updated_at = %s WHERE location_id = %s",
            (
                found["lat"],
                found["lon"],
                found["precision"],
                found["provider"],
                found["matched_address"],
                iso(at),
                location_id,
            ),
        )

    def location_failed(self, location_id: str, reason: str, at: datetime) -> None:
        self.add(
            f"UPDATE {self.locations} SET location_status = 'failed', location_lat = NULL, "
            "location_lon = NULL, location_precision = NULL, provider = NULL, "
            "matched_address = NULL, failure = %s, updated_at = %s WHERE location_id = %s",
            (reason, iso(at), location_id),
        )

    def insert_order(self, row: dict[str, Any]) -> None:
        self.add(
            f"INSERT INTO {self.orders} (order_id, tenant_id, external_order_id, "
            + ", ".join(ORDER_COLUMNS)
            + ", created_at, updated_at, version) VALUES ("
            + ", ".join(["%s"] * (len(ORDER_COLUMNS) + 6))
            + ")",
            (
                row["order_id"],
                row["tenant_id"],
                row["external_order_id"],
                *(_column_value(name, row.get(name)) for name in ORDER_COLUMNS),
                iso(row["created_at"]),
                iso(row["updated_at"]),
                row["version"],
            ),
            bulk=self.insert_orders,
        )

    def update_order(self, order_id: str, changes: dict[str, Any], updated_at: datetime, version: int) -> None:
        names = [name for name in ORDER_COLUMNS if name in changes]
        assignments = ", ".join(f"{name} = %s" for name in names)
        row = (*(_column_value(name, changes[name]) for name in names), iso(updated_at), version, order_id)
        self.add(
            f"UPDATE {self.orders} SET {assignments}{', ' if names else ''}"
            "updated_at = %s, version = %s WHERE order_id = %s",
            row,
            bulk=self._bulk_update(tuple(names)),
            key=len(row) - 1,
        )

    def _bulk_update(self, names: tuple[str, ...]) -> str:
        columns = (*names, "updated_at", "version", "order_id")
        return (
            f"UPDATE {self.orders} AS o SET "
            + ", ".join(f"{name} = v.{name}" for name in columns[:-1])
            + " FROM unnest("
            + ", ".join(f"%s::{_ARRAY_TYPES.get(name, 'text[]')}" for name in columns)
            + f") AS v({', '.join(columns)}) WHERE o.order_id = v.order_id"
        )


def _like_escaped(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (escape character ``!``)."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def _column_value(name: str, value: Any) -> Any:
    if name == "special_handling" and value is not None:
        return orjson.dumps(value).decode()
    return value


def _customer_of(row: dict[str, Any]) -> CustomerRow:
    return CustomerRow(row["customer_id"], row["name"], row["contact"], row["address"], row["created_at"])


def _order_of(row: dict[str, Any]) -> OrderView:
    status = row["location_status"] or "pending"
    location = Location(
        row["location_lat"],
        row["location_lon"],
        row["location_precision"],
        status,
        row["location_failure"] if status == "failed" and row["location_failure"] else None,
    )
    fields = {name: row[name] for name in ORDER_FIELDS}
    if fields["special_handling"] is not None:
        fields["special_handling"] = orjson.loads(fields["special_handling"])
    return OrderView(
        order_id=row["order_id"],
        external_order_id=row["external_order_id"],
        fields=fields,
        customer_name=row["customer_name"],
        location=provided_location(row["latitude"], row["longitude"]) or location,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=int(row["version"]),
    )
