"""What the pull use cases answer: an added endpoint, a changed one, a sync's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class SyncOutcome:
    """What one sync attempt came to: the ingest result, or the failure (the 502 it amounts to).

    ``reason`` and ``summary`` are what the attempt records of a failure;
    ``retry_after`` is the wait the WMS asked for. ``attempt`` is the attempt
    as recorded on the endpoint (None until it is recorded).
    """

    ingest: IngestResult | None = None
    failure: UpstreamError | None = None
    reason: str | None = None
    summary: str | None = None
    retry_after: float | None = None
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
        failure = self.failure
        if failure is not None:
            failure = UpstreamError(redactor.text(str(failure)), redactor.value(failure.details))
        summary = redactor.text(self.summary) if self.summary is not None else None
        return SyncOutcome(self.ingest, failure, self.reason, summary, self.retry_after, self.attempt)


def changed_endpoint(endpoint: PullEndpoint) -> ChangedPullEndpoint:
    return ChangedPullEndpoint(
        endpoint.id, endpoint.url, endpoint.method, endpoint.interval_minutes, iso_or_none(endpoint.next_sync_at)
    )
