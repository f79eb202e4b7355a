"""What one sync attempt needs, read from the endpoint under its lease, before the fetch."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from application.commands import Principal
from application.ports import Clock, SecretBox
from application.ports.pull import SyncLeases
from application.pull.concurrency import SyncRunningError
from application.pull.endpoint_store import PullEndpointStore
from application.redaction import Redactor
from domain.pull_endpoint import PullEndpoint
from domain.source import Source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncPlan:
    """Everything one attempt needs, read from the endpoint before the fetch."""

    endpoint_id: UUID
    tenant_id: UUID
    attempt_id: UUID
    trigger: str
    url: str
    method: str
    secret: str | None = field(repr=False)  # None: it could not be unsealed
    updated_since: datetime | None
    started_at: datetime
    request_id: str
    source: Source
    target_generation: int = 0

    @property
    def redactor(self) -> Redactor:
        return Redactor([self.secret] if self.secret else [])


class SyncPlanning:
    """The planning half of ``PullService`` (which sets these attributes); blocking."""

    endpoint_store: PullEndpointStore
    leases: SyncLeases
    lease: timedelta
    secrets: SecretBox
    clock: Clock

    def _plan_manual(self, principal: Principal, endpoint_id: str, request_id: str) -> SyncPlan:
        """Take the endpoint's lease (409 naming the running sync if another holds it), then plan."""
        endpoint = self.endpoint_store.of_tenant(principal.tenant_id, endpoint_id)
        attempt_id = uuid4()
        self._take_lease(endpoint.id, attempt_id, "manual")
        try:
            # Read again under the lease: a sync that ended just before may have moved the cursor.
            endpoint = self.endpoint_store.of_tenant(principal.tenant_id, endpoint_id)
        except Exception:
            self.leases.give_back(endpoint.id, attempt_id)
            raise
        source = Source(channel="pull", delivery_id=str(attempt_id), request_id=request_id, api_key_id=principal.key_id)
        return self._plan(endpoint, attempt_id, "manual", request_id, source)

    def _plan_scheduled(self, endpoint_id: UUID, attempt_id: UUID) -> SyncPlan | None:
        # The claim came from the read model; the event store decides.
        endpoint = self.endpoint_store.load(endpoint_id)
        if endpoint is None or not endpoint.is_due(self.clock.now()):
            return None
        try:
            self._take_lease(endpoint.id, attempt_id, "schedule")
        except SyncRunningError as running:
            log.info(
                "scheduled pull of endpoint %s skipped: sync %s of it is running",
                endpoint_id,
                running.running_attempt_id,
            )
            return None
        endpoint = self.endpoint_store.load(endpoint_id)
        if endpoint is None or not endpoint.is_due(self.clock.now()):
            self.leases.give_back(endpoint_id, attempt_id)
            return None
        request_id = f"pull-{attempt_id.hex}"
        source = Source(channel="pull", delivery_id=str(attempt_id), request_id=request_id)
        return self._plan(endpoint, attempt_id, "schedule", request_id, source)

    def _take_lease(self, endpoint_id: UUID, attempt_id: UUID, trigger: str) -> None:
        now = self.clock.now()
        running = self.leases.take(endpoint_id, attempt_id, trigger, now, now + self.lease)
        if running is not None:
            raise SyncRunningError(running)

    def _plan(
        self, endpoint: PullEndpoint, attempt_id: UUID, trigger: str, request_id: str, source: Source
    ) -> SyncPlan:
        try:
            secret: str | None = self.secrets.decrypt(endpoint.sealed_secret)
        except Exception:
            log.warning("pull endpoint %s: its secret cannot be decrypted", endpoint.id)
            secret = None
        return SyncPlan(
            endpoint_id=endpoint.id,
            tenant_id=UUID(endpoint.tenant_id),
            attempt_id=attempt_id,
            trigger=trigger,
            url=endpoint.url,
            method=endpoint.method,
            secret=secret,
            updated_since=endpoint.last_success_started_at,
            started_at=self.clock.now(),
            request_id=request_id,
            source=source,
            target_generation=endpoint.target_generation,
        )
