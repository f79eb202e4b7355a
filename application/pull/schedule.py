"""Scheduled sync: how due endpoints are claimed so each due sync runs exactly once.

Policy (several processes may share one PostgreSQL, each running a scheduler):

1. *Claim in the database.* A scheduler claims a due endpoint with one
   conditional UPDATE of its read-model row — "set a lease and a claim token
   where the row is due and not under an unexpired lease". The database lets
   exactly one concurrent UPDATE match (PostgreSQL re-checks the condition
   after a competing writer commits; SQLite serialises writers), so exactly
   one process wins. The claim token is the attempt id of the sync to come.
2. *Check the authority.* The winner loads the endpoint from the event store
   and syncs only if the aggregate says it is due. A row that is merely
   behind (its projection has not applied the last attempt yet) is released
   without a sync.
3. *Finish in the event store.* The attempt is recorded as an event carrying
   the next due time; the projection applies it and, in the same statement,
   ends the claim made for that attempt. Until then the lease keeps others out.
4. *Survive a crash.* A process that dies mid-sync leaves its lease; when the
   lease expires another process claims the endpoint. Leases outlast the
   longest possible sync (the pull timeout plus ingest), so a live sync is
   never taken over.

Claims work the same on SQLite and PostgreSQL, spread the syncs over every
process, and need no session-bound lock (a PostgreSQL advisory lock would
pin one pooled connection per in-flight sync).
"""

from __future__ import annotations

from datetime import timedelta

from application.ports.pull import Claim, ScheduleClaims

#: What a lease adds to the pull timeout: the time a large batch may take to
#: ingest, with a wide margin (a lease that ends during a live sync would let
#: a second process start the same sync).
INGEST_ALLOWANCE = timedelta(minutes=5)

__all__ = ["INGEST_ALLOWANCE", "Claim", "ScheduleClaims", "lease_for"]


def lease_for(pull_timeout_seconds: float) -> timedelta:
    """How long a claim lasts: longer than any sync can take."""
    return timedelta(seconds=pull_timeout_seconds) + INGEST_ALLOWANCE
