"""Micro-benchmark of the per-order cost of parsing and validating a webhook batch.

    python bench/parse_micro.py [--items 1000] [--repeat 30]

Prints the best time per batch of ``--items`` typical items (the mix the load
client sends: an address, some of the order fields, sometimes a customer name)
for ``parse_order_batch_with_warnings``, and for the lean write path's
in-process steps after it (``record_batch``, ``stored_events_of``, and
``put_events`` with a recorder that stores nothing).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eventsourcing.persistence import Mapper  # noqa: E402

from application.batch import keys_of  # noqa: E402
from application.order_payload import parse_order_batch_with_warnings  # noqa: E402
from application.order_rows import EventRow, record_batch  # noqa: E402
from domain.source import Source  # noqa: E402
from infrastructure.event_store.event_rows import put_events, stored_events_of  # noqa: E402
from infrastructure.event_store.transcoder import OrjsonTranscoder  # noqa: E402

TAGS = ("fragile", "cold", "hazmat", "tail-lift", "two-person")


def typical_items(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    items = []
    for n in range(count):
        item: dict[str, Any] = {"externalOrderId": f"ORD-{n:07d}", "deliveryAddress": f"{n % 97} High Street, Leeds LS1 1AA"}
        if rng.random() < 0.3:
            item["customerName"] = f"Customer {rng.randint(1, 99)}"
        values = {
            "totalWeight": round(rng.uniform(0.1, 800.0), 2),
            "volume": round(rng.uniform(0.01, 40.0), 3),
            "palletCount": rng.randint(0, 30),
            "specialHandling": rng.sample(TAGS, rng.randint(0, 2)),
            "plannedDate": (date(2025, 3, 1) + timedelta(days=rng.randint(0, 27))).isoformat(),
        }
        item.update({name: value for name, value in values.items() if rng.random() < 0.7})
        items.append(item)
    return items


class _Numbering:
    """A recorder that stores nothing: put_events' own work, without a database."""

    def insert_events(self, stored: list[Any], **_: Any) -> list[int]:
        return list(range(1, len(stored) + 1))


def best_of(repeat: int, work: Any) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    body = orjson.dumps(typical_items(args.items))

    def parse() -> Any:
        return parse_order_batch_with_warnings(body, max_items=10_000)

    lines, _ = parse()
    tenant = uuid4()
    keys = keys_of(tenant, lines)
    source = Source(channel="webhook", request_id="r", delivery_id=str(uuid4()))

    def record() -> Any:
        return record_batch(tenant, lines, keys, {}, source)

    mapper: Mapper[Any] = Mapper(transcoder=OrjsonTranscoder())
    rows = [row for row in record()[0] if type(row) is EventRow]
    for name, work in (
        ("parse_order_batch_with_warnings", parse),
        ("record_batch (new orders)", record),
        ("stored_events_of", lambda: stored_events_of(mapper, rows)),
        ("put_events (no database)", lambda: put_events(mapper, _Numbering(), rows)),
    ):
        seconds = best_of(args.repeat, work)
        print(f"{name:34} {seconds * 1e3:7.2f} ms per {args.items} items, {seconds * 1e6 / args.items:6.2f} µs each")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
