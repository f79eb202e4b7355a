"""One sync attempt: plan it under the endpoint's lease, fetch, ingest, record.

``PullService`` is the whole of "Pull from WMS" as the HTTP handlers and the
scheduler see it: the admin use cases (``admin.py``), planning (``plan.py``)
and the attempt itself, here.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from functools import partial
from uuid import UUID

from application.commands import Principal, PulledBatch, ReceiveBatch
from application.errors import NotFoundError, PayloadRejectedError, UpstreamError
from application.ports import Clock, PullSource, SecretBox
from application.ports.aggregates import AggregateStore
from application.ports.blocking import BlockingRunner
from application.ports.intake import BatchReceiver
from application.ports.pull import PullFetchError, PullUrlCheck, SyncLeases
from application.ports.read_models import PullEndpointsQueries
from application.pull import failures
from application.pull.admin import EndpointAdmin, require_admin
from application.pull.concurrency import SyncSlots, TooManySyncsError
from application.pull.endpoint_store import PullEndpointStore
from application.pull.plan import SyncPlan, SyncPlanning
from application.pull.results import SyncOutcome
from application.retrying import give_back
from application.timestamps import iso_or_none
from domain.errors import PullEndpointRemovedError, StalePullError
from domain.pull_endpoint import PullEndpoint, SyncAttempt

log = logging.getLogger(__name__)

#: How long a lease the database would not take back is offered again (after
#: that it ends on its own): left behind, it would answer every "Sync now" of
#: its endpoint with 409 until it ran out, minutes later.
GIVE_BACK_FOR = 120.0


class PullService(EndpointAdmin, SyncPlanning):
    def __init__(
        self,
        store: AggregateStore,
        receiver: BatchReceiver,
        source: PullSource,
        secrets: SecretBox,
        endpoints: PullEndpointsQueries,
        run: BlockingRunner,
        *,
        clock: Clock,
        max_items: int,
        max_body_bytes: int,
        leases: SyncLeases,
        lease: timedelta,
        slots: SyncSlots,
        check_url: PullUrlCheck,
    ) -> None:
        self.endpoint_store = PullEndpointStore(store)
        self.receiver = receiver
        self.source = source
        self.secrets = secrets
        self.endpoints = endpoints
        self.run = run
        self.clock = clock
        self.max_items = max_items
        self.max_body_bytes = max_body_bytes
        self.leases = leases
        self.lease = lease
        self.slots = slots
        self.check_url = check_url

    async def sync_now(self, principal: Principal, endpoint_id: str, request_id: str) -> SyncOutcome:
        """ "Sync now": the outcome of a sync that stored what it pulled, or
        UpstreamError (502) saying why not."""
        require_admin(principal)
        if not self.slots.try_take():
            raise TooManySyncsError()
        try:
            plan = await self.run(partial(self._plan_manual, principal, endpoint_id, request_id))
            try:
                outcome = await self._attempt(plan)
            finally:
                await self._give_back(plan)
        finally:
            self.slots.give_back()
        if outcome.ingest is None:
            raise outcome.failure or UpstreamError("The WMS could not be pulled")
        return outcome

    async def sync_scheduled(self, endpoint_id: UUID, attempt_id: UUID) -> SyncOutcome | None:
        """Run the scheduled sync a claim won, if the endpoint really is due and no
        other sync of it runs (else None: skipped, the schedule tries again)."""
        if not self.slots.try_take():
            return None
        try:
            plan = await self.run(partial(self._plan_scheduled, endpoint_id, attempt_id))
            if plan is None:
                return None
            try:
                return await self._attempt(plan)
            finally:
                await self._give_back(plan)
        finally:
            self.slots.give_back()

    async def _give_back(self, plan: SyncPlan) -> None:
        """Give the endpoint's lease back; while the database is away, in the background."""
        lease = partial(self.leases.give_back, plan.endpoint_id, plan.attempt_id)
        await give_back(lambda: self.run(lease), what=f"the sync lease of {plan.endpoint_id}", seconds=GIVE_BACK_FOR)

    async def _attempt(self, plan: SyncPlan) -> SyncOutcome:
        """Pull once, ingest what came, record the attempt whatever happened.

        Every way out of an attempt passes the redaction here, before it is
        recorded, logged or returned.
        """
        outcome = (await self._pull(plan)).redacted(plan.redactor)
        failure = outcome.failure
        finished_at = max(self.clock.now(), plan.started_at)
        attempt = SyncAttempt(
            attempt_id=plan.attempt_id,
            trigger=plan.trigger,
            started_at=plan.started_at,
            finished_at=finished_at,
            ok=outcome.ok,
            processed=len(outcome.ingest.orders) if outcome.ingest is not None else None,
            reason=failure.reason if failure is not None else None,
            error=failure.summary if failure is not None else None,
            updated_since=plan.updated_since,
            target_generation=plan.target_generation,
            not_before=(
                finished_at + timedelta(seconds=failure.retry_after)
                if failure is not None and failure.retry_after is not None
                else None
            ),
        )
        await self.run(partial(self._record, plan, attempt))
        log.info(
            "pull sync %s",
            "succeeded" if attempt.ok else "failed",
            extra={
                "tenant": str(plan.tenant_id),
                "endpointId": str(plan.endpoint_id),
                "attemptId": str(plan.attempt_id),
                "trigger": plan.trigger,
                "processed": attempt.processed,
                "reason": attempt.reason,
                "error": attempt.error,
            },
        )
        return replace(outcome, attempt=attempt)

    async def _pull(self, plan: SyncPlan) -> SyncOutcome:
        if plan.secret is None:
            return failures.secret_unreadable()
        updated_since = iso_or_none(plan.updated_since)
        try:
            body = await self.source.fetch(plan.url, plan.method, plan.secret, updated_since)
        except PullFetchError as error:
            return failures.fetch_failed(error)
        if await self.run(partial(plan.redactor.contains, body)):
            # Redacting order data would store what the WMS never sent: refuse it whole.
            return failures.secret_echoed()
        try:
            return SyncOutcome(ingest=await self.run(partial(self.receiver.receive_batch, self._batch_of(plan, body))))
        except PullEndpointRemovedError:
            return failures.endpoint_removed()
        except StalePullError as stale:
            return failures.superseded(stale)
        except PayloadRejectedError as refusal:
            return failures.rejected(refusal)

    def _batch_of(self, plan: SyncPlan, body: bytes) -> ReceiveBatch:
        return ReceiveBatch(
            tenant_id=plan.tenant_id,
            body=body,
            body_size=len(body),
            channel="pull",
            request_id=plan.request_id,
            received_at=self.clock.now(),
            max_items=self.max_items,
            max_body_bytes=self.max_body_bytes,
            endpoint_id=str(plan.endpoint_id),
            delivery_id=plan.attempt_id,
            redactor=plan.redactor,
            pulled=PulledBatch(plan.endpoint_id, plan.started_at),
        )

    def _record(self, plan: SyncPlan, attempt: SyncAttempt) -> None:
        """Store the attempt's result on its endpoint (unless the endpoint was removed meanwhile)."""

        def apply(endpoint: PullEndpoint) -> bool:
            endpoint.record_sync(attempt, plan.source)
            return True

        try:
            self.endpoint_store.change(plan.tenant_id, str(plan.endpoint_id), apply)
        except NotFoundError:
            log.info(
                "pull endpoint %s was removed during a sync; attempt %s not recorded", plan.endpoint_id, plan.attempt_id
            )
