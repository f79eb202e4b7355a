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
* One sync per endpoint at a time, across processes, and a few per process
  (``application/pull_concurrency.py``). The ingest of a pull carries the
  sync's start: a batch older than one already stored is refused whole
  (reason ``superseded``), never re-fetched.
* ``updatedSince`` belongs to the URL it was earned from: a URL change resets
  it, and a sync that started before the change never writes it.
* Whatever an attempt produces (the 502's details, ``lastError``, the
  ``SyncAttempted`` event, the log line) leaves ``_attempt`` through one
  ``Redactor`` holding the pull secret; refused batches are redacted by
  ``receive_batch`` before the delivery log keeps them. A pulled body that
  holds the secret is refused whole (reason ``secret_echoed``).
* The URL is judged when an endpoint is added or retargeted by the same
  rules as at sync time (``PullUrlCheck``).
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
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from application.principals import acting as _acting, require
from application.commands import IngestResult, Principal, PulledBatch, ReceiveBatch
from application.errors import (
    InvalidRequestError,
    NotFoundError,
    PayloadRejectedError,
    ServiceUnavailableError,
    UpstreamError,
)
from application.intake_app import IntakeApplication
from application.media_types import UNSUPPORTED_MEDIA_TYPE_BODY
from application.ports import Clock, PullSource, SecretBox
from application.pull_concurrency import SyncLeases, SyncRunningError, SyncSlots, TooManySyncsError
from application.read_models import PullEndpointsQueries
from application.redaction import Redactor
from application.timestamps import iso
from application.tokens import new_secret
from domain.errors import DomainError, PullEndpointRemovedError, StalePullError
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
    "redirect_refused": "The WMS redirect was not followed (another origin, or too many redirects)",
    "redirect_loop": "The WMS redirected in a loop",
    "refused_address": "The WMS URL points to a private address",
    "invalid_url": "The pull URL cannot be used",
    "unsupported_media_type": "The WMS answered with a Content-Type that is not JSON",
}
#: The setting that lets pull URLs reach private addresses (on-premises WMSs).
ALLOW_PRIVATE_SETTING = "WMS_INTAKE_PULL_ALLOW_PRIVATE"

T = TypeVar("T")


