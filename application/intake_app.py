"""The order-intake application service: one eventsourcing Application.

Every method takes simple values or a command and returns results (never
aggregates). Each command persists everything it touched with one ``save``,
which is one database transaction.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
    Transcoder,
)

from application.aggregate_cache import AggregateCache
from application.batch import BatchKeys, apply_batch, check_named_customers, keys_of, unknown_customers
from application.clock import SystemClock
from application.commands import (
    IngestOrders,
    IngestResult,
    IssuedApiKey,
    OrderOutcome,
    Principal,
    ReceiveBatch,
    RecordRejectedDelivery,
    TenantCreated,
    all_rejected_status,
    partial_body,
)
from application.consistency import EventPositions
from application.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PayloadRejectedError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from application.event_transcoder import OrjsonTranscoder
from application.group_commit import GroupCommitter, Store
from application.history import history_of, order_state
from application.order_lines import OrderLine
from application.order_rows import put_events, record_batch
from application.order_payload import parse_order_batch_partially, parse_order_batch_with_warnings
from application.ports import EXPECTED_VERSIONS, BulkEventReader, Clock
from application.refusals import DEACTIVATED, WRONG_SECRET, RefusalCounter
from application.tokens import hash_matches, hash_secret, new_secret, secret_matches
from application.timestamps import iso
from application.write_positions import note_written
from domain.customer import Customer
from domain.delivery import Delivery
from domain.errors import DomainError
from domain.ids import webhook_id
from domain.order import Order
from domain.pull_endpoint import PullEndpoint
from domain.roles import Permission, Role
from domain.source import Source
from domain.tenant import Tenant
from domain.webhook import WmsWebhook

log = logging.getLogger(__name__)

API_KEY_PREFIX = "wik"
WEBHOOK_SECRET_PREFIX = "whs"
MAX_CONFLICT_RETRIES = 12
#: Conflicts retried optimistically before a batch takes the writer's turn to itself.
OPTIMISTIC_ATTEMPTS = 4


class RepositoryBulkReader:
    """Fallback bulk reader: one query per aggregate, on any event store."""

    def __init__(self, app: Application) -> None:
        self._app = app

    def select_events_of(
        self, originator_ids: Iterable[UUID], after: Mapping[UUID, int] | None = None
    ) -> dict[UUID, list[StoredEvent]]:
        found: dict[UUID, list[StoredEvent]] = {}
        for oid in originator_ids:
            known = (after or {}).get(oid)
            events = list(self._app.recorder.select_events(oid, gt=known))
            if events:
                found[oid] = events
        return found


class IntakeApplication(Application):
    """Tenants, API keys, the WMS webhook, customers, and order batches."""

    name = "WmsIntake"

    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        self.bulk_reader: BulkEventReader = RepositoryBulkReader(self)
        #: Finds the position of a batch stored by an attempt whose reply was lost.
        self.event_positions: EventPositions | None = None
        self._save_listeners: list[Callable[[], None]] = []
        self._batch_listeners: list[Callable[[str, IngestResult], None]] = []
        self._listeners_lock = threading.Lock()
        self.committer = GroupCommitter(self._store_notified)
        self.aggregate_cache = AggregateCache(max_items=25_000)
        #: Order events of a batch written as rows without an aggregate per order
        #: (``application.order_rows``); False: through the aggregates, the reference.
        self.lean_batches = True
        #: tenant -> its webhook's credentials, as last read here.
        self._webhook_credentials: dict[UUID, WebhookCredentials] = {}
        #: Refused webhook requests of known tenants, by reason (flushed to a table elsewhere).
        self.auth_refusals = RefusalCounter()

    # ------------------------------------------------------------------ batch counting

    def on_batch(self, listener: Callable[[str, IngestResult], None]) -> None:
        """Call ``listener(channel, result)`` once per stored batch, whatever
        brought it (webhook, Sync now, a scheduled pull, in any process)."""
        with self._listeners_lock:
            self._batch_listeners.append(listener)

    def _batch_accepted(self, channel: str, result: IngestResult) -> None:
        for listener in self._batch_listeners:
            try:
                listener(channel, result)
            except Exception:  # noqa: BLE001 - counting never fails a stored batch
                log.exception("batch listener failed")

    # ------------------------------------------------------------------ plumbing

    def construct_transcoder(self) -> Transcoder:
        return OrjsonTranscoder()

    def on_saved(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every successful save (wakes the projections)."""
        with self._listeners_lock:
            self._save_listeners.append(listener)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Store every pending event of ``objs`` (aggregates or events) in one transaction.

        Does what ``Application.save`` does for this application (no snapshots,
        no repository cache) without its runtime Protocol checks, which cost
        more than the insert itself for large batches.
        """
        recordings = self._store_events(_pending_events_of(objs), **kwargs)
        note_written(recording.notification.id for recording in recordings)
        return recordings

    def _store_notified(
        self, events: list[Any], expected_versions: Mapping[UUID, int] | None = None
    ) -> list[int]:
        """Store ``events``; their notification ids (the group committer's store)."""
        return [r.notification.id for r in self._store_events(events, expected_versions)]

    def _store_events(
        self, events: list[Any], expected_versions: Mapping[UUID, int] | None = None, **kwargs: Any
    ) -> Any:
        if expected_versions:
            kwargs[EXPECTED_VERSIONS] = expected_versions
        try:
            recordings = put_events(self.mapper, self.recorder, events, **kwargs)
        except (InterfaceError, OperationalError) as error:
            raise ServiceUnavailableError("the database is unavailable; retry shortly") from error
        for listener in list(self._save_listeners):
            listener()
        return recordings

    def load_many(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        """Reconstruct many aggregates from one bulk read of their events.

        Aggregates this process has seen stored are read from the version it
        saw on (see ``AggregateCache``); the rest from their first event.
        """
        ids = list(ids)
        cached = self.aggregate_cache.restore_many(ids)
        try:
            stored = self.bulk_reader.select_events_of(
                ids, after={oid: aggregate.version for oid, aggregate in cached.items()}
            )
        except (InterfaceError, OperationalError) as error:
            raise ServiceUnavailableError("the database is unavailable; retry shortly") from error
        aggregates: dict[UUID, Aggregate] = {}
        to_domain_event = self.mapper.to_domain_event
        for oid in ids:
            aggregate: Any = cached.get(oid)
            # Replay directly: the library's projector asserts a runtime
            # Protocol per event, which dominated the cost of large batches.
            for stored_event in stored.get(oid, ()):
                aggregate = to_domain_event(stored_event).mutate(aggregate)  # type: ignore[attr-defined]
            if aggregate is not None:
                aggregates[oid] = aggregate
        return aggregates

    def _get(self, aggregate_id: UUID, kind: type[Aggregate]) -> Any:
        found = self.load_many([aggregate_id]).get(aggregate_id)
        return found if isinstance(found, kind) else None

    # ------------------------------------------------------------------ tenants and keys

    def create_tenant(self, name: str) -> TenantCreated:
        try:
            tenant = Tenant.open(name)
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        key_id, api_key = self._new_api_key(tenant, Role.ADMIN)
        self.save(tenant)
        return TenantCreated(tenant_id=tenant.id, admin_api_key=api_key, admin_key_id=key_id)

    def tenant_summary(self, principal: Principal) -> dict[str, Any]:
        """The caller's own tenant: its id and name (any role may read it)."""
        tenant = self._tenant(principal.tenant_id)
        return {"tenantId": str(tenant.id), "name": tenant.name}

    def issue_api_key(self, principal: Principal, role: str, name: str | None = None) -> IssuedApiKey:
        self._require(principal, Permission.MANAGE_API_KEYS)
        try:
            parsed = Role.parse(role)
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        tenant = self._tenant(principal.tenant_id)
        try:
            key_id, api_key = self._new_api_key(tenant, parsed, name)
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        self.save(tenant)
        return IssuedApiKey(key_id=key_id, api_key=api_key, role=parsed, name=tenant.api_keys[key_id].name)

    def list_api_keys(self, principal: Principal) -> list[dict[str, Any]]:
        self._require(principal, Permission.MANAGE_API_KEYS)
        tenant = self._tenant(principal.tenant_id)
        return [
            {
                "id": k.key_id,
                "name": k.name,
                "role": k.role.value,
                "createdAt": iso(k.issued_at),
                "revoked": k.revoked,
            }
            for k in tenant.api_keys.values()
        ]

    def revoke_api_key(self, principal: Principal, key_id: str) -> None:
        self._require(principal, Permission.MANAGE_API_KEYS)
        tenant = self._tenant(principal.tenant_id)
        if key_id not in tenant.api_keys:
            raise NotFoundError("API key not found")
        tenant.revoke_api_key(key_id)
        self.save(tenant)

    def authenticate(self, route_tenant: str, api_key: str) -> Principal:
        """Who holds ``api_key``; a valid key of another tenant gets NotFound."""
        parts = api_key.split("_", 3)
        if len(parts) != 4 or parts[0] != API_KEY_PREFIX:
            raise UnauthorizedError()
        try:
            key_tenant = UUID(hex=parts[1])
        except ValueError:
            raise UnauthorizedError() from None
        tenant = self._get(key_tenant, Tenant)
        record = tenant.active_key(parts[2]) if tenant is not None else None
        # An unknown tenant or key id costs the same comparison as a wrong
        # secret: no timing hint of which tenants and keys exist.
        matches = secret_matches(api_key, record.secret_hash if record is not None else "0" * 64)
        if record is None or not matches:
            raise UnauthorizedError()
        if _parse_tenant(route_tenant) != key_tenant:
            raise NotFoundError("Not found")
        return Principal(tenant_id=key_tenant, key_id=record.key_id, role=record.role)

    def authenticate_own_tenant(self, api_key: str) -> Principal:
        """Who holds ``api_key``, for the key's own tenant (the dashboard's sign-in)."""
        parts = api_key.split("_", 3)
        try:
            key_tenant = str(UUID(hex=parts[1])) if len(parts) == 4 else ""
        except ValueError:
            raise UnauthorizedError() from None
        return self.authenticate(key_tenant, api_key)

    def principal_of_key(self, tenant_id: UUID, key_id: str) -> Principal:
        """The holder of a key that is still active (a dashboard session re-checks it per request)."""
        tenant = self._get(tenant_id, Tenant)
        record = tenant.active_key(key_id) if tenant is not None else None
        if record is None:
            raise UnauthorizedError()
        return Principal(tenant_id=tenant_id, key_id=record.key_id, role=record.role)

    def _new_api_key(self, tenant: Tenant, role: Role, name: str | None = None) -> tuple[str, str]:
        key_id = secrets.token_hex(8)
        api_key = f"{API_KEY_PREFIX}_{tenant.id.hex}_{key_id}_{secrets.token_urlsafe(32)}"
        tenant.issue_api_key(key_id, hash_secret(api_key), role, name)
        return key_id, api_key

    def _tenant(self, tenant_id: UUID) -> Tenant:
        tenant = self._get(tenant_id, Tenant)
        if tenant is None:
            raise NotFoundError("Not found")
        return tenant  # type: ignore[no-any-return]

    @staticmethod
    def _require(principal: Principal, permission: Permission) -> None:
        if not principal.allows(permission):
            raise ForbiddenError()

    # ------------------------------------------------------------------ the WMS webhook

    def connect_webhook(self, principal: Principal) -> str:
        """"Connect WMS": returns the secret, shown once."""
        self._require(principal, Permission.MANAGE_INTEGRATIONS)
        if self._get(webhook_id(principal.tenant_id), WmsWebhook) is not None:
            raise ConflictError("WMS webhook already connected")
        secret = new_secret(WEBHOOK_SECRET_PREFIX)
        hook = WmsWebhook.connect(principal.tenant_id, hash_secret(secret), _acting(principal))
        self._save_webhook(hook)
        return secret

    def regenerate_webhook_secret(self, principal: Principal) -> str:
        self._require(principal, Permission.MANAGE_INTEGRATIONS)
        hook = self._webhook(principal.tenant_id)
        secret = new_secret(WEBHOOK_SECRET_PREFIX)
        hook.regenerate_secret(hash_secret(secret), _acting(principal))
        self._save_webhook(hook)
        return secret

    def rotate_webhook_secret(
        self, principal: Principal, previous_valid_for_seconds: int
    ) -> tuple[str, datetime | None]:
        """A new secret, and until when the current one keeps working (None: it stops now)."""
        self._require(principal, Permission.MANAGE_INTEGRATIONS)
        hook = self._webhook(principal.tenant_id)
        secret = new_secret(WEBHOOK_SECRET_PREFIX)
        try:
            hook.rotate_secret(
                hash_secret(secret),
                self.clock.now(),
                timedelta(seconds=previous_valid_for_seconds),
                _acting(principal),
            )
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        self._save_webhook(hook)
        return secret, hook.previous_valid_until

    def end_previous_webhook_secret(self, principal: Principal) -> None:
        """End a rotation window early: only the current secret opens the webhook."""
        self._require(principal, Permission.MANAGE_INTEGRATIONS)
        hook = self._webhook(principal.tenant_id)
        if hook.end_previous_secret(_acting(principal)):
            self._save_webhook(hook)

    def set_webhook_active(self, principal: Principal, active: bool) -> None:
        self._require(principal, Permission.MANAGE_INTEGRATIONS)
        hook = self._webhook(principal.tenant_id)
        if hook.set_active(active, _acting(principal)):
            self._save_webhook(hook)

    def _save_webhook(self, hook: WmsWebhook) -> None:
        self.save(hook)
        # This process knows at once; others find out when they next read it.
        self._webhook_credentials[UUID(hook.tenant_id)] = WebhookCredentials.of(hook)

    def authenticate_webhook(self, route_tenant: str, secret: str) -> UUID:
        """The tenant whose active webhook ``secret`` opens; else Unauthorized."""
        try:
            tenant_id = _parse_tenant(route_tenant)
        except NotFoundError:
            raise UnauthorizedError() from None
        hook = self._get(webhook_id(tenant_id), WmsWebhook)
        if hook is None:
            # Spend the same work as a real comparison: no timing hint of which tenants exist.
            secret_matches(secret, "0" * 64)
            raise UnauthorizedError()
        credentials = self._webhook_credentials[tenant_id] = WebhookCredentials.of(hook)
        presented = hash_secret(secret)
        if credentials.opened_by(presented, self.clock.now()) is None:
            self._refused(tenant_id, credentials.refusal_reason(presented))
        return tenant_id

    def _refused(self, tenant_id: UUID, reason: str) -> NoReturn:
        self.auth_refusals.refused(tenant_id, reason, self.clock.now())
        raise UnauthorizedError()

    def webhook_tenant_if_known(self, route_tenant: str, secret: str) -> UUID | None:
        """The tenant, when ``secret`` matches the webhook as this process last
        read it (no I/O, safe on the event loop); None means: ask the store.

        A later change (a new secret, a deactivation) made by any process is
        caught when the batch is read: ``IngestOrders`` checks the credential
        again against the webhook read with the orders, in the same query.
        """
        try:
            tenant_id = UUID(route_tenant)
        except ValueError:
            return None
        known = self._webhook_credentials.get(tenant_id)
        if known is None or known.opened_by(hash_secret(secret), self.clock.now()) is None:
            return None
        return tenant_id

    def _check_credential(self, tenant_id: UUID, credential_hash: str, hook: Aggregate | None) -> str:
        """The presented secret still opens the webhook, as read just now; which
        one it is: ``current``, or ``previous`` during a rotation window."""
        if not isinstance(hook, WmsWebhook):
            self._webhook_credentials.pop(tenant_id, None)
            raise UnauthorizedError()
        credentials = self._webhook_credentials[tenant_id] = WebhookCredentials.of(hook)
        used = credentials.opened_by(credential_hash, self.clock.now())
        if used is None:
            self._refused(tenant_id, credentials.refusal_reason(credential_hash))
        return used

    def _webhook(self, tenant_id: UUID) -> WmsWebhook:
        hook = self._get(webhook_id(tenant_id), WmsWebhook)
        if hook is None:
            raise NotFoundError("WMS webhook not connected")
        return hook  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ order batches

    def receive_batch(self, command: ReceiveBatch) -> IngestResult:
        """Judge a raw batch exactly as documented, then ingest it atomically.

        Webhook and pull both come here. A refusal (400/413/422) is recorded in
        the delivery log, alone, and re-raised for the caller's response.
        """
        digest = hashlib.sha256(command.body).hexdigest() if command.body is not None else ""
        try:
            if command.body is None:
                raise PayloadRejectedError(
                    413,
                    {
                        "error": "Payload too large",
                        "details": f"the body exceeds {command.max_body_bytes} bytes",
                        "maxBytes": command.max_body_bytes,
                    },
                )
            indexes: tuple[int, ...] = ()
            refused_items: tuple[dict[str, Any], ...] = ()
            if command.partial:
                numbered, refused_items, warnings = parse_order_batch_partially(
                    command.body, max_items=command.max_items
                )
                indexes = tuple(index for index, _ in numbered)
                lines = tuple(line for _, line in numbered)
            else:
                lines, warnings = parse_order_batch_with_warnings(command.body, max_items=command.max_items)
            return self.ingest_orders(
                IngestOrders(
                    partial=command.partial,
                    indexes=indexes,
                    rejected=refused_items,
                    tenant_id=command.tenant_id,
                    lines=lines,
                    channel=command.channel,
                    request_id=command.request_id,
                    received_at=command.received_at,
                    payload_bytes=command.body_size,
                    payload_sha256=digest,
                    endpoint_id=command.endpoint_id,
                    delivery_id=command.delivery_id,
                    credential_hash=command.credential_hash,
                    warnings=warnings,
                    pulled=command.pulled,
                )
            )
        except PayloadRejectedError as refused:
            # A refusal may quote the batch, and the batch may quote a secret:
            # what is recorded and answered is redacted first.
            rejected = (
                PayloadRejectedError(refused.status, command.redactor.value(refused.body))
                if command.redactor is not None
                else refused
            )
            secret_used = None
            if command.credential_hash is not None:
                # Only a caller whose secret still opens the webhook gets a
                # delivery-log entry (the check above may have used a cached read).
                hook_id = webhook_id(command.tenant_id)
                secret_used = self._check_credential(
                    command.tenant_id, command.credential_hash, self.load_many([hook_id]).get(hook_id)
                )
            self.record_rejected_delivery(
                RecordRejectedDelivery(
                    tenant_id=command.tenant_id,
                    channel=command.channel,
                    request_id=command.request_id,
                    received_at=command.received_at,
                    status=rejected.status,
                    error=rejected.body,
                    payload_bytes=command.body_size,
                    payload_sha256=digest,
                    endpoint_id=command.endpoint_id,
                    secret_used=secret_used,
                )
            )
            if rejected is refused:
                raise
            raise rejected from None

    def ingest_orders(self, command: IngestOrders) -> IngestResult:
        """Apply a batch atomically; retry optimistic-concurrency conflicts.

        A conflict means another request saved one of our aggregates first: we
        reload everything and apply the batch again on the new state, so no
        update is lost and the caller never sees the race. After a few lost
        races (hot orders under heavy concurrency) the batch is read and stored
        in the writer's own turn, where no request of this process can overtake it.
        """
        delay = 0.002
        for attempt in range(MAX_CONFLICT_RETRIES):
            try:
                if attempt < OPTIMISTIC_ATTEMPTS:
                    result = self._ingest_once(command)
                else:
                    result = self.committer.exclusively(lambda store: self._ingest_once(command, store))
                self._batch_accepted(command.channel, result)
                return result
            except IntegrityError:
                if attempt == MAX_CONFLICT_RETRIES - 1:
                    break
                time.sleep(random.uniform(0, delay))
                delay = min(delay * 2, 0.25)
        raise ServiceUnavailableError("too much contention on these orders; retry", retry_after=1)

    def _ingest_once(self, command: IngestOrders, store: Store | None = None) -> IngestResult:
        keys = keys_of(command.tenant_id, command.lines)
        hook_id = webhook_id(command.tenant_id) if command.credential_hash else None
        pulled_from = {command.pulled.endpoint_id} if command.pulled is not None else set()
        loaded = self.load_many(
            keys.all_ids() | {command.delivery_id} | ({hook_id} if hook_id else set()) | pulled_from
        )
        secret_used = None
        if command.credential_hash is not None:
            secret_used = self._check_credential(command.tenant_id, command.credential_hash, loaded.get(hook_id))  # type: ignore[arg-type]
        lines, indexes, rejected = command.lines, command.indexes, command.rejected
        if command.partial:
            lines, indexes, rejected = _without_unknown_customers(command, keys, loaded)
            keys = keys_of(command.tenant_id, lines)
        if isinstance(loaded.get(command.delivery_id), Delivery):
            return self._committed_before(command, lines, keys.order_ids, indexes, rejected)
        if command.partial:
            if rejected and not lines:
                raise PayloadRejectedError(all_rejected_status(rejected), partial_body((), (), rejected))
        else:
            check_named_customers(command.tenant_id, command.lines, keys, loaded)
        source = Source(
            channel=command.channel,  # type: ignore[arg-type]
            delivery_id=str(command.delivery_id),
            request_id=command.request_id,
        )
        if self.lean_batches:
            touched, changed, outcomes = record_batch(command.tenant_id, lines, keys, loaded, source, self.mapper)
        else:
            touched, outcomes = apply_batch(command.tenant_id, lines, keys, loaded, source)
            changed = {aggregate.id for aggregate in touched}
        # Orders this batch left as they were were judged on the version just
        # loaded: the commit checks they are still there, or a concurrent
        # change committed first would silently win over ours.
        unchanged = {
            oid: loaded[oid].version
            for oid in set(keys.order_ids)
            if oid not in changed and isinstance(loaded.get(oid), Order)
        }
        delivery = Delivery.accept(
            id=command.delivery_id,
            tenant_id=str(command.tenant_id),
            channel=command.channel,
            request_id=command.request_id,
            received_at=command.received_at,
            processed=len(outcomes),
            created=sum(1 for o in outcomes if o.created),
            updated=sum(1 for o in outcomes if not o.created),
            endpoint_id=command.endpoint_id,
            payload_bytes=command.payload_bytes,
            payload_sha256=command.payload_sha256,
            warnings=list(command.warnings),
            secret_used=secret_used,
            rejected_items=list(rejected) if command.partial else None,
        )
        endpoint = _pulled_endpoint(command, loaded)
        events = _pending_events_of((*touched, delivery, endpoint))
        if store is None:
            position = self.committer.commit(events, unchanged)
            note_written([position] if position is not None else [])
        else:
            note_written(store(events, unchanged))
        # Committed: every aggregate read or written here is as stored now.
        self.aggregate_cache.keep(loaded.values())
        return _result(command, outcomes, indexes, rejected)

    def _committed_before(
        self,
        command: IngestOrders,
        lines: tuple[OrderLine, ...],
        order_ids: tuple[UUID, ...],
        indexes: tuple[int, ...] = (),
        rejected: tuple[dict[str, Any], ...] = (),
    ) -> IngestResult:
        """The result of an earlier attempt of this very command that committed.

        When a connection dies after COMMIT but before its reply, the driver
        retries the insert and meets our own rows as a conflict. The delivery
        record (saved in the same transaction as the orders) proves the batch
        is stored: report the success it was. An order was created by this
        batch when its first event names this delivery.
        """
        if self.event_positions is not None:
            position = self.event_positions.latest_of([command.delivery_id, *order_ids])
            note_written([position] if position is not None else [])
        delivery = str(command.delivery_id)
        first_events = {
            oid: self.mapper.to_domain_event(events[0])
            for oid, events in self.bulk_reader.select_events_of(set(order_ids)).items()
        }
        outcomes = []
        seen: set[UUID] = set()
        for line, oid in zip(lines, order_ids):
            source = getattr(first_events.get(oid), "source", None) or {}
            outcomes.append(
                OrderOutcome(line.external_order_id, oid, created=oid not in seen and source.get("deliveryId") == delivery)
            )
            seen.add(oid)
        return _result(command, outcomes, indexes, rejected)

    def record_rejected_delivery(self, command: RecordRejectedDelivery) -> None:
        """Saved alone: a rejection never stores an order or moves lastReceivedAt."""
        self.save(
            Delivery.reject(
                tenant_id=str(command.tenant_id),
                channel=command.channel,
                request_id=command.request_id,
                received_at=command.received_at,
                status=command.status,
                error=_bounded_error(command.error),
                endpoint_id=command.endpoint_id,
                payload_bytes=command.payload_bytes,
                payload_sha256=command.payload_sha256,
                secret_used=command.secret_used,
            )
        )

    # ------------------------------------------------------------------ customers

    def create_customer(
        self, principal: Principal, name: str, address: str, contact: str | None
    ) -> dict[str, Any]:
        self._require(principal, Permission.MANAGE_CUSTOMERS)
        customer_id = Customer.id_for(principal.tenant_id, address)
        if self._get(customer_id, Customer) is not None:
            raise ConflictError("A customer with this address exists", customerId=str(customer_id))
        try:
            customer = Customer.register(
                principal.tenant_id, address, _acting(principal), name=name, contact=contact
            )
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        self.save(customer)
        return customer_view(customer)

    # ------------------------------------------------------------------ audit

    def order_history(self, principal: Principal, order_id: str) -> dict[str, Any]:
        self._require(principal, Permission.READ_HISTORY)
        oid = self._own_order_id(principal, order_id)
        return history_of(str(oid), self.events.get(oid))

    def order_history_for_operator(self, tenant_id: str, order_id: str) -> dict[str, Any]:
        """The audit trail for an operator on the machine (the CLI), who holds no API key."""
        operator = Principal(tenant_id=_parse_tenant(tenant_id), key_id="operator", role=Role.AUDITOR)
        return self.order_history(operator, order_id)

    def order_as_of(
        self, principal: Principal, order_id: str, version: int | None = None, as_of: Any = None
    ) -> dict[str, Any]:
        """The order as it was at ``version``, or at the moment ``as_of``."""
        self._require(principal, Permission.READ_ORDERS)
        oid = self._own_order_id(principal, order_id)
        if as_of is not None:
            version = None
            for event in self.events.get(oid):
                if event.timestamp <= as_of:
                    version = event.originator_version
            if version is None:
                raise NotFoundError("The order did not exist then")
        current = self._get(oid, Order)
        if version is not None and (version < 1 or version > current.version):
            raise NotFoundError(f"The order has no version {version}")
        order = self.repository.get(oid, version=version)
        customer = self._get(UUID(order.details["customer_id"]), Customer)
        return order_state(order, customer.name if customer else None)

    def _own_order_id(self, principal: Principal, order_id: str) -> UUID:
        try:
            oid = UUID(order_id)
        except ValueError:
            raise NotFoundError("Order not found") from None
        order = self._get(oid, Order)
        if order is None or order.tenant_id != str(principal.tenant_id):
            raise NotFoundError("Order not found")
        return oid


@dataclass(frozen=True)
class WebhookCredentials:
    """What opens a tenant's webhook: its secret's hash, and during a rotation
    window the previous one's, until ``previous_until``."""

    secret_hash: str
    active: bool
    previous_hash: str | None = None
    previous_until: datetime | None = None

    @classmethod
    def of(cls, hook: WmsWebhook) -> WebhookCredentials:
        return cls(
            hook.secret_hash,
            hook.active,
            getattr(hook, "previous_secret_hash", None),
            getattr(hook, "previous_valid_until", None),
        )

    def opened_by(self, credential_hash: str, now: datetime) -> str | None:
        """``current``, ``previous`` or None (neither opens it, or it is deactivated).

        Both digests are compared every time (the second against a dummy when
        there is no window), so the time taken says nothing of which matched.
        """
        current = hash_matches(credential_hash, self.secret_hash)
        previous = hash_matches(credential_hash, self.previous_hash or "0" * 64)
        if not self.active:
            return None
        if current:
            return "current"
        if previous and self.previous_hash is not None and self.previous_until is not None and now < self.previous_until:
            return "previous"
        return None

    def refusal_reason(self, credential_hash: str) -> str:
        """Why ``opened_by`` said no: the right secret of a deactivated webhook, or a wrong one."""
        if not self.active and hash_matches(credential_hash, self.secret_hash):
            return DEACTIVATED
        return WRONG_SECRET


def _result(
    command: IngestOrders,
    outcomes: list[OrderOutcome],
    indexes: tuple[int, ...],
    rejected: tuple[dict[str, Any], ...],
) -> IngestResult:
    """What a stored batch answers (now, or found stored by a retried attempt)."""
    return IngestResult(
        delivery_id=command.delivery_id,
        orders=tuple(outcomes),
        warnings=command.warnings,
        partial=command.partial,
        indexes=indexes,
        rejected=rejected,
    )


def _without_unknown_customers(
    command: IngestOrders, keys: BatchKeys, loaded: Mapping[UUID, Aggregate]
) -> tuple[tuple[OrderLine, ...], tuple[int, ...], tuple[dict[str, Any], ...]]:
    """Partial acceptance: the lines whose customer exists, their indexes, and
    every refused item (those refused earlier and these), in request order."""
    problems = unknown_customers(command.tenant_id, command.lines, keys, loaded, command.indexes)
    if not problems:
        return command.lines, command.indexes, command.rejected
    bad = {problem["index"] for problem in problems}
    kept = [k for k, index in enumerate(command.indexes) if index not in bad]
    refused = [
        {"index": p["index"], "externalOrderId": p["externalOrderId"], "status": 400,
         "error": "Customer not found", "details": [p]}
        for p in problems
    ]
    return (
        tuple(command.lines[k] for k in kept),
        tuple(command.indexes[k] for k in kept),
        tuple(sorted((*command.rejected, *refused), key=lambda item: int(item["index"]))),
    )


MAX_LOGGED_PROBLEMS = 100


def _bounded_error(error: dict[str, Any]) -> dict[str, Any]:
    """The error body as the delivery log keeps it: at most 100 listed problems.

    A 10,000-item batch can fail on every item; the caller gets the first
    1,000 problems, the log keeps enough to see what went wrong and says how
    many were left out (counting those the caller's answer left out too).
    """
    bounded = dict(error)
    details = bounded.get("details")
    if isinstance(details, list) and len(details) > MAX_LOGGED_PROBLEMS:
        bounded["details"] = details[:MAX_LOGGED_PROBLEMS]
        bounded["omitted"] = error.get("omitted", 0) + len(details) - MAX_LOGGED_PROBLEMS
    items = bounded.get("rejectedItems")
    if isinstance(items, list) and len(items) > MAX_LOGGED_PROBLEMS:
        bounded["rejectedItems"] = items[:MAX_LOGGED_PROBLEMS]
        bounded["omitted"] = len(items) - MAX_LOGGED_PROBLEMS
    field_errors = bounded.get("fieldErrors")
    if isinstance(field_errors, dict):
        messages = field_errors.get("plannedDate")
        if isinstance(messages, list) and len(messages) > MAX_LOGGED_PROBLEMS:
            bounded["fieldErrors"] = {"plannedDate": messages[:MAX_LOGGED_PROBLEMS]}
            bounded["omitted"] = error.get("omitted", 0) + len(messages) - MAX_LOGGED_PROBLEMS
    return bounded


def _pending_events_of(objs: Iterable[Any]) -> list[Any]:
    events: list[Any] = []
    for obj in objs:
        if isinstance(obj, Aggregate):
            events.extend(obj.collect_events())
        elif obj is not None:
            events.append(obj)
    return events


def customer_view(customer: Customer) -> dict[str, Any]:
    return {
        "customerId": str(customer.id),
        "name": customer.name,
        "contact": customer.contact,
        "address": customer.address,
        "createdAt": iso(customer.created_on),
    }


def _acting(principal: Principal) -> Source:
    return Source(channel="api", api_key_id=principal.key_id)


def _parse_tenant(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFoundError("Not found") from None


def _pulled_endpoint(command: IngestOrders, loaded: dict[UUID, Aggregate]) -> PullEndpoint | None:
    """The pull endpoint of a pulled batch, noting the batch: saved in the batch's own
    transaction, so a batch pulled earlier than one already stored is refused
    (``StalePullError``), whichever committed first."""
    if command.pulled is None:
        return None
    endpoint = loaded.get(command.pulled.endpoint_id)
    if not isinstance(endpoint, PullEndpoint):
        return None
    endpoint.store_pulled_batch(command.pulled.sync_started_at, str(command.delivery_id))
    return endpoint
