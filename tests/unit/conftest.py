"""Fixtures of the unit tests: the use cases run on the in-memory event store."""

from __future__ import annotations

import pytest

from infrastructure.event_store import EventStore


@pytest.fixture
def store() -> EventStore:
    """An event store in memory (eventsourcing's POPO recorders): no database."""
    return EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
