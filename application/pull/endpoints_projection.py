"""The pull-endpoints read model: each endpoint, its last sync and when it is next due.

The same rows serve the integration status (``pullEndpoints``) and the
scheduler, which claims due rows (see ``application/pull/schedule.py``). The
row's ``next_sync_at`` is copied from the events, where the aggregate decided
it; applying an attempt also ends the scheduler's claim made for that attempt.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from application.event_topics import event_topics
from application.ports.read_models import PullEndpointsWriter
from domain.pull_endpoint import PullEndpoint


class PullEndpointsProjection:
    name = "pull_endpoints"
    topics = event_topics(PullEndpoint, "Added", "Retargeted", "IntervalChanged", "Removed", "SyncAttempted")

    @singledispatchmethod
    def process(self, event: Any, writer: PullEndpointsWriter) -> None:
        """Events of other types change nothing here (a secret change shows nowhere)."""

    @process.register
    def _(self, event: PullEndpoint.Added, writer: PullEndpointsWriter) -> None:
        writer.endpoint_added(
            {
                "endpoint_id": str(event.originator_id),
                "tenant_id": event.tenant_id,
                "url": event.url,
                "method": event.method,
                "interval_minutes": event.interval_minutes,
                "created_at": event.added_at,
                "next_sync_at": event.next_sync_at,
            }
        )

    @process.register
    def _(self, event: PullEndpoint.Retargeted, writer: PullEndpointsWriter) -> None:  # type: ignore[name-defined]  # made by @event
        writer.endpoint_changed(str(event.originator_id), {"url": event.url, "method": event.method})

    @process.register
    def _(self, event: PullEndpoint.IntervalChanged, writer: PullEndpointsWriter) -> None:  # type: ignore[name-defined]  # made by @event
        writer.endpoint_changed(
            str(event.originator_id), {"interval_minutes": event.interval_minutes, "next_sync_at": event.next_sync_at}
        )

    @process.register
    def _(self, event: PullEndpoint.Removed, writer: PullEndpointsWriter) -> None:  # type: ignore[name-defined]  # made by @event
        writer.endpoint_removed(str(event.originator_id))

    @process.register
    def _(self, event: PullEndpoint.SyncAttempted, writer: PullEndpointsWriter) -> None:  # type: ignore[name-defined]  # made by @event
        writer.sync_attempted(
            str(event.originator_id),
            event.attempt_id,
            {
                "last_sync_at": event.finished_at,
                "last_sync_status": event.outcome,
                "last_error": event.error,
                "last_processed": event.processed,
                "next_sync_at": event.next_sync_at,
            },
        )
