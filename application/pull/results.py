"""What the pull use cases answer: an added endpoint, a changed one, a sync's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from application.commands import IngestResult
from application.errors import UpstreamError
from application.redaction import Redactor
from application.timestamps import iso
from domain.pull_endpoint import PullEndpoint, SyncAttempt


@dataclass(frozen=True)
class PullEndpointChange:
    """A PATCH: fields left ``None`` stay; ``interval_given`` says whether the schedule changes."""

    url: str | None = None
    method: str | None = None
    interval_given: bool = False
    interval_minutes: int | None = None


@dataclass(frozen=True)
class AddedPullEndpoint:
    endpoint_id: UUID
    url: str
    method: str
    interval_minutes: int | None
    secret: str = field(repr=False)
    warnings: tuple[str, ...] = ()

    def as_body(self) -> dict[str, Any]:
        """The 201 body: the only time the secret is shown."""
        body: dict[str, Any] = {
            "id": str(self.endpoint_id),
            "url": self.url,
            "method": self.method,
            "intervalMinutes": self.interval_minutes,
            "secret": self.secret,
        }
        if self.warnings:
            body["warnings"] = list(self.warnings)
        return body


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

    def as_body(self) -> dict[str, Any]:
        """The webhook's success body, exactly."""
        if self.ingest is None:
            raise self.failure or UpstreamError("The WMS could not be pulled")
        return self.ingest.as_body()

    def redacted(self, redactor: Redactor) -> SyncOutcome:
        """This outcome with the secret redacted from everything it says."""
        failure = self.failure
        if failure is not None:
            failure = UpstreamError(redactor.text(str(failure)), redactor.value(failure.details))
        summary = redactor.text(self.summary) if self.summary is not None else None
        return SyncOutcome(self.ingest, failure, self.reason, summary, self.retry_after, self.attempt)


def endpoint_view(endpoint: PullEndpoint) -> dict[str, Any]:
    """An endpoint as the API shows it after a change (never its secret)."""
    return {
        "id": str(endpoint.id),
        "url": endpoint.url,
        "method": endpoint.method,
        "intervalMinutes": endpoint.interval_minutes,
        "nextSyncAt": iso(endpoint.next_sync_at) if endpoint.next_sync_at is not None else None,
    }
