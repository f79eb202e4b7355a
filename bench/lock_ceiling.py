"""The ceiling of the PostgreSQL event store's table lock, measured.

Every transaction that records events takes ``LOCK TABLE … IN EXCLUSIVE MODE``
on the events table (the library's way of making notification ids commit in
order, so that no follower ever skips an event), inserts, and commits. Only
one such transaction runs at a time in the whole deployment, however many
processes or machines write: the time the lock is held bounds what all of them
together can record.

This script stores real batches through the application (parse, validate,
decide, insert: the webhook's path without HTTP) on a fresh schema and times,
for each transaction, the lock's hold: from the moment ``LOCK TABLE`` has
returned to the moment ``COMMIT`` has. The statements are the recorder's own.

    python bench/lock_ceiling.py                       # 127.0.0.1:5432, database test
    python bench/lock_ceiling.py --postgres-url postgresql://postgres@db:5432/intake --json-out var/lock.json

Figures: the hold per transaction (median, p95) by batch size, and from the
median the most transactions (batches) per second and orders per second that
one database can record, whatever the number of writers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from application.commands import ReceiveBatch  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402
from interfaces.container import build_container  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
#: Batch size -> how many batches of it are timed (new orders, then the same orders updated).
PLAN = {1: 300, 100: 40, 1000: 12}


class LockTimer:
    """Wraps the recorder's insert: the same statements, timed around the lock."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.holds: list[tuple[int, float]] = []

    def insert_events(self, stored_events: Sequence[Any], **kwargs: Any) -> Sequence[int]:
        rec = self.recorder
        with rec.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(rec.prelude_statement)  # BEGIN; LOCK TABLE …; NOTIFY
            locked = time.perf_counter()
            try:
                rec._insert_stored_events(curs, stored_events, **kwargs)
                ids = [row["notification_id"] for row in curs.fetchall()]
            except BaseException:
                curs.execute("ROLLBACK")
                raise
            curs.execute("COMMIT")
            self.holds.append((len(stored_events), time.perf_counter() - locked))
            return ids


def batch(size: int, round_: int, update: bool) -> bytes:
    return orjson.dumps(
        [
            {
                "externalOrderId": f"LOCK-{size}-{round_}-{i}",
                "deliveryAddress": f"{i} High Street, Leeds LS1 1AA",
                "totalWeight": 2.5 if update else 1.0,
                "plannedDate": "2025-03-01",
            }
            for i in range(size)
        ]
    )


def measure(postgres_url: str) -> dict[str, Any]:
    schema = f"lock_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in postgres_url else "?"
    settings = Settings(
        database_url=f"{postgres_url}{separator}schema={schema}",
        geocoder="none",
        secret_key="lock-ceiling-benchmark-key-with-more-than-32-characters",
    )
    container = build_container(settings)
    try:
        app = container.use_cases
        created = app.create_tenant("Lock Ceiling Ltd")
        timer = LockTimer(app.recorder)
        app.recorder.insert_events = timer.insert_events  # type: ignore[method-assign]  # timed around the real insert
        results = []
        for size, count in PLAN.items():
            for update in (False, True):
                timer.holds.clear()
                started = time.perf_counter()
                for round_ in range(count):
                    body = batch(size, round_, update)
                    app.receive_batch(
                        ReceiveBatch(
                            tenant_id=created.tenant_id,
                            body=body,
                            body_size=len(body),
                            channel="webhook",
                            request_id=uuid.uuid4().hex,
                            received_at=datetime.now(UTC),
                            max_items=10_000,
                            max_body_bytes=10 * 1024 * 1024,
                        )
                    )
                elapsed = time.perf_counter() - started
                holds = sorted(seconds for _, seconds in timer.holds)
                median = statistics.median(holds)
                p95 = holds[min(len(holds) - 1, int(len(holds) * 0.95))]
                results.append(
                    {
                        "ordersPerBatch": size,
                        "kind": "update" if update else "new",
                        "batches": count,
                        "eventsPerTransaction": round(statistics.mean(n for n, _ in timer.holds), 1),
                        "holdMedianMs": round(median * 1000, 3),
                        "holdP95Ms": round(p95 * 1000, 3),
                        "lockShareOfBatch": round(sum(holds) / elapsed, 3),
                        "ceilingBatchesPerSecond": round(1 / median),
                        "ceilingOrdersPerSecond": round(size / median),
                    }
                )
        return {"database": "PostgreSQL " + _server_version(postgres_url), "results": results}
    finally:
        container.close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        assert row is not None  # SHOW always answers one row
        return str(row[0])


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Event-store table lock, {report['database']}:",
        "",
        "| orders per batch | kind | events per transaction | lock held, median (p95) | ceiling: batches/s | ceiling: orders/s |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['ordersPerBatch']:,} | {r['kind']} | {r['eventsPerTransaction']:,} | "
            f"{r['holdMedianMs']:.2f} ms ({r['holdP95Ms']:.2f} ms) | {r['ceilingBatchesPerSecond']:,} | "
            f"{r['ceilingOrdersPerSecond']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    report = measure(args.postgres_url)
    print(markdown(report))
    if args.json_out:
        args.json_out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
