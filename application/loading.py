"""Loading one aggregate of a known type through the store port."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.ports.aggregates import AggregateStore

A = TypeVar("A", bound=Aggregate)


def load(store: AggregateStore, aggregate_id: UUID, kind: type[A]) -> A | None:
    """The aggregate, if it exists and is a ``kind`` (anything else is no such thing)."""
    found = store.load_many([aggregate_id]).get(aggregate_id)
    return found if isinstance(found, kind) else None
