"""Order intake: judge a raw batch, store it atomically, or record its refusal.

Webhook and pull both come here. A batch is all-or-nothing: its orders, its
delivery record and (for a pulled batch) its endpoint are saved together.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any, NamedTuple
from uuid import UUID

from application.access.webhook import WebhookAccess
from application.batch import apply_batch, check_named_customers, keys_of
from application.commands import (
    DeliveryFields,
    IngestOrders,
    IngestResult,
    OrderOutcome,
    ReceiveBatch,
    RecordRejectedDelivery,
)
from application.errors import EveryItemRejectedError, PayloadRejectedError, ServiceUnavailableError
from application.intake.batch_outcome import batch_result, bounded_error, pulled_endpoint, without_unknown_customers
from application.order_lines import OrderLine
from application.order_payload import parse_order_batch_partially, parse_order_batch_with_warnings
from application.order_rows import record_batch
from application.ports.aggregates import BatchStore
from application.retrying import retry_on_conflict
from application.write_positions import note_written
from domain.delivery import Delivery
from domain.ids import webhook_id
from domain.order import Order
from domain.source import Source

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 12
#: Conflicts retried optimistically before a batch takes the writer's turn to itself.
OPTIMISTIC_ATTEMPTS = 4

#: Saves a batch's aggregates in one transaction (shared, or the writer's own turn).
Save = Callable[..., Any]


class ParsedBatch(NamedTuple):
    """A body as the ingest takes it, in either mode."""

    lines: tuple[OrderLine, ...]
    warnings: tuple[dict[str, Any], ...]
    #: Partial acceptance only: each line's index in the request, and the items refused.
    indexes: tuple[int, ...] = ()
    rejected: tuple[dict[str, Any], ...] = ()


def parse_batch(body: bytes, *, max_items: int, partial: bool) -> ParsedBatch:
    """All or nothing (``partial`` False: the first failing check refuses the
    body), or partial acceptance (each item judged alone)."""
    if not partial:
        return ParsedBatch(*parse_order_batch_with_warnings(body, max_items=max_items))
    numbered, rejected, warnings = parse_order_batch_partially(body, max_items=max_items)
    return ParsedBatch(tuple(line for _, line in numbered), warnings, tuple(index for index, _ in numbered), rejected)


class OrderIntake:
    def __init__(self, store: BatchStore, webhooks: WebhookAccess) -> None:
        self.store = store
        #: Checks a webhook secret against the webhook read with the batch.
        self.webhooks = webhooks
        #: Order events of a batch recorded as rows, without an aggregate per order
        #: (``application.order_rows``); False: through the aggregates, the reference.
        self.lean_batches = True
        self._batch_listeners: list[Callable[[str, IngestResult], None]] = []
        self._listeners_lock = threading.Lock()

    def on_batch(self, listener: Callable[[str, IngestResult], None]) -> None:
        """Call ``listener(channel, result)`` once per stored batch, whatever
        brought it (webhook, Sync now, a scheduled pull, in any process)."""
        with self._listeners_lock:
            self._batch_listeners.append(listener)

    def _batch_accepted(self, channel: str, result: IngestResult) -> None:
        for listener in self._batch_listeners:
            try:
                listener(channel, result)
            except Exception:  # counting never fails a stored batch
                log.exception("batch listener failed")

    def receive_batch(self, command: ReceiveBatch) -> IngestResult:
        """Judge a raw batch exactly as documented, then ingest it atomically.

        Webhook and pull both come here. A refusal (400/413/422) is recorded in
        the delivery log, alone, and re-raised for the caller's response.
        """
        digest = hashlib.sha256(command.body).hexdigest() if command.body is not None else ""
        # What both the stored batch and a recorded refusal say of the delivery.
        delivery = DeliveryFields(
            tenant_id=command.tenant_id,
            channel=command.channel,
            request_id=command.request_id,
            received_at=command.received_at,
            payload_bytes=command.body_size,
            payload_sha256=digest,
            endpoint_id=command.endpoint_id,
        )
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
            parsed = parse_batch(command.body, max_items=command.max_items, partial=command.partial)
            return self.ingest_orders(
                IngestOrders(
                    **delivery,
                    **parsed._asdict(),
                    partial=command.partial,
                    delivery_id=command.delivery_id,
                    credential_hash=command.credential_hash,
                    pulled=command.pulled,
                )
            )
        except PayloadRejectedError as refused:
            # A refusal may quote the batch, and the batch may quote a secret:
            # what is recorded and answered is redacted first.
            rejected = refused.redacted(command.redactor) if command.redactor is not None else refused
            secret_used = None
            if command.credential_hash is not None:
                # Only a caller whose secret still opens the webhook gets a
                # delivery-log entry (the check above may have used a cached read).
                hook_id = webhook_id(command.tenant_id)
                secret_used = self.webhooks.check_credential(
                    command.tenant_id, command.credential_hash, self.store.load_many([hook_id]).get(hook_id)
                )
            self.record_rejected_delivery(
                RecordRejectedDelivery(**delivery, status=rejected.status, error=rejected.body, secret_used=secret_used)
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

        def attempt(n: int) -> IngestResult:
            if n < OPTIMISTIC_ATTEMPTS:
                result = self._ingest_once(command, self.store.commit)
            else:
                result = self.store.exclusively(lambda store: self._ingest_once(command, store.save))
            self._batch_accepted(command.channel, result)
            return result

        return retry_on_conflict(
            attempt,
            attempts=MAX_CONFLICT_RETRIES,
            first_wait=0.002,
            exhausted=lambda: ServiceUnavailableError("too much contention on these orders; retry", retry_after=1),
        )

    def _ingest_once(self, command: IngestOrders, save: Save) -> IngestResult:
        keys = keys_of(command.tenant_id, command.lines)
        hook_id = webhook_id(command.tenant_id) if command.credential_hash else None
        pulled_from = {command.pulled.endpoint_id} if command.pulled is not None else set()
        loaded = self.store.load_many(
            keys.all_ids() | {command.delivery_id} | ({hook_id} if hook_id else set()) | pulled_from
        )
        secret_used = None
        if command.credential_hash is not None:
            secret_used = self.webhooks.check_credential(
                command.tenant_id, command.credential_hash, loaded.get(hook_id) if hook_id else None
            )
        lines, indexes, rejected = command.lines, command.indexes, command.rejected
        if command.partial:
            lines, indexes, rejected = without_unknown_customers(command, keys, loaded)
            keys = keys_of(command.tenant_id, lines)
        if isinstance(loaded.get(command.delivery_id), Delivery):
            return self._committed_before(command, lines, keys.order_ids, indexes, rejected)
        if command.partial:
            if rejected and not lines:
                raise EveryItemRejectedError(rejected)
        else:
            check_named_customers(command.tenant_id, command.lines, keys, loaded)
        source = Source(channel=command.channel, delivery_id=str(command.delivery_id), request_id=command.request_id)
        if self.lean_batches:
            touched, changed, outcomes = record_batch(command.tenant_id, lines, keys, loaded, source)
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
        endpoint = pulled_endpoint(command, loaded)
        save(*touched, delivery, endpoint, expected_versions=unchanged)
        # Committed: every aggregate read or written here is as stored now.
        self.store.keep_stored(loaded.values())
        return batch_result(command, outcomes, indexes, rejected)

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
        position = self.store.latest_position_of([command.delivery_id, *order_ids])
        note_written([position] if position is not None else [])
        delivery = str(command.delivery_id)
        first_events = self.store.first_events_of(order_ids)
        outcomes = []
        seen: set[UUID] = set()
        for line, oid in zip(lines, order_ids, strict=False):
            source = getattr(first_events.get(oid), "source", None) or {}
            outcomes.append(
                OrderOutcome(
                    line.external_order_id, oid, created=oid not in seen and source.get("deliveryId") == delivery
                )
            )
            seen.add(oid)
        return batch_result(command, outcomes, indexes, rejected)

    def record_rejected_delivery(self, command: RecordRejectedDelivery) -> None:
        """Saved alone: a rejection never stores an order or moves lastReceivedAt."""
        self.store.save(
            Delivery.reject(
                tenant_id=str(command.tenant_id),
                channel=command.channel,
                request_id=command.request_id,
                received_at=command.received_at,
                status=command.status,
                error=bounded_error(command.error),
                endpoint_id=command.endpoint_id,
                payload_bytes=command.payload_bytes,
                payload_sha256=command.payload_sha256,
                secret_used=command.secret_used,
            )
        )
