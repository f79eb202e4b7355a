"""Waiting for something to become true, with a generous deadline.

The deadline only bounds how long a broken test hangs before it fails: a
loaded machine may be many times slower than a quiet one, so no test asserts
on how quickly something happens. Where a read model must show a write, prefer
passing the write's position to the read (``tests.support.http``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: How long a wait may last before the test fails.
DEADLINE = 30.0


def wait_until(check: Callable[[], T], within: float = DEADLINE, what: str = "condition", every: float = 0.05) -> T:
    """Call ``check`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {within}s (last: {result!r})")
        time.sleep(every)


async def eventually(
    check: Callable[[], Awaitable[T]], within: float = DEADLINE, what: str = "condition", every: float = 0.02
) -> T:
    """Await ``check`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {within}s (last: {result!r})")
        await asyncio.sleep(every)


def read_until(read: Callable[[], T], ready: Callable[[T], bool], within: float = DEADLINE, every: float = 0.05) -> T:
    """Call ``read`` until ``ready`` accepts what it returned, and return that."""
    last: list[T] = []

    def accepted() -> bool:
        last[:] = [read()]
        return ready(last[0])

    try:
        wait_until(accepted, within, "a value accepted", every)
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}; the last value read: {last[0]!r}") from None
    return last[0]
