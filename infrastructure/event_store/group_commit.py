"""Group commit: concurrent requests' events saved in one transaction.

Every PostgreSQL insert takes the events table's EXCLUSIVE lock, so saves
are serialised whatever the number of threads; throughput comes from more
events per transaction. Whoever finds the writer free becomes the leader and
saves everything queued so far in one transaction, then hands over. Each
request stays all-or-nothing: if a group fails (one request conflicts with
another), its requests are saved one by one, so a conflict fails only the
request that caused it. A caller returns only after its own events are
committed (or raises its own error), and learns the event-store position
of its own last event.

A request may also name aggregates it read but did not change, with the
versions it read (``expected_versions``): a group checks the union (the
lowest version wins), so a request never commits on state another request of
the same group, or of another process, changed since it was read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

T = TypeVar("T")

#: Stores events in one transaction, checking the expected versions (None: none);
#: returns the notification ids of the events, in their order.
InsertInOneTransaction = Callable[[list[Any], Mapping[UUID, int] | None], Sequence[int]]


class _Entry:
    __slots__ = ("done", "error", "events", "expected_versions", "position")

    def __init__(self, events: Sequence[Any], expected_versions: Mapping[UUID, int] | None) -> None:
        self.events = events
        self.expected_versions = expected_versions
        self.done = False
        self.error: BaseException | None = None
        #: The notification id of this entry's last event, once stored.
        self.position: int | None = None


class GroupCommitter:
    def __init__(self, insert: InsertInOneTransaction, max_events: int = 20_000) -> None:
        self._insert = insert
        self._max_events = max_events
        self._cond = threading.Condition()
        self._queue: list[_Entry] = []
        self._busy = False

    def commit(self, events: Sequence[Any], expected_versions: Mapping[UUID, int] | None = None) -> int | None:
        """Store ``events`` in one transaction (possibly shared); raise on failure.

        Returns the notification id of the last of ``events`` (None: no events)."""
        entry = _Entry(events, expected_versions)
        with self._cond:
            self._queue.append(entry)
        while True:
            with self._cond:
                while self._busy and not entry.done:
                    self._cond.wait()
                if entry.done:
                    break
                self._busy = True
                group = self._take()
            try:
                self._flush(group)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if entry.error is not None:
            raise entry.error
        return entry.position

    def exclusively(self, work: Callable[[InsertInOneTransaction], T]) -> T:
        """Run ``work`` with the writer to itself: nothing else of this process
        commits while it runs, so what it reads is still current when it stores.

        For a request that keeps losing optimistic-concurrency races on hot
        orders: reading and storing inside the writer's turn ends the race.
        """
        with self._cond:
            while self._busy:
                self._cond.wait()
            self._busy = True
        try:
            return work(self._insert)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _take(self) -> list[_Entry]:
        group = [self._queue.pop(0)]
        size = len(group[0].events)
        while self._queue and size + len(self._queue[0].events) <= self._max_events:
            size += len(self._queue[0].events)
            group.append(self._queue.pop(0))
        return group

    def _flush(self, group: list[_Entry]) -> None:
        if len(group) > 1:
            try:
                ids = self._insert([event for entry in group for event in entry.events], _union(group))
            except IntegrityError:
                pass  # a conflict: saving one by one below fails only the request that caused it
            except Exception as error:
                for entry in group:
                    entry.error, entry.done = error, True
                return
            else:
                start = 0
                for entry in group:
                    entry.position = max(ids[start : start + len(entry.events)], default=None)
                    start += len(entry.events)
                    entry.done = True
                return
        for entry in group:
            try:
                entry.position = max(self._insert(list(entry.events), entry.expected_versions), default=None)
            except Exception as error:
                entry.error = error
            entry.done = True


def _union(group: list[_Entry]) -> dict[UUID, int] | None:
    expected: dict[UUID, int] = {}
    for entry in group:
        for aggregate_id, version in (entry.expected_versions or {}).items():
            expected[aggregate_id] = min(version, expected.get(aggregate_id, version))
    return expected or None
