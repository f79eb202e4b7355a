"""Following the event store into a read model, in batches, exactly once.

The library's ProjectionRunner applies one event per transaction (~600/s)
and has no SQLite subscriptions. This follower reads notifications in
batches, decodes only the topics its projection needs, and writes each batch
with a single tracking move in one transaction. It polls (cheaply: one
indexed range query) and is woken by saves in the same process.

Two things keep a busy process cheap: saves arriving close together are
followed in one pass (``coalesce`` seconds at most), and between passes the
follower trusts the position it wrote itself instead of reading it back. That
is safe because every tracking move is conditional on the expected position:
a position moved elsewhere (another process, a rebuild) makes the write fail
and the follower read it again. Timed polls and direct calls always read it.

In the background it runs as a ``BackgroundLoop`` (``application/background.py``):
supervised, backed off after failures, and only in the process holding its lease.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper

from application.background import BackgroundLoop
from application.ports import Lease
from application.ports.projections import Projection, ReadModelUpgrade
from application.ports.read_models import TrackedView
from application.read_models import TrackingConflictError

log = logging.getLogger(__name__)

#: Longest wait between tries of a failing follower (a database restart).
MAX_BACKOFF_SECONDS = 5.0


@dataclass(eq=False, repr=False)
class ProjectionFollower:
    recorder: ApplicationRecorder
    mapper: Mapper[Any]
    projection: Projection[Any]
    view: TrackedView[Any]
    _: KW_ONLY
    batch_size: int = 2000
    poll_interval: float = 0.2
    coalesce: float = 0.05
    #: Background passes run only while this is held (one process per
    #: projection); ``catch_up`` called directly (CLI, tests) does not ask.
    lease: Lease | None = None
    on_error: Callable[[BaseException], None] | None = field(default=None, init=False)
    #: When set: the read model's upgrade, run before following (by the lease holder).
    upgrade: ReadModelUpgrade | None = field(default=None, init=False)
    #: The store holds a newer version of this read model: this process leaves it alone.
    retired: bool = field(default=False, init=False)
    #: The position this follower last wrote; None: read it from the view.
    _position: int | None = field(default=None, init=False)
    #: A save of this process woke the follower since its last pass.
    _saved: bool = field(default=False, init=False)
    _upgrading: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._background = BackgroundLoop(
            f"projection-{self.projection.name}",
            self._pass,
            first_backoff=self.poll_interval,
            longest_backoff=MAX_BACKOFF_SECONDS,
            coalesce=self.coalesce,
            lease=self.lease,
            standby_seconds=self.poll_interval,
            on_takeover=self._take_over,
            on_error=self._failed,
        )

    @property
    def name(self) -> str:
        return self.projection.name

    def wake(self) -> None:
        self._saved = True
        self._background.wake()

    def hurry(self) -> None:
        """A read is waiting for this read model: follow now, skipping the
        pause that lets close saves be followed in one pass."""
        self._saved = True
        self._background.wake(hurry=True)

    def catch_up(self, until: int | None = None, *, trust_position: bool = False) -> int:
        """Apply every event recorded so far (or up to ``until``); return how many
        notifications were read. A pending upgrade of the read model runs first."""
        if self.upgrade is not None and self.upgrade.pending():
            self.upgrade.run()
            self._position = None
        return self._follow(until, trust_position=trust_position)

    def _follow(self, until: int | None = None, *, trust_position: bool = False) -> int:
        if not trust_position:
            self._position = None
        total = 0
        while True:
            read = self._step(until)
            total += read
            if read == 0:
                return total

    def step(self, until: int | None = None) -> int:
        """Apply one batch; return the number of notifications read (0: up to date)."""
        self._position = None
        return self._step(until)

    def _step(self, until: int | None) -> int:
        position = self._position if self._position is not None else self.view.position()
        self._position = position
        # Every id up to the current maximum is settled: inserts hold the
        # events table's lock until commit, so no lower id can appear later.
        latest = self.recorder.max_notification_id() or 0
        stop = latest if until is None else min(until, latest)
        if position >= stop:
            return 0
        # Only the topics this projection needs cross the wire; the position
        # still moves past the others.
        notifications = self.recorder.select_notifications(
            start=position,
            limit=self.batch_size,
            stop=stop,
            topics=tuple(sorted(self.projection.topics)),
            inclusive_of_start=False,
        )
        new_position = notifications[-1].id if len(notifications) == self.batch_size else stop
        try:
            if notifications:
                with self.view.batch(position, new_position) as writer:
                    for notification in notifications:
                        self.projection.process(self.mapper.to_domain_event(notification), writer)
            else:
                # Nothing of ours in this range: one statement moves past it.
                self.view.advance(position, new_position)
        except TrackingConflictError:
            log.info("projection %s: another process moved first; re-reading", self.name)
            self._position = None
            return 1  # not up to date: the caller steps again from the position read anew
        except BaseException:
            self._position = None  # the transaction may or may not have committed
            raise
        self._position = new_position
        return new_position - position

    def _retire_if_newer(self) -> bool:
        if self.upgrade is None or not self.upgrade.newer_in_store():
            return False
        log.warning("projection %s: the store holds a newer version; this process leaves it alone", self.name)
        self.retired = True
        return True

    def lag(self) -> int:
        """How many notifications the view is behind the event store."""
        latest = self.recorder.max_notification_id() or 0
        return max(0, latest - self.view.position())

    # ------------------------------------------------------------------ background

    @property
    def failures(self) -> int:
        return self._background.failures

    @property
    def holds_lease(self) -> bool:
        return self._background.holds_lease

    def start(self) -> None:
        self._background.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._background.stop(timeout)

    def _take_over(self) -> bool:
        """The work became this process's: positions may have moved meanwhile."""
        self._position = None
        if self._retire_if_newer():
            return False
        self._upgrading = self.upgrade is not None and self.upgrade.pending()
        return True

    def _pass(self) -> float:
        if self._upgrading and self.upgrade is not None:
            # One batch of the new tables per pass, without waiting between them.
            if self.upgrade.step():
                return 0.0
            self._upgrading = False
            self._position = None
        else:
            # Trust the position written last only when a save woke us (a timed poll reads it).
            woken, self._saved = self._saved, False
            self._follow(trust_position=woken)
        return self.poll_interval

    def _failed(self, error: BaseException) -> None:
        if self.on_error is not None:
            self.on_error(error)
