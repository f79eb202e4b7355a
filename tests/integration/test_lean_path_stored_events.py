"""Through the whole application and a real store: the lean path stores what the aggregate path stores.

Two applications on two fresh databases take the same batches, one writing
order events as rows (the default) and one through the ``Order`` aggregate
(the reference). With the same clock, every stored event is the same (topic,
originator id, version, state bytes, position), and history, as-of and the
cache-fed next batch read them alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import eventsourcing.domain
import pytest

from application.commands import IngestOrders, Principal
from application.order_lines import OrderLine
from domain.ids import order_id
from domain.roles import Role
from interfaces.container import Container, build_container
from tests.support.settings import make_settings, postgres_url, scratch_schema

TENANT = UUID("3f2b6d4e-1c0a-4b7e-9d8c-2a1f0e3d4c5b")
START = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ADDRESS = "1 High Street, London"


def batches() -> list[list[OrderLine]]:
    def line(external_id: str, **patch: object) -> OrderLine:
        patch.setdefault("delivery_address", ADDRESS)
        return OrderLine(external_id, delivery_address=str(patch["delivery_address"]), patch=patch)  # type: ignore[arg-type]  # the patch holds field values only

    return [
        [line(f"o-{n}", total_weight=n + 0.5, special_handling=["fragile"]) for n in range(80)],
        [line("o-1", total_weight=1.5), line("o-2", pallet_count=3), line("o-2", pallet_count=4), line("new-1")],
        [line(f"o-{n}", total_weight=n + 100.0) for n in range(70)] + [line("o-0", latitude=51.5, longitude=-0.1)],
        [line("o-0", delivery_address="2 Low Road, Leeds")],
    ]


@pytest.fixture
def second_database_url(store: str, tmp_path: Path) -> Iterator[str]:
    if store == "sqlite":
        yield f"sqlite:///{tmp_path / 'reference.sqlite3'}"
        return
    with scratch_schema() as schema:
        yield postgres_url(schema)


def run(container: Container, lean: bool) -> list[tuple[object, ...]]:
    app = container.use_cases
    app.intake.lean_batches = lean
    ticks = itertools.count()
    original = eventsourcing.domain.datetime_now_with_tzinfo
    eventsourcing.domain.datetime_now_with_tzinfo = lambda: START + timedelta(microseconds=next(ticks))
    try:
        for number, lines in enumerate(batches()):
            app.ingest_orders(
                IngestOrders(
                    tenant_id=TENANT,
                    lines=tuple(lines),
                    channel="webhook",
                    request_id=f"r-{number}",
                    received_at=START,
                    delivery_id=UUID(int=number + 1),
                )
            )
    finally:
        eventsourcing.domain.datetime_now_with_tzinfo = original
    return [
        (n.id, n.topic, n.originator_id, n.originator_version, n.state)
        for n in app.recorder.select_notifications(start=1, limit=10_000)
    ]


def test_both_paths_store_the_same_events_and_read_back_alike(database_url: str, second_database_url: str) -> None:
    lean = build_container(make_settings(database_url))
    reference = build_container(make_settings(second_database_url))
    try:
        stored = run(lean, lean=True)
        assert stored == run(reference, lean=False)
        # 80 orders, a customer, a delivery; o-1 unchanged, o-2 twice, new-1, a delivery;
        # 71 updates, a delivery; a customer, an update, a delivery.
        assert len(stored) == 82 + 4 + 72 + 3
        principal = Principal(tenant_id=TENANT, key_id="k", role=Role.ADMIN)
        oid = str(order_id(TENANT, "o-0"))
        for container in (lean, reference):
            container.store.aggregate_cache.clear()
        assert lean.use_cases.order_history(principal, oid) == reference.use_cases.order_history(principal, oid)
        for version in (1, 2, 3):
            assert lean.use_cases.order_as_of(principal, oid, version=version) == reference.use_cases.order_as_of(
                principal, oid, version=version
            )
    finally:
        lean.close()
        reference.close()
