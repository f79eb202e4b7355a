"""The event store as the use cases see it: load aggregates, save their new events."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

T = TypeVar("T")


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


class BatchStore(AggregateStore, Protocol):
    """What storing an order batch needs beyond loading and saving.

    A batch of thousands of orders is stored by many requests at once; the
    event store may share one transaction among them, and remembers what it
    stored so the next batch reads only what changed since.
    """

    def commit(self, *objs: Any, expected_versions: Mapping[UUID, int] | None = None) -> None:
        """Like ``save``, possibly in one transaction with concurrent callers' saves."""

    def exclusively(self, work: Callable[[AggregateStore], T]) -> T:
        """Run ``work`` while no other save of this process can commit, so what it
        reads is still current when it saves (through the store it is given)."""

    def keep_stored(self, aggregates: Iterable[Aggregate]) -> None:
        """These aggregates are as stored now (a hint: later loads may start from them)."""

    def first_events_of(self, ids: Iterable[UUID]) -> dict[UUID, Any]:
        """The first stored event of each of ``ids`` that has one."""

    def latest_position_of(self, ids: Iterable[UUID]) -> int | None:
        """The highest notification id of these aggregates' events (None: unknown)."""


class AggregateHistory(Protocol):
    """Every version an aggregate went through (the audit trail)."""

    def events_of(self, aggregate_id: UUID) -> Iterable[Any]:
        """Its stored events, oldest first, as domain events."""

    def version_of(self, aggregate_id: UUID, version: int | None) -> Any:
        """The aggregate as it was at ``version`` (None: now)."""


class AuditStore(AggregateStore, AggregateHistory, Protocol):
    """The current state and every past version of aggregates."""


class EventStorePort(BatchStore, AuditStore, Protocol):
    """Everything the stories need of the event store (it implements all of it)."""

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Any: ...

    @property
    def events(self) -> Any: ...

    @property
    def repository(self) -> Any: ...

    @property
    def bulk_reader(self) -> Any: ...

    def on_saved(self, listener: Any) -> None: ...

    def close(self) -> None: ...
