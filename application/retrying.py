"""Trying again: the one retry policy of the service, on tenacity.

Two kinds of retry share it:

* A store change that lost a race (another writer saved one of the same
  aggregates first, ``IntegrityError``) is tried again on fresh state after a
  short random pause: ``retry_on_conflict``. The pauses grow exponentially
  and are drawn uniformly below the bound ("full jitter"), so writers that
  collided once spread out instead of colliding again in step.
* A background loop whose pass failed (the database is away) waits longer
  after each failure in a row: ``backoff``, used by ``application/background.py``.
* Something that must be given back (a sync's lease, an idempotency key) is
  given back at once or, while the database is away, offered again in the
  background with the same backoff until it is taken: ``give_back``. Held, it
  would refuse the caller's retries until it ran out on its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from application.errors import ServiceUnavailableError

T = TypeVar("T")

log = logging.getLogger(__name__)

#: What counts as a lost race: the event store refused a save because an
#: aggregate moved on since it was read.
CONFLICTS: tuple[type[BaseException], ...] = (IntegrityError,)
#: What a database that went away raises: the store's 503, or the library's own errors.
DATABASE_AWAY: tuple[type[BaseException], ...] = (ServiceUnavailableError, OperationalError, InterfaceError)
#: Things being given back in the background (kept so the tasks are not collected).
_OFFERING: set[asyncio.Task[None]] = set()


def retry_on_conflict(
    attempt: Callable[[int], T],
    *,
    attempts: int,
    exhausted: Callable[[], Exception],
    first_wait: float = 0.005,
    longest_wait: float = 0.25,
    conflicts: tuple[type[BaseException], ...] = CONFLICTS,
) -> T:
    """Run ``attempt(n)`` (``n`` counts from 0) until it returns without a conflict.

    After a conflict it waits a random time below ``first_wait * 2**n``
    (at most ``longest_wait``), then calls ``attempt`` again, which must read
    afresh what it changes. After ``attempts`` conflicts in a row it raises
    ``exhausted()``; any other error passes through at once.
    """
    retrying = Retrying(
        retry=retry_if_exception_type(conflicts),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=first_wait, max=longest_wait),
        reraise=True,
    )

    try:
        for trying in retrying:
            with trying:
                return attempt(trying.retry_state.attempt_number - 1)
    except conflicts as lost:
        raise exhausted() from lost
    raise AssertionError("unreachable: tenacity either returns or raises")


def backoff(first: float, longest: float) -> Callable[[int], float]:
    """Seconds to wait after the ``n``-th failure in a row (``n`` from 1):
    ``first``, then twice as long each time, never more than ``longest``."""

    def seconds(failures: int) -> float:
        return float(min(longest, first * 2 ** (max(1, failures) - 1)))

    return seconds


async def give_back(call: Callable[[], Awaitable[object]], *, what: str, seconds: float) -> None:
    """Await ``call()`` once. If the database is away, return at once (the
    caller's answer does not wait) and offer it again in the background for at
    most ``seconds``; ``what`` names the thing in the log if it is never taken."""
    try:
        await call()
    except DATABASE_AWAY:
        task = asyncio.get_running_loop().create_task(_offer(call, what, seconds))
        _OFFERING.add(task)
        task.add_done_callback(_OFFERING.discard)


async def _offer(call: Callable[[], Awaitable[object]], what: str, seconds: float) -> None:
    if not await offer_until_taken(call, seconds=seconds):
        log.warning("%s was not taken back while the database was away; it ends on its own", what)


async def offer_until_taken(
    call: Callable[[], Awaitable[object]], *, seconds: float, first_wait: float = 0.25, longest_wait: float = 5.0
) -> bool:
    """Await ``call()`` again after each failure because the database is away,
    waiting ``first_wait``, then twice as long each time up to ``longest_wait``,
    for at most ``seconds``. True once it went through; False when time ran out."""
    wait = backoff(first_wait, longest_wait)
    deadline = time.monotonic() + seconds
    failures = 0
    while time.monotonic() < deadline:
        failures += 1
        await asyncio.sleep(wait(failures))
        try:
            await call()
        except DATABASE_AWAY:
            continue
        return True
    return False
