"""What pulling from a WMS needs from the outside: the fetch, its leases and its schedule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol
from uuid import UUID

#: Every way a fetch can fail; recorded as the attempt's ``reason``.
FETCH_FAILURE_REASONS: Final[frozenset[str]] = frozenset(
    {
        "invalid_url",
        "refused_address",
        "unreachable",
        "timeout",
        "http_status",
        "too_large",
        "redirect_refused",
        "redirect_loop",
        "unsupported_media_type",
    }
)


class PullFetchError(Exception):
    """A pull fetch got no usable body, or a pull URL breaks the fetch's rules.

    ``reason`` is one of ``FETCH_FAILURE_REASONS``. ``status`` is set for
    ``http_status`` (and for other reasons when a response status is known);
    ``retry_after`` is the wait in seconds the WMS asked for, if it said.
    ``message`` is safe to show and to log: it never holds the secret.
    """

    def __init__(
        self, reason: str, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        if reason not in FETCH_FAILURE_REASONS:
            raise ValueError(f"unknown PullFetchError reason: {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status
        self.retry_after = retry_after


class PullUrlCheck(Protocol):
    def __call__(self, url: str) -> list[str]:
        """Judge ``url`` as a sync would: raise ``PullFetchError``, or return warnings."""


class SyncLeases(Protocol):
    def take(self, endpoint_id: UUID, attempt_id: UUID, trigger: str, now: datetime, until: datetime) -> str | None:
        """Take the endpoint's lease for ``attempt_id``: None when taken, else the holder's attempt id."""

    def give_back(self, endpoint_id: UUID, attempt_id: UUID) -> None:
        """End the lease ``attempt_id`` holds (no-op if it holds none)."""


@dataclass(frozen=True)
class Claim:
    """One due endpoint won by this process; ``attempt_id`` names the sync to run."""

    endpoint_id: UUID
    attempt_id: UUID


class ScheduleClaims(Protocol):
    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> Sequence[Claim]:
        """Claim up to ``limit`` endpoints due at ``now``; each claim lasts until ``lease_until``."""

    def release(self, claim: Claim) -> None:
        """End a claim without a sync (the endpoint turned out not to be due)."""
