"""The one way background work runs: a supervised loop in its own thread.

Every background job of a process (a read model's follower, the pull
scheduler, the geocoding drainer) is a ``BackgroundLoop``: a daemon thread
with its own asyncio event loop that calls the job's *pass* over and over.

* A pass returns how many seconds to rest before the next one (0: go again
  at once). It may be a plain function (it then blocks this loop's own thread,
  nobody else's) or a coroutine function (it may then start tasks that run
  on this loop while it rests).
* ``wake()`` (from any thread) ends a rest early; ``wake(hurry=True)`` also
  skips the ``coalesce`` pause that lets wake-ups arriving close together be
  served by one pass.
* Supervision: a pass that raises is logged, counted in ``failures``, handed
  to ``on_error``, and tried again after a backoff that doubles with each
  failure in a row, up to ``longest_backoff`` (``application/retrying.py``).
  The loop never stays dead.
* With a ``Lease`` the pass runs only while this process holds it; the others
  stand by, asking every ``standby_seconds``, and take over when the holder
  stops or dies. ``on_takeover`` runs before the first pass after the work
  became this process's (started, or the lease gained again); if it returns
  False the work is not this process's to do: the lease is given up and the
  loop ends.
* ``stop()`` ends the rest, lets the running pass finish (or cancels it when
  ``cancel_on_stop``), runs ``on_exit`` on the loop, and gives the lease up.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import KW_ONLY, InitVar, dataclass

from application.ports import Lease
from application.retrying import backoff

log = logging.getLogger(__name__)

#: A pass: the seconds to rest before the next one.
Pass = Callable[[], "float | Awaitable[float]"]


@dataclass(eq=False, repr=False)
class BackgroundLoop:
    name: str
    run_pass: Pass
    _: KW_ONLY
    first_backoff: InitVar[float]
    longest_backoff: InitVar[float]
    coalesce: float = 0.0
    lease: Lease | None = None
    standby_seconds: float = 1.0
    on_takeover: Callable[[], bool] | None = None
    on_error: Callable[[BaseException], None] | None = None
    on_exit: Callable[[], Awaitable[None]] | None = None
    cancel_on_stop: bool = False

    def __post_init__(self, first_backoff: float, longest_backoff: float) -> None:
        self.backoff = backoff(first_backoff, longest_backoff)
        #: Passes that raised, since this loop was made.
        self.failures = 0
        #: Whether this process holds the lease (always True without one, once running).
        self.holds_lease = False
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._woken = asyncio.Event()
        self._hurry = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._wake_pending = False
        #: Set once the thread's event loop runs (``wake`` before it is kept, not lost).
        self._running = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._running.clear()
        self._woken, self._hurry, self._stop_requested = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._wake_pending = False
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._thread_main, args=(loop,), name=self.name, daemon=True)
        self._thread.start()
        self._running.wait(5.0)

    def wake(self, *, hurry: bool = False) -> None:
        """End the current rest now (callable from any thread)."""
        # Saves call this many times a second: once woken, the next wake-ups
        # until the loop rests again need not cross into its thread.
        if not self._wake_pending:
            self._wake_pending = True
            self._call_in_loop(self._woken.set)
        if hurry:
            self._call_in_loop(self._hurry.set)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._call_in_loop(self._stop_requested.set)
        self._call_in_loop(self._woken.set)
        self._call_in_loop(self._hurry.set)
        if self.cancel_on_stop:
            self._call_in_loop(self._cancel)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._give_lease_up()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # ------------------------------------------------------------------ inside the thread

    def _call_in_loop(self, callback: Callable[[], object]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with suppress(RuntimeError):  # the loop closed in between: nothing to wake
                loop.call_soon_threadsafe(callback)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _thread_main(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            with suppress(asyncio.CancelledError):
                loop.run_until_complete(self._main())
        finally:
            with suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
                # A pass cancelled on stop may still run a blocking call in a
                # thread (``asyncio.to_thread``): wait for it, or it would write
                # to a store its owner is about to close.
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _main(self) -> None:
        self._task = asyncio.current_task()
        self._running.set()
        try:
            await self._supervise()
        finally:
            self._task = None
            if self.on_exit is not None:
                await self.on_exit()

    async def _supervise(self) -> None:
        failures_in_a_row = 0
        while not self._stopping.is_set():
            try:
                rest = await self._one_pass()
                failures_in_a_row = 0
            except _Finished:
                return
            except Exception as error:
                failures_in_a_row += 1
                self.failures += 1
                rest = self.backoff(failures_in_a_row)
                log.warning("%s failed (%s); retrying in %.1fs", self.name, error, rest)
                if self.on_error is not None:
                    self.on_error(error)
                await self._rest_until_stopped(rest)
                continue
            if rest > 0:
                await self._rest(rest)

    async def _one_pass(self) -> float:
        held = self.lease is None or self.lease.acquire()
        if held and not self.holds_lease and self.on_takeover is not None and not self.on_takeover():
            self._give_lease_up()
            raise _Finished()
        self.holds_lease = held
        if not held:
            return self.standby_seconds
        rest = self.run_pass()
        if inspect.isawaitable(rest):
            rest = await rest
        return float(rest)

    async def _rest(self, seconds: float) -> None:
        """Until woken or ``seconds`` passed; once woken, up to ``coalesce`` more unless hurried."""
        began = time.monotonic()
        woken = await _wait(self._woken, seconds)
        if woken and self.coalesce > 0:
            await _wait(self._hurry, self.coalesce - (time.monotonic() - began))
        self._wake_pending = False
        self._woken.clear()
        if not self._stopping.is_set():
            self._hurry.clear()

    async def _rest_until_stopped(self, seconds: float) -> None:
        # A wake-up is no reason to retry a failing pass sooner; only stopping ends this rest.
        await _wait(self._stop_requested, seconds)

    def _give_lease_up(self) -> None:
        if self.lease is not None:
            self.lease.release()
        self.holds_lease = False


class _Finished(Exception):
    """The job is not this process's to do: end the loop."""


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    if seconds <= 0:
        return event.is_set()
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return event.is_set()
    return True
