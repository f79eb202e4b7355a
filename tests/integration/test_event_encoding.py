"""What the hot path writes comes back exactly as it went in, on both stores.

The insert sends its arrays as literals in one text parameter each, the
transcoder skips walking states with a single tagged value, and the follower
trusts the position it wrote itself: each is checked here against the plain
way of doing the same thing.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, StoredEvent, UUIDAsHex

from application.event_transcoder import OrjsonTranscoder
from interfaces.container import Container, build_container
from tests.conftest import make_settings
from tests.integration.test_rebuild import Workload, dump_all

AWKWARD_TEXT = 'a "quoted", {braced} \\ back\\slashed, NULL, spaced  text: é ✓ "_type_"'


def library_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), DecimalAsStr()):
        transcoder.register(transcoding)
    return transcoder


STATES: list[dict[str, Any]] = [
    {"timestamp": datetime(2025, 2, 22, 8, 30, tzinfo=timezone.utc), "name": AWKWARD_TEXT, "n": 1.5},
    {"timestamp": datetime(2025, 2, 22, tzinfo=timezone.utc), "details": {"when": datetime(2024, 1, 1)}},
    {"id": UUID("12345678-1234-5678-1234-567812345678"), "ids": [uuid4(), uuid4()], "price": Decimal("1.10")},
    {"nested": {"deep": [{"at": datetime(2020, 5, 5, tzinfo=timezone.utc)}, None, True]}, "plain": "x"},
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
    recorder = container.app.recorder
    events = [
        StoredEvent(uuid4(), 1, AWKWARD_TEXT, bytes(range(256))),
        StoredEvent(uuid4(), 1, "wms-intake:OrderCreated", b'{"q":"\\"\\\\","c":"a,b}{"}'),
        StoredEvent(uuid4(), 1, "t", b""),
    ]
    events.append(StoredEvent(events[0].originator_id, 2, "next", b"\x00\\x00'\"{}"))
    recorder.insert_events(events)

    for event in events:
        stored = recorder.select_events(event.originator_id, gt=event.originator_version - 1, lte=event.originator_version)
        assert [(e.topic, bytes(e.state)) for e in stored] == [(event.topic, event.state)]
    found = container.app.bulk_reader.select_events_of([e.originator_id for e in events] + [uuid4()])
    assert sorted(found) == sorted({e.originator_id for e in events})
    assert [(e.originator_version, e.topic, e.state) for e in found[events[0].originator_id]] == [
        (1, AWKWARD_TEXT, bytes(range(256))),
        (2, "next", b"\x00\\x00'\"{}"),
    ]


def test_a_follower_whose_view_was_rebuilt_elsewhere_notices_and_applies_everything_once(
    database_url: str,
) -> None:
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
