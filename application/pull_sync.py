"""Pull from WMS: the use cases behind Settings -> Integrations -> "Pull from WMS".

Policy:

* Admin only (``Permission.MANAGE_INTEGRATIONS``, checked here). An endpoint
  of another tenant, or a removed one, does not exist (404).
* The pull secret is generated here, returned once, and kept only sealed by
  the ``SecretBox``; it is unsealed just before a call, sent only as the
  Bearer token, and never logged.
* A pulled body takes the webhook's own path, ``IntakeApplication.receive_batch``,
  with channel ``pull`` and the attempt id as delivery id: the same checks,
  the same atomic and idempotent ``IngestOrders``, the same events. A body
  the webhook would refuse is recorded in the delivery log and stores no order.
* Every attempt, manual or scheduled, success or failure, is one
  ``SyncAttempted`` event on the endpoint. ``updatedSince`` is the start of
  the last successful attempt (orders changed during that pull are pulled
  again, never missed).
* Store calls block, so they run through the injected runner (a thread pool);
  only the fetch is awaited on the event loop, so a slow WMS holds one
  coroutine and nothing else.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from application.commands import IngestResult, Principal, ReceiveBatch
from application.errors import (
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PayloadRejectedError,
    ServiceUnavailableError,
    UpstreamError,
)
from application.intake_app import IntakeApplication
from application.ports import Clock, PullSource, SecretBox
from application.read_models import PullEndpointsQueries
from application.timestamps import iso
from application.tokens import new_secret
from domain.errors import DomainError, PullEndpointRemovedError
from domain.pull_endpoint import PullEndpoint, PullTarget, SyncAttempt
from domain.roles import Permission
from domain.source import Source

log = logging.getLogger(__name__)

PULL_SECRET_PREFIX = "pls"
MAX_CONFLICT_RETRIES = 8
NOT_FOUND = "Pull endpoint not found"

#: The 502's sentence for each way a fetch can fail.
FETCH_FAILURES: dict[str, str] = {
    "unreachable": "The WMS could not be reached",
    "timeout": "The WMS did not answer in time",
    "http_status": "The WMS answered with an error status",
    "too_large": "The WMS response is too large",
    "redirect_refused": "The WMS redirected to another host",
    "refused_address": "The WMS URL points to a private address",
    "invalid_url": "The pull URL cannot be used",
}

T = TypeVar("T")


class PullFetchFailedError(Exception):
    """The ``PullSource`` got no usable body; ``reason`` is one of ``FETCH_FAILURES``.

    ``message`` is safe to show and log: it never holds the secret.
    """

    def __init__(self, reason: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


class BlockingRunner(Protocol):
    def __call__(self, call: Callable[[], T]) -> Awaitable[T]: ...


class ExecutorRunner:
    """Runs blocking store calls in a bounded thread pool, from whichever loop awaits."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    def __call__(self, call: Callable[[], T]) -> Awaitable[T]:
        # In the caller's context: saves note their position for the caller's response.
        context = contextvars.copy_context()
        return asyncio.get_running_loop().run_in_executor(self._executor, context.run, call)


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

    def as_body(self) -> dict[str, Any]:
        """The 201 body: the only time the secret is shown."""
        return {
            "id": str(self.endpoint_id),
            "url": self.url,
            "method": self.method,
            "intervalMinutes": self.interval_minutes,
            "secret": self.secret,
        }


@dataclass(frozen=True)
class SyncResult:
    attempt_id: UUID
    ingest: IngestResult

    @property
    def created(self) -> int:
        return self.ingest.created

    @property
    def processed(self) -> int:
        return len(self.ingest.orders)

    def as_body(self) -> dict[str, Any]:
        """The webhook's success body, exactly."""
        return self.ingest.as_body()


@dataclass(frozen=True)
class SyncOutcome:
    """An attempt as recorded, with the ingest result or the 502 it amounts to."""

    attempt: SyncAttempt
    result: IngestResult | None
    failure: UpstreamError | None


@dataclass(frozen=True)
class _Plan:
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


@dataclass(frozen=True)
class _Pulled:
    """What one pull came to: an ingest result, or the failure and its recorded reason."""

    result: IngestResult | None = None
    failure: UpstreamError | None = None
    reason: str | None = None
    summary: str | None = None


