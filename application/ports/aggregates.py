"""The event store as the use cases see it: load aggregates, save their new events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate


class AggregateStore(Protocol):
    """Loads many aggregates at once and stores the pending events of many in one transaction.

    How it is fast (bulk reads, a cache of aggregates this process stored, grouped
    commits) is the event store's business, behind this port.
    """

    def load_many(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        """The current state of every aggregate of ``ids`` that exists."""

    def save(self, *objs: Any, expected_versions: Mapping[UUID, int] | None = None) -> Any:
        """Store every pending event of ``objs`` atomically; with ``expected_versions``
        (``{aggregate id: version}`` of aggregates read and left unchanged) the
        save fails as a conflict when one of them has moved on."""
