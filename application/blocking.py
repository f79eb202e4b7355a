"""Running blocking store calls off the event loop.

eventsourcing 9.5 has no async API: every store call runs in a bounded
thread pool (sized to the database pool), in the caller's context, so that a
save made there notes its position for the caller's response.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import TypeVar

T = TypeVar("T")


class ExecutorRunner:
    """Runs blocking calls in an executor, from whichever event loop awaits them."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    def __call__(self, call: Callable[[], T]) -> Awaitable[T]:
        context = contextvars.copy_context()
        return asyncio.get_running_loop().run_in_executor(self._executor, context.run, call)
