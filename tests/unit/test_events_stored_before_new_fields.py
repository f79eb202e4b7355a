"""Events stored before a field was added still load: the field takes its default.

Each case stores an aggregate's events through the application's mapper,
removes the new field from the stored state (as an older release wrote it),
and rebuilds the aggregate from those bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.persistence import StoredEvent

from domain.delivery import Delivery
from domain.location import Location
from domain.roles import Role
from domain.tenant import Tenant
from infrastructure.event_store import EventStore


@pytest.fixture
def app() -> EventStore:
    return EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def replayed_without(app: EventStore, aggregate: Any, event_class: type, field: str) -> Any:
    """The aggregate rebuilt from its events, those of ``event_class`` stored without ``field``."""
    rebuilt = None
    for event in aggregate.collect_events():
        stored = app.mapper.to_stored_event(event)
        state = orjson.loads(stored.state)
        if isinstance(event, event_class):
            assert field in state
            state.pop(field)
        older = StoredEvent(
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=orjson.dumps(state),
        )
        rebuilt = app.mapper.to_domain_event(older).mutate(rebuilt)  # type: ignore[attr-defined]  # an event attribute the base class does not declare
    return rebuilt


def test_an_api_key_issued_before_keys_had_names_loads_unnamed(app: EventStore) -> None:
    tenant = Tenant.open("Acme")
    tenant.issue_api_key("k1", "0" * 64, Role.PLANNER, "Planner tablet")
    rebuilt = replayed_without(app, tenant, Tenant.ApiKeyIssued, "name")
    assert rebuilt.api_keys["k1"].name is None and rebuilt.api_keys["k1"].role is Role.PLANNER


def test_a_geocoding_failure_stored_before_causes_loads_without_one(app: EventStore) -> None:
    location = Location.of_address(uuid4(), "1 Queen's Road, Belfast BT3 9EP")
    location.geocoding_failed("BT is not covered", retryable=False, cause="not_in_offline_data")
    rebuilt = replayed_without(app, location, Location.GeocodingFailed, "cause")
    assert rebuilt.status == "failed" and rebuilt.failure == "BT is not covered"
    assert rebuilt.failure_cause is None


def test_a_delivery_accepted_before_warnings_loads_with_none(app: EventStore) -> None:
    delivery = Delivery.accept(
        id=UUID(int=1),
        tenant_id=str(uuid4()),
        channel="webhook",
        request_id="r1",
        received_at=datetime(2025, 2, 22, tzinfo=UTC),
        processed=1,
        created=1,
        updated=0,
        endpoint_id=None,
        payload_bytes=10,
        payload_sha256="0" * 64,
        warnings=[{"index": 0, "externalOrderId": "A", "field": "x", "message": "unknown field, ignored"}],
    )
    rebuilt = replayed_without(app, delivery, Delivery.Accepted, "warnings")
    assert rebuilt.accepted and rebuilt.warnings is None
