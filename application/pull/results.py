"""What the pull use cases answer: an added endpoint, a changed one, a sync's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from application.commands import IngestResult
from application.errors import UpstreamError
from application.redaction import Redactor
from application.timestamps import iso_or_none
from domain.pull_endpoint import PullEndpoint, SyncAttempt


@dataclass(frozen=True)
class PullEndpointChange:
    """A PATCH: fields left ``None`` stay; ``interval_given`` says whether the schedule changes."""

    url: str | None = None
    method: str | None = None
    interval_given: bool = False
    interval_minutes: int | None = None


@dataclass(frozen=True)
class PullEndpointTarget:
    """What every answer about one endpoint names: which it is, what it pulls, how often."""

    endpoint_id: UUID
    url: str
    method: str
    interval_minutes: int | None


@dataclass(frozen=True)
class AddedPullEndpoint(PullEndpointTarget):
    """A new pull endpoint, with its secret (shown this once) and what its URL risks."""

    secret: str = field(repr=False)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangedPullEndpoint(PullEndpointTarget):
    """An endpoint as it is after a change (never its secret)."""

    next_sync_at: str | None


class SyncFailed(UpstreamError):
    """A failed attempt: the 502 it amounts to (message and details), and what
    the attempt records of it: ``reason`` (a word), ``summary`` (a sentence safe
    to show) and ``retry_after`` (the wait the WMS asked for, if it did)."""

    def __init__(self, message: str, details: Any, reason: str, summary: str, retry_after: float | None = None):
        super().__init__(message, details)
        self.reason = reason
        self.summary = summary
        self.retry_after = retry_after

    def redacted(self, redactor: Redactor) -> SyncFailed:
        """This failure with the secret redacted from everything it says."""
        return SyncFailed(
            redactor.text(str(self)),
            redactor.value(self.details),
            self.reason,
            redactor.text(self.summary),
            self.retry_after,
        )


@dataclass(frozen=True)
class SyncOutcome:
    """What one sync attempt came to: the ingest result, or the failure.
    ``attempt`` is the attempt as recorded on the endpoint (None until it is recorded)."""

    ingest: IngestResult | None = None
    failure: SyncFailed | None = None
    attempt: SyncAttempt | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def stored(self) -> IngestResult:
        """The stored batch, or the failure raised (the 502 it amounts to)."""
        if self.ingest is None:
            raise self.failure or UpstreamError("The WMS could not be pulled")
        return self.ingest

    def redacted(self, redactor: Redactor) -> SyncOutcome:
        """This outcome with the secret redacted from everything it says."""
        failure = self.failure.redacted(redactor) if self.failure is not None else None
        return SyncOutcome(self.ingest, failure, self.attempt)


def changed_endpoint(endpoint: PullEndpoint) -> ChangedPullEndpoint:
    return ChangedPullEndpoint(
        endpoint.id, endpoint.url, endpoint.method, endpoint.interval_minutes, iso_or_none(endpoint.next_sync_at)
    )
