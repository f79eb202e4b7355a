"""What the hot path writes comes back exactly as it went in, on both stores.

The insert sends its arrays as literals in one text parameter each, the
transcoder skips walking states with a single tagged value, and the follower
trusts the position it wrote itself: each is checked here against the plain
way of doing the same thing.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, StoredEvent, UUIDAsHex

from infrastructure.event_store.transcoder import OrjsonTranscoder
from interfaces.container import Container, build_container
from tests.integration.test_rebuild import Workload, dump_all
from tests.support.settings import make_settings

AWKWARD_TEXT = 'a "quoted", {braced} \\ back\\slashed, NULL, spaced  text: é ✓ "_type_"'


def library_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DecimalAsStr()):
        transcoder.register(transcoding)
    return transcoder


STATES: list[dict[str, Any]] = [
    {"timestamp": datetime(2025, 2, 22, 8, 30, tzinfo=UTC), "name": AWKWARD_TEXT, "n": 1.5},
    {"timestamp": datetime(2025, 2, 22, tzinfo=UTC), "details": {"when": datetime(2024, 1, 1)}},
    {"id": UUID("12345678-1234-5678-1234-567812345678"), "ids": [uuid4(), uuid4()], "price": Decimal("1.10")},
    {"nested": {"deep": [{"at": datetime(2020, 5, 5, tzinfo=UTC)}, None, True]}, "plain": "x"},
    {"_type_": "not a tag", "other": 1},
    {"tag_in_a_string": '{"_type_": "uuid_hex", "_data_": "00"}', "t": datetime(2021, 1, 1)},
    {},
]


@pytest.mark.parametrize("state", STATES)
def test_states_decode_alike_whichever_transcoder_wrote_them(state: dict[str, Any]) -> None:
    ours, theirs = OrjsonTranscoder(), library_transcoder()
    assert ours.decode(ours.encode(state)) == state
    assert ours.decode(theirs.encode(state)) == state
    assert theirs.decode(ours.encode(state)) == state


def test_stored_events_with_awkward_topics_and_bytes_come_back_byte_for_byte(container: Container) -> None:
    recorder = container.use_cases.recorder
    events = [
        StoredEvent(uuid4(), 1, AWKWARD_TEXT, bytes(range(256))),
        StoredEvent(uuid4(), 1, "wms-intake:OrderCreated", b'{"q":"\\"\\\\","c":"a,b}{"}'),
        StoredEvent(uuid4(), 1, "t", b""),
    ]
    events.append(StoredEvent(events[0].originator_id, 2, "next", b"\x00\\x00'\"{}"))
    recorder.insert_events(events)

    for event in events:
        stored = recorder.select_events(
            event.originator_id, gt=event.originator_version - 1, lte=event.originator_version
        )
        assert [(e.topic, bytes(e.state)) for e in stored] == [(event.topic, event.state)]
    found = container.store.bulk_reader.select_events_of([e.originator_id for e in events] + [uuid4()])
    assert sorted(found) == sorted({e.originator_id for e in events})
    assert [(e.originator_version, e.topic, e.state) for e in found[events[0].originator_id]] == [
        (1, AWKWARD_TEXT, bytes(range(256))),
        (2, "next", b"\x00\\x00'\"{}"),
    ]


def test_a_follower_whose_view_was_rebuilt_elsewhere_notices_and_applies_everything_once(database_url: str) -> None:
    # Two containers on one store stand for the server and a CLI rebuild.
    server = build_container(make_settings(database_url, projection_batch_size=7))
    other = build_container(make_settings(database_url, projection_batch_size=7))
    try:
        workload = Workload(server, random.Random(11))
        workload.tenants(2)
        workload.run(20)
        follower = server.followers["orders"]
        follower.catch_up()
        # The other process empties the view and rebuilds a little of it; the
        # server's follower still believes its own, higher, position.
        other.views["orders"].reset()
        other.followers["orders"].step()
        workload.run(10)
        follower.catch_up(trust_position=True)
        assert follower.lag() == 0
        after = dump_all(server)["orders"]
        server.rebuild("orders")
        assert dump_all(server)["orders"] == after
    finally:
        other.close()
        server.close()


def test_writes_grouped_per_table_keep_each_tables_order_and_repeated_keys(container: Container) -> None:
    """The orders writer groups a batch's rows per statement: the end state is
    what the writes one by one give, even with a key written twice and
    text that needs quoting in an array literal."""
    view = container.views["orders"]
    at = datetime(2025, 2, 22, tzinfo=UTC)
    customer = {
        "customer_id": "C1",
        "tenant_id": "T",
        "name": AWKWARD_TEXT,
        "contact": None,
        "address": "1 High St",
        "address_key": "1 high st",
        "created_at": at,
    }
    order = {
        "order_id": "O1",
        "tenant_id": "T",
        "external_order_id": 'E "1"',
        "customer_id": "C1",
        "delivery_address": None,
        "total_weight": 1.5,
        "volume": None,
        "pallet_count": 2,
        "special_handling": ["fragile"],
        "planned_date": "2025-02-22",
        "address_key": None,
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }
    with view.batch(view.position(), view.position()) as writer:
        writer.upsert_customer(customer)
        writer.insert_order(order)
        writer.insert_order({**order, "order_id": "O2", "external_order_id": "E2", "total_weight": None})
        writer.location_created("L1", "T", "1 high st", at)
        writer.update_order("O1", {"total_weight": 7.25}, at, 2)  # after its insert, though grouped
        writer.upsert_customer({**customer, "name": "Renamed"})  # the same key again
        writer.upsert_customer({**customer, "customer_id": "C2", "name": "Second"})
        writer.update_order("O1", {"pallet_count": None}, at, 3)
    with view.batch(view.position(), view.position()) as writer:  # distinct keys: one statement
        writer.upsert_customer({**customer, "customer_id": "C3", "contact": "\\"})
        writer.upsert_customer({**customer, "customer_id": "C4", "name": "NULL", "contact": "{a,b}"})
        writer.update_order("O1", {"total_weight": 3.5, "special_handling": ["a", 'b"']}, at, 4)
        writer.update_order("O2", {"total_weight": None, "special_handling": None}, at, 2)
    rows = view.dump()
    customers = {r["customer_id"]: (r["name"], r["contact"]) for r in rows["rm_customers"]}
    assert customers == {
        "C1": ("Renamed", None),
        "C2": ("Second", None),
        "C3": (AWKWARD_TEXT, "\\"),
        "C4": ("NULL", "{a,b}"),
    }
    orders = {r["order_id"]: r for r in rows["rm_orders"]}
    assert (orders["O1"]["total_weight"], orders["O1"]["pallet_count"], orders["O1"]["version"]) == (3.5, None, 4)
    assert orjson.loads(orders["O1"]["special_handling"]) == ["a", 'b"']
    assert (orders["O2"]["total_weight"], orders["O2"]["special_handling"], orders["O2"]["version"]) == (None, None, 2)
    assert orders["O1"]["external_order_id"] == 'E "1"' and orders["O2"]["total_weight"] is None
    assert [r["location_id"] for r in rows["rm_locations"]] == ["L1"]


def test_the_geocoding_queue_written_in_bulk_counts_the_first_row_of_each_address(container: Container) -> None:
    """Row by row, the first row of an address queues it (or reopens it when
    parked) and the next ones find it queued; the bulk writes must agree."""
    assert container.geocoding is not None
    queue = container.geocoding.queue
    queue.reset()
    with queue.batch(queue.position(), queue.position()) as writer:
        writer.order_placed("O1", "T")
        writer.order_placed("O1", "T")  # a repeated order id is not an error
        writer.enqueue("T", "1 High St", 10.0)
        writer.enqueue("T", "1 high st.", 11.0)
        writer.enqueue_for_order("O1", "2 High St", 12.0)
        writer.enqueue_for_order("O1", "2 HIGH ST", 13.0)
        writer.enqueue("T", "3 High St", 14.0)
    queue.db.execute(
        f"UPDATE {queue.addresses} SET state = 'parked', attempts = 5 WHERE address_key = %s", ("3 high st",)
    )
    with queue.batch(queue.position(), queue.position()) as writer:
        writer.enqueue("T", "3 High St", 20.0)  # reopens the parked address
        writer.enqueue("T", "3 High Street?", 21.0)  # another address
        writer.enqueue("T", "3 HIGH ST", 22.0)  # finds it queued again: no change
        writer.enqueue_for_order("O1", "1 High St", 23.0)  # queued already: no change
    rows = {
        r["address_key"]: (r["address"], r["state"], r["attempts"], r["due_at"])
        for r in queue.dump()["geocoding_addresses"]
    }
    assert rows == {
        "1 high st": ("1 High St", "queued", 0, 10.0),
        "2 high st": ("2 High St", "queued", 0, 12.0),
        "3 high st": ("3 High St", "queued", 0, 20.0),
        "3 high street?": ("3 High Street?", "queued", 0, 21.0),
    }
    assert [(r["order_id"], r["tenant_id"]) for r in queue.dump()["geocoding_order_tenants"]] == [("O1", "T")]
