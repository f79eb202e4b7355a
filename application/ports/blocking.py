"""Running blocking store calls from async code (``application/blocking.py`` implements it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class BlockingRunner(Protocol):
    """Runs a blocking store call off the event loop and awaits its result."""

    def __call__(self, call: Callable[[], T]) -> Awaitable[T]: ...
