"""How an event type changes without breaking the events already stored.

A stored event is never rewritten. When an event class gains, renames or
re-types a field, it declares ``class_version = 2`` and a static
``upcast_v1_v2(state)`` that turns a version-1 state (as stored) into a
version-2 one; the library (9.5.6, ``Mapper.to_domain_event``) runs it on
every old event as it is read, and stores new events with
``"class_version": 2`` in their state. The topic stays the same.

The test aggregate below shows it: version 1 of ``Parcel.Weighed`` stored
``{"weight": 12.5}`` (kilograms, implied); version 2 says the unit.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import orjson
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent

from infrastructure.event_store import EventStore


class Parcel(Aggregate):
    TOPIC = "wms-intake-test:Parcel"

    class Created(Aggregate.Created):
        TOPIC = "wms-intake-test:ParcelCreated"

    @event(Created)
    def __init__(self) -> None:
        self.weight: float | None = None
        self.weight_unit: str | None = None

    class Weighed(Aggregate.Event):
        TOPIC = "wms-intake-test:ParcelWeighed"
        class_version = 2
        weight: float
        weight_unit: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Version 1 had no unit: every weight it stored was in kilograms.
            state["weight_unit"] = "kg"

        def apply(self, aggregate: Parcel) -> None:  # type: ignore[override]  # the test narrows the aggregate type on purpose
            aggregate.weight = self.weight
            aggregate.weight_unit = self.weight_unit

    def weigh(self, weight: float, unit: str) -> None:
        self.trigger_event(self.Weighed, weight=weight, weight_unit=unit)


def app() -> EventStore:
    return EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


STAMP = {"_type_": "datetime_iso", "_data_": "2024-03-01T08:00:00+00:00"}


def test_a_version_1_event_as_stored_reads_as_version_2_through_its_upcaster() -> None:
    application = app()
    parcel_id = uuid4()
    # Exactly what version 1 of the class wrote (no class_version key means 1).
    application.recorder.insert_events(
        [
            StoredEvent(
                parcel_id,
                1,
                "wms-intake-test:ParcelCreated",
                orjson.dumps({"timestamp": STAMP, "originator_topic": "wms-intake-test:Parcel"}),
            ),
            StoredEvent(
                parcel_id, 2, "wms-intake-test:ParcelWeighed", orjson.dumps({"timestamp": STAMP, "weight": 12.5})
            ),
        ]
    )
    parcel = application.repository.get(parcel_id)
    assert (parcel.weight, parcel.weight_unit) == (12.5, "kg")


def test_a_new_event_is_stored_as_version_2_and_read_back_unchanged() -> None:
    application = app()
    parcel = Parcel()
    parcel.weigh(3.0, "lb")
    application.save(parcel)
    stored = application.recorder.select_events(parcel.id)
    assert orjson.loads(stored[1].state)["class_version"] == 2
    again = application.repository.get(parcel.id)
    assert (again.weight, again.weight_unit) == (3.0, "lb")
