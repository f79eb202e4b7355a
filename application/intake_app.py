"""The application as the interfaces call it: one object, delegating to the stories.

Each story (access, intake, audit, customers) holds its own use cases and
reads and writes through the ports in ``application.ports``; this facade only
builds them on one event store and forwards calls, so a handler or the CLI
needs one object. It holds no use-case logic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.access import ApiKeys, WebhookAccess
from application.audit import Audit
from application.clock import SystemClock
from application.commands import IngestResult, ReceiveBatch
from application.customers import Customers
from application.intake import OrderIntake
from application.ports import Clock
from application.ports.aggregates import EventStorePort


class IntakeApplication:
    """Tenants, API keys, the WMS webhook, customers, order batches and their audit trail."""

    def __init__(self, store: EventStorePort, clock: Clock | None = None) -> None:
        self.store = store
        self.keys = ApiKeys(store)
        self.webhooks = WebhookAccess(store, clock or SystemClock())
        self.intake = OrderIntake(store, self.webhooks)
        self.audit = Audit(store)
        self.customers = Customers(store)
        # Forwarded use cases (the names the interfaces call).
        self.create_tenant = self.keys.create_tenant
        self.tenant_summary = self.keys.tenant_summary
        self.issue_api_key = self.keys.issue_api_key
        self.list_api_keys = self.keys.list_api_keys
        self.revoke_api_key = self.keys.revoke_api_key
        self.authenticate = self.keys.authenticate
        self.authenticate_own_tenant = self.keys.authenticate_own_tenant
        self.principal_of_key = self.keys.principal_of_key
        self.connect_webhook = self.webhooks.connect_webhook
        self.regenerate_webhook_secret = self.webhooks.regenerate_webhook_secret
        self.rotate_webhook_secret = self.webhooks.rotate_webhook_secret
        self.end_previous_webhook_secret = self.webhooks.end_previous_webhook_secret
        self.set_webhook_active = self.webhooks.set_webhook_active
        self.authenticate_webhook = self.webhooks.authenticate_webhook
        self.webhook_tenant_if_known = self.webhooks.webhook_tenant_if_known
        self.auth_refusals = self.webhooks.auth_refusals
        self.ingest_orders = self.intake.ingest_orders
        self.record_rejected_delivery = self.intake.record_rejected_delivery
        self.on_batch = self.intake.on_batch
        self.order_history = self.audit.order_history
        self.order_history_for_operator = self.audit.order_history_for_operator
        self.order_as_of = self.audit.order_as_of
        self.create_customer = self.customers.create_customer
        # Read access to the event store, for the operator's commands and the change feed.
        self.recorder = store.recorder
        self.mapper = store.mapper
        self.events = store.events
        self.repository = store.repository
        self.bulk_reader = store.bulk_reader

    @property
    def clock(self) -> Clock:
        return self.webhooks.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        """Tests move time for every use case at once."""
        self.webhooks.clock = clock

    # The pull and geocoding use cases store through the application as an
    # ``AggregateStore`` and a ``BatchReceiver``.

    def receive_batch(self, command: ReceiveBatch) -> IngestResult:
        return self.intake.receive_batch(command)

    def load_many(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        return self.store.load_many(ids)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        return self.store.save(*objs, **kwargs)

    def on_saved(self, listener: Any) -> None:
        self.store.on_saved(listener)

    def close(self) -> None:
        self.store.close()
