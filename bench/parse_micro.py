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
from bench.loadgen import Tenant, Workload  # noqa: E402
from domain.source import Source  # noqa: E402
from infrastructure.event_store.event_rows import put_events, stored_events_of  # noqa: E402
from infrastructure.event_store.transcoder import OrjsonTranscoder  # noqa: E402


def typical_items(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """New orders as the load client makes them, over 97 delivery addresses."""
    tenant = Tenant(0, str(uuid4()), "", addresses=[f"{n} High Street, Leeds LS1 1AA" for n in range(97)])
    workload = Workload(random.Random(seed), [tenant], big_batch=count, max_items=count)
    return [workload._item(tenant, f"ORD-{n:07d}", update=False) for n in range(count)]


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
