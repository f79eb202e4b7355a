"""The lean batch path stores exactly what the aggregate path stores.

``record_batch`` writes order events as rows without an aggregate per order;
``apply_batch`` records them through the ``Order`` aggregate. For random
batches against random prior states both must give the same rows (topic,
state bytes, version, originator id, in the same order), the same outcomes,
and leave the same aggregate states behind (they are cached after a commit).
"""

from __future__ import annotations

import copy
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import eventsourcing.domain
import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.batch import apply_batch, keys_of
from application.errors import PayloadRejectedError
from application.order_lines import OrderLine
from application.order_rows import EventRow, record_batch
from domain.customer import Customer
from domain.ids import NAMESPACE, customer_id_for_address, location_id, order_id, webhook_id
from domain.order import Order
from domain.source import Source
from infrastructure.event_store.event_rows import stored_events_of
from infrastructure.event_store.transcoder import OrjsonTranscoder

TENANT = UUID("0b7f2a2e-3d1c-4f55-8a57-1c1e0b6d2a41")
OTHER_TENANT = UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
SOURCE = Source(channel="webhook", delivery_id="d-1", request_id="r-1")
EXTERNAL_IDS = [f"ord-{n}" for n in range(6)]
ADDRESSES = ["1 High Street, London", "2 Low Road, Leeds", "3 Mill Lane, York"]
START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

values = {
    "delivery_address": st.sampled_from(ADDRESSES) | st.none(),
    "total_weight": st.sampled_from([1.5, 2.0, 7]) | st.none(),
    "volume": st.sampled_from([0.5, 3.25]) | st.none(),
    "pallet_count": st.integers(0, 3) | st.none(),
    "special_handling": st.sampled_from([["fragile"], ["hazmat", "tail_lift"], []]) | st.none(),
    "planned_date": st.sampled_from(["2025-03-01", "2025-03-02"]) | st.none(),
}


@st.composite
def patches(draw: Any) -> dict[str, Any]:
    patch = draw(st.fixed_dictionaries({}, optional=values))
    if draw(st.booleans()):
        patch.update(latitude=draw(st.sampled_from([51.5, 53.8])), longitude=draw(st.sampled_from([-0.1, -1.5])))
    return patch


@st.composite
def lines(draw: Any) -> OrderLine:
    patch = draw(patches())
    customer = draw(st.sampled_from(["by-address", "known", "unknown", "other-tenant"]))
    address = patch.get("delivery_address") or draw(st.sampled_from(ADDRESSES))
    customer_id = {
        "by-address": None,
        "known": str(Customer.id_for(TENANT, ADDRESSES[0])),
        "unknown": "2d4c1f5e-0000-4000-8000-000000000001",
        "other-tenant": str(Customer.id_for(OTHER_TENANT, ADDRESSES[1])),
    }[customer]
    if customer_id is None:
        patch.setdefault("delivery_address", address)
    return OrderLine(
        external_order_id=draw(st.sampled_from(EXTERNAL_IDS)),
        customer_id=customer_id,
        delivery_address=patch.get("delivery_address"),
        customer_name=draw(st.sampled_from([None, "Ann"])),
        customer_contact=draw(st.sampled_from([None, "ann@example.com"])),
        patch=patch,
    )


@st.composite
def prior_states(draw: Any) -> dict[UUID, Aggregate]:
    """Stored aggregates: some orders (created, perhaps revised), some customers."""
    loaded: dict[UUID, Aggregate] = {}
    for address in draw(st.lists(st.sampled_from(ADDRESSES), unique=True)):
        customer = Customer.register(TENANT, address, SOURCE)
        loaded[customer.id] = customer
    other = Customer.register(OTHER_TENANT, ADDRESSES[1], SOURCE)
    loaded[other.id] = other
    for external_id in draw(st.lists(st.sampled_from(EXTERNAL_IDS), unique=True)):
        order = Order.place(TENANT, external_id, {"customer_id": "c", **draw(patches())}, SOURCE)
        for patch in draw(st.lists(patches(), max_size=2)):
            order.revise(patch, SOURCE)
        loaded[order.id] = order
    for aggregate in loaded.values():
        aggregate.collect_events()
    return loaded


