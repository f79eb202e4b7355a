"""The event-store position of what a request wrote.

Every save returns the notification ids of the events it stored. A request
that saved something can tell its caller the position of its last event; a
later read anywhere can wait until a read model has reached that position
(see ``application.consistency``).

The position is collected per request without threading it through every
use case: the request opens a ``WrittenPosition`` scope, the blocking calls
it makes run in a copy of its context (the scope object is shared), and each
save notes the position of its own events. A save outside any scope (a
background worker, the CLI) notes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class WrittenPosition:
    """The highest notification id saved within one scope (None: nothing saved)."""

    __slots__ = ("_lock", "position")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.position: int | None = None

    def note(self, position: int) -> None:
        with self._lock:
            if self.position is None or position > self.position:
                self.position = position


_CURRENT: ContextVar[WrittenPosition | None] = ContextVar("written_position", default=None)


@contextmanager
def written_position() -> Iterator[WrittenPosition]:
    """A scope collecting the positions of every save made in it (and in the
    blocking calls it runs with a copy of its context)."""
    scope = WrittenPosition()
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)


def note_written(notification_ids: Iterable[int]) -> int | None:
    """Record the ids of events just stored in the current scope; return the highest."""
    highest = max(notification_ids, default=None)
    scope = _CURRENT.get()
    if scope is not None and highest is not None:
        scope.note(highest)
    return highest


def current_written_position() -> int | None:
    """The position written so far in the current scope (None: nothing, or no scope)."""
    scope = _CURRENT.get()
    return scope.position if scope is not None else None
