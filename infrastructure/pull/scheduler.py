"""The pull scheduler: a background worker that syncs due pull endpoints.

It runs in its own thread with its own asyncio loop. Every tick it claims due
endpoints in the database (exactly one process wins each; see
``application/pull/schedule.py``) and starts one task per claim, up to
``max_in_flight`` at once: a slow WMS occupies one task until its timeout and
never holds up other endpoints or the next tick. A failed sync is recorded and
backs off through the endpoint's schedule; a failing tick (the database is
away) backs the loop off, up to a minute. On stop, running syncs get a short
grace, then are cancelled: their claims lapse and another process (or this
one, restarted) takes them over when the lease ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import timedelta

from application.background import BackgroundLoop
from application.ports import Clock
from application.ports.blocking import BlockingRunner
from application.ports.pull import Claim, ScheduleClaims
from application.pull.sync import PullService

log = logging.getLogger(__name__)

MAX_TICK_BACKOFF = 60.0


@dataclass(eq=False)
class PullScheduler:
    service: PullService
    claims: ScheduleClaims
    run: BlockingRunner
    _: KW_ONLY
    clock: Clock
    tick_seconds: float
    lease: timedelta
    max_in_flight: int = 8
    stop_grace_seconds: float = 5.0
    close_outbound: Callable[[], Awaitable[None]] | None = None
    #: Completed ticks and syncs started (for tests and diagnostics).
    ticks: int = field(default=0, init=False)
    started: int = field(default=0, init=False)
    _in_flight: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        # A failing tick (the database is away) waits twice the tick, then
        # twice as long after each failure in a row.
        self._background = BackgroundLoop(
            "pull-scheduler",
            self._tick_pass,
            first_backoff=2 * self.tick_seconds,
            longest_backoff=MAX_TICK_BACKOFF,
            on_exit=self._finish,
        )

    # ------------------------------------------------------------------ worker protocol

    def start(self) -> None:
        self._background.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._background.stop(timeout)

    # ------------------------------------------------------------------ the loop

    async def _tick_pass(self) -> float:
        await self.tick()
        return self.tick_seconds

    async def _finish(self) -> None:
        await self._drain()
        if self.close_outbound is not None:
            await self.close_outbound()

    async def tick(self) -> int:
        """Claim what is due (as many as there are free slots) and start syncing it."""
        # The process's sync slots are shared with "Sync now": claim no more than are free.
        free = min(self.max_in_flight - len(self._in_flight), self.service.slots.free)
        claims: list[Claim] = []
        if free > 0:
            now = self.clock.now()
            found = await self.run(lambda: self.claims.claim_due(now, now + self.lease, free))
            claims = list(found)
        for claim in claims:
            task = asyncio.create_task(self._sync(claim), name=f"pull-{claim.endpoint_id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        self.started += len(claims)
        self.ticks += 1
        return len(claims)

    async def _sync(self, claim: Claim) -> None:
        try:
            outcome = await self.service.sync_scheduled(claim.endpoint_id, claim.attempt_id)
            if outcome is None:
                await self.run(lambda: self.claims.release(claim))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # Not recorded (the store failed): the lease lapses and a later tick retries.
            log.warning("scheduled pull of endpoint %s failed: %s", claim.endpoint_id, error)

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        _, pending = await asyncio.wait(set(self._in_flight), timeout=self.stop_grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