class SteppingClock:
    """Each event's timestamp one microsecond after the last: the same
    sequence on both paths when they create their events in the same order."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> datetime:
        return START + timedelta(microseconds=next(self._ticks))


def run_path(lean: bool, batch: list[OrderLine], prior: dict[UUID, Aggregate], mapper: Mapper[UUID]) -> Any:
    loaded = copy.deepcopy(prior)
    keys = keys_of(TENANT, batch)
    original = eventsourcing.domain.datetime_now_with_tzinfo
    eventsourcing.domain.datetime_now_with_tzinfo = SteppingClock()
    try:
        if lean:
            touched, changed, outcomes = record_batch(TENANT, batch, keys, loaded, SOURCE)
            events = [
                event for item in touched for event in ([item] if isinstance(item, EventRow) else item.collect_events())
            ]
        else:
            aggregates, outcomes = apply_batch(TENANT, batch, keys, loaded, SOURCE)
            changed = {aggregate.id for aggregate in aggregates}
            events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        rows = stored_events_of(mapper, events)
    except PayloadRejectedError as error:
        return ("rejected", error.status)
    finally:
        eventsourcing.domain.datetime_now_with_tzinfo = original
    states = {oid: _state(aggregate) for oid, aggregate in loaded.items()}
    return rows, changed, outcomes, states


def _state(aggregate: Aggregate) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"} | {"type": type(aggregate)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(lines(), min_size=1, max_size=12), prior=prior_states())
def test_lean_rows_are_the_aggregate_paths_rows(batch: list[OrderLine], prior: dict[UUID, Aggregate]) -> None:
    mapper: Mapper[UUID] = Mapper(transcoder=OrjsonTranscoder())
    by_aggregates = run_path(False, batch, prior, mapper)
    lean = run_path(True, batch, prior, mapper)
    assert lean == by_aggregates


def test_a_batch_with_repeats_and_no_op_updates_stores_the_same_rows() -> None:
    mapper: Mapper[UUID] = Mapper(transcoder=OrjsonTranscoder())
    prior = {}
    order = Order.place(TENANT, "ord-0", {"customer_id": "c", "total_weight": 2.0}, SOURCE)
    order.collect_events()
    prior[order.id] = order
    batch = [
        OrderLine(
            "ord-0", delivery_address=ADDRESSES[0], patch={"delivery_address": ADDRESSES[0], "total_weight": 2.0}
        ),
        OrderLine(
            "ord-0", delivery_address=ADDRESSES[0], patch={"delivery_address": ADDRESSES[0], "total_weight": 2.0}
        ),
        OrderLine("ord-1", delivery_address=ADDRESSES[1], patch={"delivery_address": ADDRESSES[1]}),
        OrderLine("ord-1", delivery_address=ADDRESSES[1], patch={"delivery_address": ADDRESSES[1], "volume": 1.0}),
    ]
    lean = run_path(True, batch, prior, mapper)
    assert lean == run_path(False, batch, prior, mapper)
    rows, _, outcomes, _ = lean
    assert [(row.topic, row.originator_version) for row in rows] == [
        ("wms-intake:CustomerCreated", 1),
        ("wms-intake:OrderUpdated", 2),
        ("wms-intake:CustomerCreated", 1),
        ("wms-intake:OrderCreated", 1),
        ("wms-intake:OrderUpdated", 2),
    ]
    assert [(o.created, o.changed) for o in outcomes] == [(False, True), (False, False), (True, True), (False, True)]


def test_a_line_without_customer_or_address_is_refused_on_both_paths() -> None:
    mapper: Mapper[UUID] = Mapper(transcoder=OrjsonTranscoder())
    batch = [OrderLine("ord-0", patch={"total_weight": 1.0})]
    assert run_path(True, batch, {}, mapper) == run_path(False, batch, {}, mapper) == ("rejected", 400)


@pytest.mark.parametrize("name", ["", "ord-1", "é/ü:ß", "x" * 300])
def test_ids_are_the_standard_uuid5(name: str) -> None:
    assert order_id(TENANT, name) == uuid.uuid5(NAMESPACE, f"order:{TENANT}:{name}")
    assert customer_id_for_address(TENANT, name) == uuid.uuid5(NAMESPACE, f"customer:{TENANT}:{name}")
    assert location_id(TENANT, name) == uuid.uuid5(NAMESPACE, f"location:{TENANT}:{name}")
    assert webhook_id(TENANT) == uuid.uuid5(NAMESPACE, f"wms-webhook:{TENANT}")
    fast = order_id(TENANT, name)
    assert type(fast) is uuid.UUID and fast.version == 5 and hash(fast) == hash(uuid.UUID(str(fast)))


@given(tenant=st.uuids(), name=st.text())
def test_ids_of_any_tenant_and_name_are_the_standard_uuid5(tenant: UUID, name: str) -> None:
    assert order_id(tenant, name) == uuid.uuid5(NAMESPACE, f"order:{tenant}:{name}")
    assert customer_id_for_address(tenant, name) == uuid.uuid5(NAMESPACE, f"customer:{tenant}:{name}")
