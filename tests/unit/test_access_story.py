"""Access (tenants, API keys, the webhook's credential) on the in-memory event store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from application.access import ApiKeys, WebhookAccess
from application.commands import Principal
from application.errors import ConflictError, ForbiddenError, NotFoundError, UnauthorizedError
from application.tokens import hash_secret
from domain.ids import webhook_id
from domain.roles import Role
from infrastructure.event_store import EventStore


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def admin_of(keys: ApiKeys) -> tuple[Principal, str]:
    created = keys.create_tenant("Acme")
    return keys.authenticate(str(created.tenant_id), created.admin_api_key), created.admin_api_key


def test_a_key_authenticates_its_own_tenant_only(store: EventStore) -> None:
    keys = ApiKeys(store)
    admin, api_key = admin_of(keys)
    other = keys.create_tenant("Other")

    assert admin.role is Role.ADMIN
    with pytest.raises(NotFoundError):
        keys.authenticate(str(other.tenant_id), api_key)
    with pytest.raises(UnauthorizedError):
        keys.authenticate(str(admin.tenant_id), api_key + "x")


def test_a_revoked_key_opens_nothing_and_an_auditor_may_not_issue_keys(store: EventStore) -> None:
    keys = ApiKeys(store)
    admin, _ = admin_of(keys)
    issued = keys.issue_api_key(admin, "auditor", "dashboard")
    auditor = keys.authenticate(str(admin.tenant_id), issued.api_key)

    with pytest.raises(ForbiddenError):
        keys.issue_api_key(auditor, "admin")
    keys.revoke_api_key(admin, issued.key_id)
    with pytest.raises(UnauthorizedError):
        keys.authenticate(str(admin.tenant_id), issued.api_key)
    assert [k.revoked for k in keys.list_api_keys(admin) if k.key_id == issued.key_id] == [True]


def test_one_credential_check_for_the_webhook_and_the_rotation_window(store: EventStore) -> None:
    clock = Clock()
    keys, webhooks = ApiKeys(store), WebhookAccess(store, clock)
    admin, _ = admin_of(keys)
    tenant = str(admin.tenant_id)
    first = webhooks.connect_webhook(admin)
    with pytest.raises(ConflictError):
        webhooks.connect_webhook(admin)

    assert webhooks.authenticate_webhook(tenant, first) == admin.tenant_id
    assert webhooks.webhook_tenant_if_known(tenant, first) == admin.tenant_id
    second, until = webhooks.rotate_webhook_secret(admin, 60)
    assert until == clock.at + timedelta(seconds=60)
    hook = store.load_many([webhook_id(admin.tenant_id)])[webhook_id(admin.tenant_id)]
    assert webhooks.check_credential(admin.tenant_id, hash_secret(first), hook) == "previous"
    assert webhooks.check_credential(admin.tenant_id, hash_secret(second), hook) == "current"

    clock.at += timedelta(seconds=61)
    with pytest.raises(UnauthorizedError):
        webhooks.authenticate_webhook(tenant, first)
    assert webhooks.webhook_tenant_if_known(tenant, first) is None
    assert webhooks.auth_refusals.drain()  # the refused request is counted


def test_a_deactivated_webhook_opens_for_no_secret(store: EventStore) -> None:
    keys, webhooks = ApiKeys(store), WebhookAccess(store, Clock())
    admin, _ = admin_of(keys)
    secret = webhooks.connect_webhook(admin)
    webhooks.set_webhook_active(admin, False)

    with pytest.raises(UnauthorizedError):
        webhooks.authenticate_webhook(str(admin.tenant_id), secret)
    with pytest.raises(UnauthorizedError):
        webhooks.authenticate_webhook(str(UUID(int=1)), secret)
