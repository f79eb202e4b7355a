"""The reference figures of the benchmark, measured in the same run as ours.

Each reference is a minimal aiohttp server (its own process, ``serve --kind``)
driven over HTTP by the same load client as the service, so every ratio
compares like with like (same client, same bodies, same machine, same minute):

``bare``    POST, orjson parse, tiny JSON reply: the ceiling of the HTTP stack.
``insert``  the same plus one INSERT per request through a psycopg
            ``AsyncConnectionPool`` into a scratch table.
``copy``    a JSON array of orders: orjson parse, pydantic validation of every
            item with the service's own ``OrderItem``, ``COPY`` into one table,
            one commit.
``sqlite``  the same parse and validation, then ``executemany`` into a SQLite
            file in one transaction (WAL, as the event store uses); also over
            HTTP, for symmetry with the PostgreSQL references.

Scratch tables live in a fresh PostgreSQL schema (or a temporary SQLite file)
that ``measure_references`` creates and drops.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import psycopg
from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from application.order_payload import OrderItem

POOL_SIZE = 16  # the service's default pool: 8 connections + 8 overflow
COPY_POOL_SIZE = 2  # batches are sent one after another: one connection works

POSTGRES_TABLES = (
    """CREATE TABLE ref_webhook_orders (
        id bigserial PRIMARY KEY,
        external_order_id text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        body jsonb NOT NULL)""",
    """CREATE TABLE ref_batch_orders (
        external_order_id text NOT NULL,
        delivery_address text,
        customer_name text,
        customer_contact text,
        total_weight double precision,
        pallet_count integer,
        planned_date date,
        special_handling jsonb)""",
)
BATCH_COLUMNS = (
    "external_order_id, delivery_address, customer_name, customer_contact, "
    "total_weight, pallet_count, planned_date, special_handling"
)
SQLITE_TABLE = f"CREATE TABLE IF NOT EXISTS ref_batch_orders ({BATCH_COLUMNS})"
SQLITE_INSERT = f"INSERT INTO ref_batch_orders ({BATCH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
REPLY_ONE = orjson.dumps({"accepted": True, "processed": 1})


# --------------------------------------------------------------------- the reference servers


def _items_of(body: bytes) -> list[dict[str, Any]]:
    document = orjson.loads(body)
    items = document if isinstance(document, list) else [document]
    if not all(isinstance(item, dict) for item in items):
        raise web.HTTPBadRequest(text="expected order objects")
    return items


def _validated_rows(body: bytes) -> list[tuple[Any, ...]]:
    rows = []
    for raw in _items_of(body):
        item = OrderItem.model_validate(raw)
        rows.append(
            (
                item.externalOrderId,
                item.deliveryAddress,
                item.customerName,
                item.customerContact,
                item.totalWeight,
                item.palletCount,
                item.plannedDate,
                orjson.dumps(item.specialHandling).decode() if item.specialHandling is not None else None,
            )
        )
    return rows


def _reply(processed: int) -> web.Response:
    return web.Response(body=orjson.dumps({"accepted": True, "processed": processed}), content_type="application/json")


async def _healthz(_: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


def bare_app() -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        orjson.loads(await request.read())
        return web.Response(body=REPLY_ONE, content_type="application/json")

    return _app(receive)


def insert_app(dsn: str, schema: str) -> web.Application:
    pool_key = web.AppKey("pool", AsyncConnectionPool)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        document = orjson.loads(body)
        async with request.app[pool_key].connection() as conn:
            await conn.execute(
                "INSERT INTO ref_webhook_orders (external_order_id, body) VALUES (%s, %s::jsonb)",
                (str(document.get("externalOrderId")), body.decode()),
            )
        return web.Response(body=REPLY_ONE, content_type="application/json")

    app = _app(receive)
    app.cleanup_ctx.append(_pool_ctx(pool_key, dsn, schema, POOL_SIZE))
    return app


def copy_app(dsn: str, schema: str) -> web.Application:
    pool_key = web.AppKey("pool", AsyncConnectionPool)

    async def receive(request: web.Request) -> web.Response:
        rows = _validated_rows(await request.read())
        async with request.app[pool_key].connection() as conn:
            async with conn.cursor().copy(f"COPY ref_batch_orders ({BATCH_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)
        return _reply(len(rows))

    app = _app(receive)
    app.cleanup_ctx.append(_pool_ctx(pool_key, dsn, schema, COPY_POOL_SIZE))
    return app


def sqlite_app(path: str) -> web.Application:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(SQLITE_TABLE)

    async def receive(request: web.Request) -> web.Response:
        rows = _validated_rows(await request.read())
        connection.execute("BEGIN")
        connection.executemany(SQLITE_INSERT, rows)
        connection.execute("COMMIT")
        return _reply(len(rows))

    async def close(_: web.Application) -> AsyncIterator[None]:
        yield
        connection.close()

    app = _app(receive)
    app.cleanup_ctx.append(close)
    return app


def _app(receive: Any) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/orders", receive)
    app.router.add_get("/healthz", _healthz)
    return app


def _pool_ctx(key: web.AppKey[AsyncConnectionPool], dsn: str, schema: str, size: int) -> Any:
    # Every connection is opened before the first request: none is paid for
    # inside a measured window.
    async def pool(app: web.Application) -> AsyncIterator[None]:
        opened = AsyncConnectionPool(
            dsn, min_size=size, max_size=size, kwargs={"options": f"-c search_path={schema}"}, open=False
        )
        await opened.open(wait=True)
        app[key] = opened
        yield
        await opened.close()

    return pool


# --------------------------------------------------------------------- measuring them


class Driver(Protocol):
    """What ``bench/run.py`` lends the references: its process and load helpers."""

    def serving(self, argv: list[str], env: dict[str, str], name: str) -> contextlib.AbstractContextManager[Any]: ...

    def webhook_load(self, url: str, concurrency: int, prefix: str, auth: str | None) -> dict[str, Any]: ...

    def batch_load(
        self, url: str, size: int, count: int, prefix: str, update: bool, auth: str | None
    ) -> dict[str, Any]: ...


@contextlib.contextmanager
def postgres_scratch(base_url: str) -> Iterator[str]:
    """A fresh schema holding the reference tables, dropped afterwards."""
    schema = f"bench_ref_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        for statement in POSTGRES_TABLES:
            conn.execute(statement)
    try:
        yield schema
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def measure_references(
    driver: Driver,
    *,
    concurrencies: list[int],
    batch_counts: dict[int, int],
    postgres_url: str | None,
    sqlite_dir: Path | None,
) -> dict[str, Any]:
    """Every reference that applies to the stores being measured."""
    results: dict[str, Any] = {}

    def serve(kind: str, *extra: str) -> contextlib.AbstractContextManager[Any]:
        argv = [sys.executable, str(Path(__file__).resolve()), "serve", "--kind", kind, *extra]
        return driver.serving(argv, {}, f"reference-{kind}")

    def webhooks(server: Any, kind: str) -> dict[str, Any]:
        return {
            "webhook": [driver.webhook_load(server.url("/orders"), c, f"ref-{kind}-c{c}", None) for c in concurrencies]
        }

    def batches(server: Any, kind: str) -> dict[str, Any]:
        return {
            "batches": [
                driver.batch_load(server.url("/orders"), size, count, f"ref-{kind}-{size}", False, None)
                for size, count in batch_counts.items()
            ]
        }

    with serve("bare") as server:
        results["bareAiohttp"] = webhooks(server, "bare")
    if postgres_url is not None:
        with postgres_scratch(postgres_url) as schema:
            with serve("insert", "--dsn", postgres_url, "--schema", schema) as server:
                results["psycopgInsertPerRequest"] = webhooks(server, "insert")
            with serve("copy", "--dsn", postgres_url, "--schema", schema) as server:
                results["psycopgCopyBatch"] = batches(server, "copy")
    if sqlite_dir is not None:
        with serve("sqlite", "--sqlite", str(sqlite_dir / "reference.sqlite3")) as server:
            results["sqlite3Batch"] = batches(server, "sqlite")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve one reference endpoint (POST /orders).")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("--kind", choices=("bare", "insert", "copy", "sqlite"), required=True)
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--dsn", help="PostgreSQL URL (insert, copy)")
    serve.add_argument("--schema", help="schema holding the scratch tables (insert, copy)")
    serve.add_argument("--sqlite", help="SQLite file (sqlite)")
    args = parser.parse_args(argv)
    if args.kind in ("insert", "copy") and not (args.dsn and args.schema):
        parser.error(f"--kind {args.kind} needs --dsn and --schema")
    if args.kind == "sqlite" and not args.sqlite:
        parser.error("--kind sqlite needs --sqlite")
    apps = {
        "bare": lambda: bare_app(),
        "insert": lambda: insert_app(args.dsn, args.schema),
        "copy": lambda: copy_app(args.dsn, args.schema),
        "sqlite": lambda: sqlite_app(args.sqlite),
    }
    web.run_app(apps[args.kind](), host="127.0.0.1", port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
