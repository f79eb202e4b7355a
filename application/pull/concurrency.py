"""How many pulls run at once: one per endpoint across processes, a few per process.

Policy:

* *One sync per endpoint, whatever started it.* Before it pulls, a sync takes
  the endpoint's lease in the database (the ``SyncLeases`` port): one row per endpoint,
  taken with one conditional statement that exactly one of several
  concurrent takers (in any process) wins, and held until the attempt is
  recorded. "Sync now" while another sync of the endpoint runs gets 409 with
  the running sync's id; a scheduled sync that finds the lease taken is
  skipped (the schedule tries again on its next tick). A process that dies
  mid-sync leaves its lease, which ends on its own after the longest a sync
  can take (the pull timeout plus the ingest allowance). A lease the database
  would not take back (it went away as the sync ended) is offered back in the
  background until it is taken (``PullService._give_back``).
* *Data pulled earlier never overwrites data pulled later*, even if a lease
  was lost: see ``PullEndpoint.store_pulled_batch``.
* *A few syncs per process* (``SyncSlots``): each sync may hold a body of up
  to the body limit in memory, so a process runs at most
  ``WMS_INTAKE_PULL_MAX_CONCURRENT`` at once. "Sync now" beyond that gets 429
  with ``Retry-After``; the scheduler takes only free slots.
"""

from __future__ import annotations

import threading

from application.errors import ApplicationError, ConflictError

#: Seconds a "Sync now" refused for lack of a free slot is asked to wait.
BUSY_RETRY_AFTER = 5


class SyncRunningError(ConflictError):
    """Another sync of this endpoint runs now (409 with its id)."""

    def __init__(self, running_attempt_id: str) -> None:
        super().__init__("A sync of this pull endpoint is already running", syncId=running_attempt_id)
        self.running_attempt_id = running_attempt_id


class TooManySyncsError(ApplicationError):
    """This process runs as many syncs as it may (429 with ``Retry-After``)."""

    def __init__(self, retry_after: int = BUSY_RETRY_AFTER) -> None:
        super().__init__("Too many syncs are running; retry shortly")
        self.retry_after = retry_after


class SyncSlots:
    """A counter of the syncs running in this process, shared by every event loop in it."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("at least one sync must be allowed")
        self.limit = limit
        self._running = 0
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        with self._lock:
            if self._running >= self.limit:
                return False
            self._running += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._running = max(0, self._running - 1)

    @property
    def free(self) -> int:
        with self._lock:
            return self.limit - self._running