class PullService:
    def __init__(
        self,
        app: IntakeApplication,
        source: PullSource,
        secrets: SecretBox,
        endpoints: PullEndpointsQueries,
        run: BlockingRunner,
        *,
        clock: Clock,
        max_items: int,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.source = source
        self.secrets = secrets
        self.endpoints = endpoints
        self.run = run
        self.clock = clock
        self.max_items = max_items
        self.max_body_bytes = max_body_bytes

    # ------------------------------------------------------------------ admin (blocking)

    def add_endpoint(
        self, principal: Principal, url: str, method: str, interval_minutes: int | None
    ) -> AddedPullEndpoint:
        """Add an endpoint; its secret is in the result and nowhere else in clear."""
        _require(principal)
        secret = new_secret(PULL_SECRET_PREFIX)
        try:
            endpoint = PullEndpoint.add(
                principal.tenant_id,
                PullTarget(url, method),
                interval_minutes,
                self.secrets.encrypt(secret),
                self.clock.now(),
                _acting(principal),
            )
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        self.app.save(endpoint)
        return AddedPullEndpoint(endpoint.id, endpoint.url, endpoint.method, endpoint.interval_minutes, secret)

    def list_endpoints(self, principal: Principal) -> list[dict[str, Any]]:
        _require(principal)
        return self.endpoints.list_pull_endpoints(str(principal.tenant_id))

    def change_endpoint(
        self, principal: Principal, endpoint_id: str, change: PullEndpointChange
    ) -> dict[str, Any]:
        _require(principal)
        source = _acting(principal)

        def apply(endpoint: PullEndpoint) -> bool:
            target = PullTarget(change.url or endpoint.url, change.method or endpoint.method)
            changed = endpoint.retarget(target, source)
            if change.interval_given:
                changed = endpoint.change_interval(change.interval_minutes, self.clock.now(), source) or changed
            return changed

        return endpoint_view(self._change(principal.tenant_id, endpoint_id, apply))

    def remove_endpoint(self, principal: Principal, endpoint_id: str) -> None:
        _require(principal)
        source = _acting(principal)

        def apply(endpoint: PullEndpoint) -> bool:
            endpoint.remove(self.clock.now(), source)
            return True

        self._change(principal.tenant_id, endpoint_id, apply)

    def regenerate_secret(self, principal: Principal, endpoint_id: str) -> str:
        """A new secret, shown once; the WMS must be given it before the next sync."""
        _require(principal)
        source = _acting(principal)
        secret = new_secret(PULL_SECRET_PREFIX)
        sealed = self.secrets.encrypt(secret)

        def apply(endpoint: PullEndpoint) -> bool:
            endpoint.regenerate_secret(sealed, source)
            return True

        self._change(principal.tenant_id, endpoint_id, apply)
        return secret

    # ------------------------------------------------------------------ syncing (async)

    async def sync_now(self, principal: Principal, endpoint_id: str, request_id: str) -> SyncResult:
        """"Sync now": the webhook's success body, or UpstreamError (502) saying why not."""
        _require(principal)
        plan = await self.run(partial(self._plan_manual, principal, endpoint_id, request_id))
        outcome = await self._attempt(plan)
        if outcome.result is None:
            raise outcome.failure or UpstreamError("The WMS could not be pulled")
        return SyncResult(plan.attempt_id, outcome.result)

    async def sync_scheduled(self, endpoint_id: UUID, attempt_id: UUID) -> SyncOutcome | None:
        """Run the scheduled sync a claim won, if the endpoint really is due (else None)."""
        plan = await self.run(partial(self._plan_scheduled, endpoint_id, attempt_id))
        if plan is None:
            return None
        return await self._attempt(plan)

    async def _attempt(self, plan: _Plan) -> SyncOutcome:
        """Pull once, ingest what came, record the attempt whatever happened."""
        pulled = await self._pull(plan)
        attempt = SyncAttempt(
            attempt_id=plan.attempt_id,
            trigger=plan.trigger,
            started_at=plan.started_at,
            finished_at=max(self.clock.now(), plan.started_at),
            ok=pulled.failure is None,
            processed=len(pulled.result.orders) if pulled.result is not None else None,
            reason=pulled.reason,
            error=pulled.summary,
            updated_since=plan.updated_since,
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
                "reason": pulled.reason,
                "error": pulled.summary,
            },
        )
        return SyncOutcome(attempt, pulled.result, pulled.failure)

    async def _pull(self, plan: _Plan) -> _Pulled:
        if plan.secret is None:
            return _Pulled(
                failure=UpstreamError("The pull secret cannot be decrypted", {"reason": "secret_unreadable"}),
                reason="secret_unreadable",
                summary="the stored pull secret cannot be decrypted (was WMS_INTAKE_SECRET_KEY changed?)",
            )
        updated_since = iso(plan.updated_since) if plan.updated_since is not None else None
        try:
            body = await self.source.fetch(plan.url, plan.method, plan.secret, updated_since)
        except PullFetchFailedError as error:
            details: dict[str, Any] = {"reason": error.reason, "message": error.message}
            if error.status is not None:
                details["status"] = error.status
            sentence = FETCH_FAILURES.get(error.reason, "The WMS could not be pulled")
            return _Pulled(failure=UpstreamError(sentence, details), reason=error.reason, summary=error.message)
        try:
            return _Pulled(result=await self.run(partial(self.app.receive_batch, self._batch_of(plan, body))))
        except PayloadRejectedError as rejected:
            # The 502's details are exactly the body the webhook would have answered.
            return _Pulled(
                failure=UpstreamError(
                    f"The WMS data failed the webhook's validation (HTTP {rejected.status})", rejected.body
                ),
                reason="rejected",
                summary=(
                    f"the webhook would have answered HTTP {rejected.status} "
                    f"{rejected.body.get('error', 'rejected')!r} to this data"
                ),
            )

    def _batch_of(self, plan: _Plan, body: bytes) -> ReceiveBatch:
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
        )

    # ------------------------------------------------------------------ store side (blocking)

    def _plan_manual(self, principal: Principal, endpoint_id: str, request_id: str) -> _Plan:
        endpoint = self._endpoint(principal.tenant_id, endpoint_id)
        attempt_id = uuid4()
        source = Source(
            channel="pull", delivery_id=str(attempt_id), request_id=request_id, api_key_id=principal.key_id
        )
        return self._plan(endpoint, attempt_id, "manual", request_id, source)

    def _plan_scheduled(self, endpoint_id: UUID, attempt_id: UUID) -> _Plan | None:
        # The claim came from the read model; the event store decides.
        endpoint = self._load(endpoint_id)
        if endpoint is None or not endpoint.is_due(self.clock.now()):
            return None
        request_id = f"pull-{attempt_id.hex}"
        source = Source(channel="pull", delivery_id=str(attempt_id), request_id=request_id)
        return self._plan(endpoint, attempt_id, "schedule", request_id, source)

    def _plan(
        self, endpoint: PullEndpoint, attempt_id: UUID, trigger: str, request_id: str, source: Source
    ) -> _Plan:
        try:
            secret: str | None = self.secrets.decrypt(endpoint.sealed_secret)
        except Exception:  # noqa: BLE001 - any unsealing failure is one recorded outcome
            log.warning("pull endpoint %s: its secret cannot be decrypted", endpoint.id)
            secret = None
        return _Plan(
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
        )

    def _record(self, plan: _Plan, attempt: SyncAttempt) -> None:
        def apply(endpoint: PullEndpoint) -> bool:
            endpoint.record_sync(attempt, plan.source)
            return True

        try:
            self._change(plan.tenant_id, str(plan.endpoint_id), apply)
        except NotFoundError:
            log.info("pull endpoint %s was removed during a sync; attempt %s not recorded",
                     plan.endpoint_id, plan.attempt_id)

    def _change(
        self, tenant_id: UUID, endpoint_id: str, apply: Callable[[PullEndpoint], bool]
    ) -> PullEndpoint:
        """Load, change, save; a concurrent change of the same endpoint is retried on fresh state."""
        delay = 0.005
        for _ in range(MAX_CONFLICT_RETRIES):
            endpoint = self._endpoint(tenant_id, endpoint_id)
            try:
                changed = apply(endpoint)
            except PullEndpointRemovedError:
                raise NotFoundError(NOT_FOUND) from None
            except DomainError as error:
                raise InvalidRequestError(str(error)) from None
            if not changed:
                return endpoint
            try:
                self.app.save(endpoint)
            except IntegrityError:
                time.sleep(random.uniform(0, delay))
                delay = min(delay * 2, 0.25)
                continue
            return endpoint
        raise ServiceUnavailableError("this pull endpoint is being changed concurrently; retry", retry_after=1)

    def _endpoint(self, tenant_id: UUID, endpoint_id: str) -> PullEndpoint:
        try:
            oid = UUID(endpoint_id)
        except ValueError:
            raise NotFoundError(NOT_FOUND) from None
        endpoint = self._load(oid)
        if endpoint is None or endpoint.removed or endpoint.tenant_id != str(tenant_id):
            raise NotFoundError(NOT_FOUND)
        return endpoint

    def _load(self, endpoint_id: UUID) -> PullEndpoint | None:
        found = self.app.load_many([endpoint_id]).get(endpoint_id)
        return found if isinstance(found, PullEndpoint) else None


def endpoint_view(endpoint: PullEndpoint) -> dict[str, Any]:
    """An endpoint as the API shows it after a change (never its secret)."""
    return {
        "id": str(endpoint.id),
        "url": endpoint.url,
        "method": endpoint.method,
        "intervalMinutes": endpoint.interval_minutes,
        "nextSyncAt": iso(endpoint.next_sync_at) if endpoint.next_sync_at is not None else None,
    }


def _require(principal: Principal) -> None:
    if not principal.allows(Permission.MANAGE_INTEGRATIONS):
        raise ForbiddenError()


def _acting(principal: Principal) -> Source:
    return Source(channel="api", api_key_id=principal.key_id)
