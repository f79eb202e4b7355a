"""The Tenant (API keys) and WmsWebhook ("Connect WMS") aggregates alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import InvalidValueError, UnknownApiKeyError
from domain.ids import webhook_id
from domain.roles import GRANTS, Permission, Role
from domain.source import Source
from domain.tenant import Tenant
from domain.webhook import WmsWebhook

TENANT = UUID("0b6a3f2e-1c1d-4f7e-9b0a-6d1f0a2b3c4d")
ADMIN = Source(channel="api", api_key_id="key-1")


def opened(name: str = "Acme Deliveries") -> Tenant:
    tenant = Tenant.open(name)
    tenant.collect_events()
    return tenant


def connected() -> WmsWebhook:
    hook = WmsWebhook.connect(TENANT, "hash-1", ADMIN)
    hook.collect_events()
    return hook


# ---------------------------------------------------------------- tenants


def test_a_tenant_keeps_its_name_trimmed() -> None:
    assert Tenant.open("  Acme Deliveries ").name == "Acme Deliveries"


@pytest.mark.parametrize("name", ["", "   "])
def test_a_tenant_needs_a_name(name: str) -> None:
    with pytest.raises(InvalidValueError):
        Tenant.open(name)


def test_an_issued_key_is_active_with_its_role_and_only_its_hash() -> None:
    tenant = opened()

    tenant.issue_api_key("k1", "sha256-of-secret", Role.PLANNER)

    record = tenant.active_key("k1")
    assert record is not None
    assert record.role is Role.PLANNER
    assert record.secret_hash == "sha256-of-secret"
    assert record.revoked is False


def test_a_key_is_issued_at_the_moment_of_its_own_event() -> None:
    tenant = opened()
    tenant.issue_api_key("k1", "h1", Role.ADMIN)
    tenant.issue_api_key("k2", "h2", Role.AUDITOR)

    first, second = tenant.collect_events()

    assert tenant.api_keys["k1"].issued_at == first.timestamp
    assert tenant.api_keys["k2"].issued_at == second.timestamp


def test_the_issued_event_stores_the_role_as_text_and_no_secret() -> None:
    tenant = opened()
    tenant.issue_api_key("k1", "h1", Role.AUDITOR)

    [issued] = tenant.collect_events()

    assert issued.role == "auditor"  # type: ignore[attr-defined]  # an event attribute the base class does not declare
    assert issued.secret_hash == "h1"  # type: ignore[attr-defined]  # an event attribute the base class does not declare


def test_key_ids_are_unique_within_a_tenant() -> None:
    tenant = opened()
    tenant.issue_api_key("k1", "h1", Role.ADMIN)

    with pytest.raises(InvalidValueError):
        tenant.issue_api_key("k1", "h2", Role.PLANNER)
    assert tenant.api_keys["k1"].secret_hash == "h1"


def test_a_revoked_key_is_no_longer_active() -> None:
    tenant = opened()
    tenant.issue_api_key("k1", "h1", Role.ADMIN)

    tenant.revoke_api_key("k1")

    assert tenant.active_key("k1") is None
    assert tenant.api_keys["k1"].revoked is True


def test_revoking_twice_records_one_event() -> None:
    tenant = opened()
    tenant.issue_api_key("k1", "h1", Role.ADMIN)
    tenant.collect_events()

    tenant.revoke_api_key("k1")
    tenant.revoke_api_key("k1")

    assert [type(e).__name__ for e in tenant.collect_events()] == ["ApiKeyRevoked"]


def test_revoking_an_unknown_key_is_refused() -> None:
    with pytest.raises(UnknownApiKeyError):
        opened().revoke_api_key("nope")


def test_an_unknown_key_is_not_active() -> None:
    assert opened().active_key("nope") is None


def test_revoking_one_key_leaves_the_others_active() -> None:
    tenant = opened()
    tenant.issue_api_key("k1", "h1", Role.ADMIN)
    tenant.issue_api_key("k2", "h2", Role.PLANNER)

    tenant.revoke_api_key("k1")

    assert tenant.active_key("k2") is not None


def test_roles_grant_what_the_spec_says() -> None:
    assert GRANTS[Role.ADMIN] == frozenset(Permission)
    assert GRANTS[Role.PLANNER] == {Permission.READ_ORDERS, Permission.MANAGE_CUSTOMERS}
    assert GRANTS[Role.AUDITOR] == {Permission.READ_ORDERS, Permission.READ_HISTORY}


def test_an_unknown_role_is_refused_with_the_valid_ones_named() -> None:
    with pytest.raises(InvalidValueError, match="admin, planner, auditor"):
        Role.parse("owner")


# ---------------------------------------------------------------- the WMS webhook


def test_connecting_gives_the_tenants_one_webhook_active_with_the_secret_hash() -> None:
    hook = WmsWebhook.connect(TENANT, "hash-1", ADMIN)

    assert hook.id == webhook_id(TENANT)
    assert hook.id == WmsWebhook.create_id(str(TENANT))
    assert hook.active is True
    assert hook.secret_hash == "hash-1"
    [created] = hook.collect_events()
    assert created.source == {"channel": "api", "deliveryId": None, "requestId": None, "apiKeyId": "key-1"}  # type: ignore[attr-defined]  # an event attribute the base class does not declare


def test_regenerating_replaces_the_secret_hash_and_records_who_did_it() -> None:
    hook = connected()

    hook.regenerate_secret("hash-2", ADMIN)

    assert hook.secret_hash == "hash-2"
    [regenerated] = hook.collect_events()
    assert type(regenerated).__name__ == "SecretRegenerated"
    assert regenerated.source["apiKeyId"] == "key-1"  # type: ignore[attr-defined]  # an event attribute the base class does not declare


def test_deactivating_then_reactivating_records_one_event_each() -> None:
    hook = connected()

    assert hook.set_active(False, ADMIN) is True
    assert hook.active is False
    assert hook.set_active(True, ADMIN) is True
    assert hook.active is True

    assert [type(e).__name__ for e in hook.collect_events()] == ["Deactivated", "Reactivated"]


def test_setting_the_state_it_already_has_records_nothing() -> None:
    hook = connected()

    assert hook.set_active(True, ADMIN) is False
    assert hook.collect_events() == []

    hook.set_active(False, ADMIN)
    hook.collect_events()
    assert hook.set_active(False, ADMIN) is False
    assert hook.collect_events() == []
    assert hook.active is False


# ---------------------------------------------------------------- secret rotation


def test_a_rotation_keeps_the_old_secret_for_its_window_only() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    hook = connected()
    hook.rotate_secret("hash-2", now, timedelta(hours=1), ADMIN)
    [rotated] = hook.collect_events()
    assert type(rotated).__name__ == "SecretRotated"
    assert (hook.secret_hash, hook.previous_secret_hash) == ("hash-2", "hash-1")
    assert hook.previous_secret_open(now + timedelta(minutes=59))
    assert not hook.previous_secret_open(now + timedelta(hours=1))
    # Another rotation drops the older secret; a plain regeneration drops the window.
    hook.rotate_secret("hash-3", now, timedelta(hours=1), ADMIN)
    assert hook.previous_secret_hash == "hash-2"
    hook.regenerate_secret("hash-4", ADMIN)
    assert hook.previous_secret_hash is None and not hook.previous_secret_open(now)


def test_a_zero_window_is_the_documented_regeneration_and_a_long_one_is_refused() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    hook = connected()
    hook.rotate_secret("hash-2", now, timedelta(0), ADMIN)
    assert [type(e).__name__ for e in hook.collect_events()] == ["SecretRegenerated"]
    with pytest.raises(InvalidValueError):
        hook.rotate_secret("hash-3", now, timedelta(days=7, seconds=1), ADMIN)
    assert hook.collect_events() == []


def test_deactivating_and_ending_early_close_the_window() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    hook = connected()
    hook.rotate_secret("hash-2", now, timedelta(hours=1), ADMIN)
    assert hook.end_previous_secret(ADMIN) is True
    assert hook.end_previous_secret(ADMIN) is False
    hook.rotate_secret("hash-3", now, timedelta(hours=1), ADMIN)
    hook.set_active(False, ADMIN)
    hook.set_active(True, ADMIN)
    assert not hook.previous_secret_open(now)
