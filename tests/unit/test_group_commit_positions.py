"""Each request of a group commit learns the position of its own last event."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from infrastructure.event_store.group_commit import GroupCommitter


class NumberingStore:
    """Numbers events as the event store does: one id per event, in order."""

    def __init__(self) -> None:
        self.last = 0
        self.transactions: list[list[Any]] = []
        self.release = threading.Event()

    def __call__(self, events: list[Any], expected: Mapping[UUID, int] | None) -> Sequence[int]:
        if not self.transactions:
            self.release.wait(5)  # hold the first transaction so the others queue up into one group
        self.transactions.append(events)
        ids = list(range(self.last + 1, self.last + 1 + len(events)))
        self.last += len(events)
        return ids


def test_requests_saved_in_one_transaction_each_get_the_id_of_their_own_last_event() -> None:
    store = NumberingStore()
    committer = GroupCommitter(store)
    results: dict[str, int | None] = {}

    def commit(name: str, count: int) -> None:
        results[name] = committer.commit([f"{name}{i}" for i in range(count)])

    first = threading.Thread(target=commit, args=("a", 1))
    first.start()
    deadline = time.monotonic() + 5
    while not committer._busy and time.monotonic() < deadline:
        time.sleep(0.001)
    others = [threading.Thread(target=commit, args=(name, count)) for name, count in (("b", 3), ("c", 2))]
    for thread in others:
        thread.start()
    while len(committer._queue) < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    store.release.set()
    for thread in (first, *others):
        thread.join(5)

    assert store.transactions[0] == ["a0"]
    grouped = store.transactions[1]
    assert sorted(grouped) == ["b0", "b1", "b2", "c0", "c1"]
    assert results["a"] == 1
    # b and c shared one transaction (ids 2..6) in the order they queued.
    last_of = {name: 1 + max(i + 1 for i, event in enumerate(grouped) if event.startswith(name)) for name in "bc"}
    assert results["b"] == last_of["b"] and results["c"] == last_of["c"]
    assert committer.commit([]) is None
