"""The event store: the eventsourcing Application the use cases load from and save to.

It implements the application's ``AggregateStore`` and ``BatchStore`` ports.
What makes it fast stays here: one bulk read for many aggregates, a cache of
aggregates this process stored, grouped commits, and a quicker transcoder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import InterfaceError, OperationalError, Transcoder

from application.errors import ServiceUnavailableError
from application.ports import EXPECTED_VERSIONS, BulkEventReader
from application.ports.aggregates import AggregateStore
from application.ports.positions import EventPositions
from application.write_positions import note_written
from infrastructure.event_store.aggregate_cache import AggregateCache
from infrastructure.event_store.bulk_reader import RepositoryBulkReader, SqlBulkEventReader
from infrastructure.event_store.event_rows import put_events
from infrastructure.event_store.group_commit import GroupCommitter
from infrastructure.event_store.positions import SqlEventPositions
from infrastructure.event_store.transcoder import OrjsonTranscoder
from infrastructure.sql import Database

T = TypeVar("T")

DEFAULT_CACHE_SIZE = 25_000


class EventStore(Application[UUID]):
    """Loads and saves the aggregates of every tenant (one events table)."""

    # The name the events table is named after: changing it would orphan the stored events.
    name = "WmsIntake"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        aggregate_cache_size: int = DEFAULT_CACHE_SIZE,
        sql: Callable[[Any], Database] | None = None,
    ) -> None:
        """``sql`` makes a SQL handle on the recorder's datastore (created by
        the library in ``super().__init__``): with it, bulk reads and positions
        are one query each; without it (the in-memory store) one per aggregate."""
        super().__init__(env)
        self.aggregate_cache = AggregateCache(max_items=aggregate_cache_size)
        self.committer = GroupCommitter(self._store_notified)
        self._save_listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()
        self.db: Database | None = sql(self.recorder) if sql is not None else None
        self.bulk_reader: BulkEventReader
        #: Finds the position of a batch stored by an attempt whose reply was lost.
        self.event_positions: EventPositions | None
        if self.db is not None:
            table = self.recorder.events_table_name  # type: ignore[attr-defined]  # both SQL recorders have it
            self.bulk_reader = SqlBulkEventReader(self.db, table)
            self.event_positions = SqlEventPositions(self.db, table)
        else:
            self.bulk_reader = RepositoryBulkReader(self.recorder)
            self.event_positions = None

    def construct_transcoder(self) -> Transcoder:
        return OrjsonTranscoder()

    def on_saved(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every successful save (wakes the projections)."""
        with self._listeners_lock:
            self._save_listeners.append(listener)

    # ------------------------------------------------------------------ AggregateStore

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Store every pending event of ``objs`` (aggregates or events) in one transaction.

        Does what ``Application.save`` does for this application (no snapshots,
        no repository cache) without its runtime Protocol checks, which cost
        more than the insert itself for large batches.
        """
        recordings = self._store_events(_pending_events_of(objs), **kwargs)
        note_written(recording.notification.id for recording in recordings)
        return recordings

    def load_many(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        """Reconstruct many aggregates from one bulk read of their events.

        Aggregates this process has seen stored are read from the version it
        saw on (see ``AggregateCache``); the rest from their first event.
        """
        ids = list(ids)
        cached = self.aggregate_cache.restore_many(ids)
        try:
            stored = self.bulk_reader.select_events_of(
                ids, after={oid: aggregate.version for oid, aggregate in cached.items()}
            )
        except (InterfaceError, OperationalError) as error:
            raise ServiceUnavailableError("the database is unavailable; retry shortly") from error
        aggregates: dict[UUID, Aggregate] = {}
        to_domain_event = self.mapper.to_domain_event
        for oid in ids:
            aggregate: Any = cached.get(oid)
            # Replay directly: the library's projector asserts a runtime
            # Protocol per event, which dominated the cost of large batches.
            for stored_event in stored.get(oid, ()):
                aggregate = to_domain_event(stored_event).mutate(aggregate)  # type: ignore[attr-defined]  # the mapper types its events as DomainEvent; ours are aggregate events
            if aggregate is not None:
                aggregates[oid] = aggregate
        return aggregates

    # ------------------------------------------------------------------ BatchStore

    def commit(self, *objs: Any, expected_versions: Mapping[UUID, int] | None = None) -> None:
        """Like ``save``, in a transaction shared with concurrent callers (group commit)."""
        position = self.committer.commit(_pending_events_of(objs), expected_versions)
        note_written([position] if position is not None else [])

    def exclusively(self, work: Callable[[AggregateStore], T]) -> T:
        """Run ``work`` with the writer to itself (see ``GroupCommitter.exclusively``);
        ``work`` saves through the store it is given."""
        return self.committer.exclusively(lambda _store: work(self))

    def keep_stored(self, aggregates: Iterable[Aggregate]) -> None:
        """These aggregates are as stored now: later loads read only newer events."""
        self.aggregate_cache.keep(aggregates)

    def first_events_of(self, ids: Iterable[UUID]) -> dict[UUID, DomainEventProtocol[UUID]]:
        to_domain_event = self.mapper.to_domain_event
        return {oid: to_domain_event(events[0]) for oid, events in self.bulk_reader.select_events_of(set(ids)).items()}

    def latest_position_of(self, ids: Iterable[UUID]) -> int | None:
        return self.event_positions.latest_of(ids) if self.event_positions is not None else None

    # ------------------------------------------------------------------ AggregateHistory

    def events_of(self, aggregate_id: UUID) -> Iterable[DomainEventProtocol[UUID]]:
        return self.events.get(aggregate_id)

    def version_of(self, aggregate_id: UUID, version: int | None) -> Any:
        return self.repository.get(aggregate_id, version=version)

    # ------------------------------------------------------------------ plumbing

    def _store_notified(self, events: list[Any], expected_versions: Mapping[UUID, int] | None = None) -> list[int]:
        """Store ``events``; their notification ids (the group committer's store)."""
        return [r.notification.id for r in self._store_events(events, expected_versions)]

    def _store_events(
        self, events: list[Any], expected_versions: Mapping[UUID, int] | None = None, **kwargs: Any
    ) -> Any:
        if expected_versions:
            kwargs[EXPECTED_VERSIONS] = expected_versions
        try:
            recordings = put_events(self.mapper, self.recorder, events, **kwargs)
        except (InterfaceError, OperationalError) as error:
            raise ServiceUnavailableError("the database is unavailable; retry shortly") from error
        for listener in list(self._save_listeners):
            listener()
        return recordings


def _pending_events_of(objs: Iterable[Any]) -> list[Any]:
    events: list[Any] = []
    for obj in objs:
        if isinstance(obj, Aggregate):
            events.extend(obj.collect_events())
        elif obj is not None:
            events.append(obj)
    return events