class PullFetchFailedError(Exception):
    """The ``PullSource`` got no usable body; ``reason`` is one of ``FETCH_FAILURES``.

    ``message`` is safe to show and log: it never holds the secret.
    """

    def __init__(
        self, reason: str, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status
        #: Seconds the WMS asked us to wait (its ``Retry-After``), if it said.
        self.retry_after = retry_after


class PullUrlRefusedError(Exception):
    """A pull URL the outbound rules would refuse at sync time; ``reason`` as in ``FETCH_FAILURES``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class PullUrlCheck(Protocol):
    def __call__(self, url: str) -> list[str]:
        """Judge ``url`` as a sync would: raise ``PullUrlRefusedError``, or return warnings."""


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
    target_generation: int = 0

    @property
    def redactor(self) -> Redactor:
        return Redactor([self.secret] if self.secret else [])


@dataclass(frozen=True)
class _Pulled:
    """What one pull came to: an ingest result, or the failure and its recorded reason."""

    result: IngestResult | None = None
    failure: UpstreamError | None = None
    reason: str | None = None
    summary: str | None = None
    retry_after: float | None = None


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
        leases: SyncLeases,
        lease: timedelta,
        slots: SyncSlots,
        check_url: PullUrlCheck,
    ) -> None:
        self.app = app
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

    # ------------------------------------------------------------------ admin (blocking)

    def add_endpoint(
        self, principal: Principal, url: str, method: str, interval_minutes: int | None
    ) -> AddedPullEndpoint:
        """Add an endpoint; its secret is in the result and nowhere else in clear."""
        _require(principal)
        secret = new_secret(PULL_SECRET_PREFIX)
        try:
            target = PullTarget(url, method)
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        warnings = self._judge_url(target.url)
        try:
            endpoint = PullEndpoint.add(
                principal.tenant_id,
                target,
                interval_minutes,
                self.secrets.encrypt(secret),
                self.clock.now(),
                _acting(principal),
            )
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        self.app.save(endpoint)
        return AddedPullEndpoint(
            endpoint.id, endpoint.url, endpoint.method, endpoint.interval_minutes, secret, tuple(warnings)
        )

    def _judge_url(self, url: str) -> list[str]:
        """The sync-time rules for ``url``, applied now: a 400 saying why, or warnings."""
        try:
            return self.check_url(url)
        except PullUrlRefusedError as refused:
            details: dict[str, Any] = {"reason": refused.reason, "message": refused.message}
            if refused.reason == "refused_address":
                details["setting"] = ALLOW_PRIVATE_SETTING
                details["hint"] = (
                    f"a WMS on a private network (on premises) is allowed with {ALLOW_PRIVATE_SETTING}=true"
                )
            raise InvalidRequestError(
                f"{FETCH_FAILURES.get(refused.reason, 'The pull URL cannot be used')}: {refused.message}", details
            ) from None

    def list_endpoints(self, principal: Principal) -> list[dict[str, Any]]:
        _require(principal)
        return self.endpoints.list_pull_endpoints(str(principal.tenant_id))

    def change_endpoint(
        self, principal: Principal, endpoint_id: str, change: PullEndpointChange
    ) -> dict[str, Any]:
        _require(principal)
        source = _acting(principal)
        if change.url is not None:
            try:
                PullTarget(change.url, change.method or "GET")
            except DomainError as error:
                raise InvalidRequestError(str(error)) from None
            self._judge_url(change.url)

        def apply(endpoint: PullEndpoint) -> bool:
            target = PullTarget(change.url or endpoint.url, change.method or endpoint.method)
            if change.url is not None and self._holds_secret(endpoint, change.url):
                # The URL is kept in events and read models, where no secret may be.
                raise InvalidRequestError("url must not contain the pull secret: the WMS gets it as a Bearer token")
            changed = endpoint.retarget(target, source)
            if change.interval_given:
                changed = endpoint.change_interval(change.interval_minutes, self.clock.now(), source) or changed
            return changed

        return endpoint_view(self._change(principal.tenant_id, endpoint_id, apply))

    def _holds_secret(self, endpoint: PullEndpoint, text: str) -> bool:
        try:
            secret = self.secrets.decrypt(endpoint.sealed_secret)
        except Exception:  # noqa: BLE001 - an unreadable secret cannot be in the URL either
            return False
        return Redactor([secret]).contains(text)

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
        if not self.slots.try_take():
            raise TooManySyncsError()
        try:
            plan = await self.run(partial(self._plan_manual, principal, endpoint_id, request_id))
            try:
                outcome = await self._attempt(plan)
            finally:
                await self.run(partial(self.leases.give_back, plan.endpoint_id, plan.attempt_id))
        finally:
            self.slots.give_back()
        if outcome.result is None:
            raise outcome.failure or UpstreamError("The WMS could not be pulled")
        return SyncResult(plan.attempt_id, outcome.result)

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
                await self.run(partial(self.leases.give_back, plan.endpoint_id, plan.attempt_id))
        finally:
            self.slots.give_back()

    async def _attempt(self, plan: _Plan) -> SyncOutcome:
        """Pull once, ingest what came, record the attempt whatever happened.

        Every way out of an attempt passes the redaction here, before it is
        recorded, logged or returned.
        """
        pulled = _redacted(await self._pull(plan), plan.redactor)
        finished_at = max(self.clock.now(), plan.started_at)
        attempt = SyncAttempt(
            attempt_id=plan.attempt_id,
            trigger=plan.trigger,
            started_at=plan.started_at,
            finished_at=finished_at,
            ok=pulled.failure is None,
            processed=len(pulled.result.orders) if pulled.result is not None else None,
            reason=pulled.reason,
            error=pulled.summary,
            updated_since=plan.updated_since,
            target_generation=plan.target_generation,
            not_before=(
                finished_at + timedelta(seconds=pulled.retry_after) if pulled.retry_after is not None else None
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
            if error.reason == "unsupported_media_type":
                # Judged like the webhook: the details are the 415 it would have answered.
                return _Pulled(
                    failure=UpstreamError(
                        "The WMS data failed the webhook's checks (HTTP 415)", dict(UNSUPPORTED_MEDIA_TYPE_BODY)
                    ),
                    reason=error.reason,
                    summary=error.message,
                )
            details: dict[str, Any] = {"reason": error.reason, "message": error.message}
            if error.status is not None:
                details["status"] = error.status
            if error.retry_after is not None:
                details["retryAfter"] = round(error.retry_after)
            sentence = FETCH_FAILURES.get(error.reason, "The WMS could not be pulled")
            return _Pulled(
                failure=UpstreamError(sentence, details),
                reason=error.reason,
                summary=error.message,
                retry_after=error.retry_after,
            )
        if await self.run(partial(plan.redactor.contains, body)):
            # Redacting order data would store what the WMS never sent: refuse it whole.
            message = "the WMS answer contains the pull secret it was sent; nothing of it was stored"
            return _Pulled(
                failure=UpstreamError(
                    "The WMS echoed the pull secret", {"reason": "secret_echoed", "message": message}
                ),
                reason="secret_echoed",
                summary=message,
            )
        try:
            return _Pulled(result=await self.run(partial(self.app.receive_batch, self._batch_of(plan, body))))
        except PullEndpointRemovedError:
            message = "the endpoint was removed during the sync; nothing was stored"
            return _Pulled(
                failure=UpstreamError("The pull endpoint was removed", {"reason": "removed", "message": message}),
                reason="removed",
                summary=message,
            )
        except StalePullError as stale:
            message = f"not stored: {stale}"
            return _Pulled(
                failure=UpstreamError(
                    "A later sync of this endpoint already stored newer data",
                    {"reason": "superseded", "message": message},
                ),
                reason="superseded",
                summary=message,
            )
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
            redactor=plan.redactor,
            pulled=PulledBatch(plan.endpoint_id, plan.started_at),
        )

    # ------------------------------------------------------------------ store side (blocking)

    def _plan_manual(self, principal: Principal, endpoint_id: str, request_id: str) -> _Plan:
        """Take the endpoint's lease (409 naming the running sync if another holds it), then plan."""
        endpoint = self._endpoint(principal.tenant_id, endpoint_id)
        attempt_id = uuid4()
        self._take_lease(endpoint.id, attempt_id, "manual")
        try:
            # Read again under the lease: a sync that ended just before may have moved the cursor.
            endpoint = self._endpoint(principal.tenant_id, endpoint_id)
        except Exception:
            self.leases.give_back(endpoint.id, attempt_id)
            raise
        source = Source(
            channel="pull", delivery_id=str(attempt_id), request_id=request_id, api_key_id=principal.key_id
        )
        return self._plan(endpoint, attempt_id, "manual", request_id, source)

    def _plan_scheduled(self, endpoint_id: UUID, attempt_id: UUID) -> _Plan | None:
        # The claim came from the read model; the event store decides.
        endpoint = self._load(endpoint_id)
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
        endpoint = self._load(endpoint_id)
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
            target_generation=endpoint.target_generation,
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


def _redacted(pulled: _Pulled, redactor: Redactor) -> _Pulled:
    """What an attempt came to, with the secret redacted from everything it says."""
    failure = pulled.failure
    if failure is not None:
        failure = UpstreamError(redactor.text(str(failure)), redactor.value(failure.details))
    return _Pulled(
        result=pulled.result,
        failure=failure,
        reason=pulled.reason,
        summary=redactor.text(pulled.summary) if pulled.summary is not None else None,
        retry_after=pulled.retry_after,
    )


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
    require(principal, Permission.MANAGE_INTEGRATIONS)
