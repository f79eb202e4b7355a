"""The WMS webhook's credential: connect, regenerate, rotate, (de)activate, and
the one check of a presented secret that every webhook request goes through."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.access.webhook_credentials import WebhookCredentials
from application.clock import SystemClock
from application.commands import Principal
from application.errors import ConflictError, InvalidRequestError, NotFoundError, UnauthorizedError
from application.loading import load
from application.ports import Clock
from application.ports.aggregates import AggregateStore
from application.principals import acting, parse_tenant, require
from application.refusals import RefusalCounter
from application.tokens import hash_secret, new_secret, secret_matches
from domain.errors import DomainError
from domain.ids import webhook_id
from domain.roles import Permission
from domain.webhook import WmsWebhook

WEBHOOK_SECRET_PREFIX = "whs"


class WebhookAccess:
    def __init__(self, store: AggregateStore, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        #: tenant -> its webhook's credentials, as last read here.
        self._credentials: dict[UUID, WebhookCredentials] = {}
        #: Refused webhook requests of known tenants, by reason (flushed to a table elsewhere).
        self.auth_refusals = RefusalCounter()

    def connect_webhook(self, principal: Principal) -> str:
        """ "Connect WMS": returns the secret, shown once."""
        require(principal, Permission.MANAGE_INTEGRATIONS)
        if load(self.store, webhook_id(principal.tenant_id), WmsWebhook) is not None:
            raise ConflictError("WMS webhook already connected")
        secret = new_secret(WEBHOOK_SECRET_PREFIX)
        hook = WmsWebhook.connect(principal.tenant_id, hash_secret(secret), acting(principal))
        self._save(hook)
        return secret

    def regenerate_webhook_secret(self, principal: Principal) -> str:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        hook = self._webhook(principal.tenant_id)
        secret = new_secret(WEBHOOK_SECRET_PREFIX)
        hook.regenerate_secret(hash_secret(secret), acting(principal))
        self._save(hook)
        return secret

    def rotate_webhook_secret(
        self, principal: Principal, previous_valid_for_seconds: int
    ) -> tuple[str, datetime | None]:
        """A new secret, and until when the current one keeps working (None: it stops now)."""
        require(principal, Permission.MANAGE_INTEGRATIONS)
        hook = self._webhook(principal.tenant_id)
        secret = new_secret(WEBHOOK_SECRET_PREFIX)
        try:
            hook.rotate_secret(
                hash_secret(secret), self.clock.now(), timedelta(seconds=previous_valid_for_seconds), acting(principal)
            )
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        self._save(hook)
        return secret, hook.previous_valid_until

    def end_previous_webhook_secret(self, principal: Principal) -> None:
        """End a rotation window early: only the current secret opens the webhook."""
        require(principal, Permission.MANAGE_INTEGRATIONS)
        hook = self._webhook(principal.tenant_id)
        if hook.end_previous_secret(acting(principal)):
            self._save(hook)

    def set_webhook_active(self, principal: Principal, active: bool) -> None:
        require(principal, Permission.MANAGE_INTEGRATIONS)
        hook = self._webhook(principal.tenant_id)
        if hook.set_active(active, acting(principal)):
            self._save(hook)

    def authenticate_webhook(self, route_tenant: str, secret: str) -> UUID:
        """The tenant whose active webhook ``secret`` opens; else Unauthorized."""
        try:
            tenant_id = parse_tenant(route_tenant)
        except NotFoundError:
            raise UnauthorizedError() from None
        hook = load(self.store, webhook_id(tenant_id), WmsWebhook)
        if hook is None:
            # Spend the same work as a real comparison: no timing hint of which tenants exist.
            secret_matches(secret, "0" * 64)
            raise UnauthorizedError()
        self.check_credential(tenant_id, hash_secret(secret), hook)
        return tenant_id

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
        known = self._credentials.get(tenant_id)
        if known is None or known.opened_by(hash_secret(secret), self.clock.now()) is None:
            return None
        return tenant_id

    def check_credential(self, tenant_id: UUID, credential_hash: str, hook: Aggregate | None) -> str:
        """The presented secret opens the webhook, as read just now; which one it
        is: ``current``, or ``previous`` during a rotation window. Else Unauthorized
        (and a refusal counted, when the tenant's webhook exists)."""
        if not isinstance(hook, WmsWebhook):
            self._credentials.pop(tenant_id, None)
            raise UnauthorizedError()
        credentials = self._credentials[tenant_id] = WebhookCredentials.of(hook)
        used = credentials.opened_by(credential_hash, self.clock.now())
        if used is None:
            self._refused(tenant_id, credentials.refusal_reason(credential_hash))
        return used

    def _refused(self, tenant_id: UUID, reason: str) -> NoReturn:
        self.auth_refusals.refused(tenant_id, reason, self.clock.now())
        raise UnauthorizedError()

    def _save(self, hook: WmsWebhook) -> None:
        self.store.save(hook)
        # This process knows at once; others find out when they next read it.
        self._credentials[UUID(hook.tenant_id)] = WebhookCredentials.of(hook)

    def _webhook(self, tenant_id: UUID) -> WmsWebhook:
        hook = load(self.store, webhook_id(tenant_id), WmsWebhook)
        if hook is None:
            raise NotFoundError("WMS webhook not connected")
        return hook
