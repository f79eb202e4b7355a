"""Idempotency keys: a retried request with the same key gets the first answer again.

Policy: a key belongs to one tenant and lives 24 hours from its first use. The
first request with a key does the work; its answer (status and body) is kept
and replayed to every later request with the same key and the same request
(method, path, query and body). The same key with a different request is an
error (422). While the first is still working, others wait for its answer or,
after a bounded wait, get 409. Answers that say "try again" (401, 403, 408,
429, 5xx) are not kept: the key is released and the retry does the work. A
request whose process died mid-work holds its key for ``LEASE`` at most; then
a retry takes it over. A key the database would not take back (it went away)
is offered back until it is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

KEY_LIFETIME = timedelta(hours=24)
LEASE = timedelta(minutes=2)
MAX_KEY_LENGTH = 255
#: Statuses whose answer is not kept: the same request may well succeed later.
NOT_KEPT = frozenset({401, 403, 408, 429})


def keeps(status: int) -> bool:
    """Whether an answer with ``status`` is kept for replay."""
    return status < 500 and status not in NOT_KEPT


def valid_key(key: str) -> bool:
    """1 to 255 visible ASCII characters (as Stripe and the IETF draft allow)."""
    return 0 < len(key) <= MAX_KEY_LENGTH and all("!" <= c <= "~" for c in key)


@dataclass(frozen=True)
class Proceed:
    """This request holds the key: do the work, then ``finish`` (or ``release``)."""

    owner: str


@dataclass(frozen=True)
class Replay:
    status: int
    content_type: str
    body: bytes


class Held(Enum):
    """Why this request can't take the key. States without data are enum members:
    nothing to build per call, and a match reads ``Held.MISMATCH``."""

    #: The key was first used for a different request.
    MISMATCH = "mismatch"
    #: Another request with this key is still working.
    IN_PROGRESS = "in progress"


Claim = Proceed | Replay | Held
