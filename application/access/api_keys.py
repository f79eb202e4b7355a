"""Tenants and their API keys: open a tenant, issue, list and revoke keys, and
tell who holds a key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import UUID

from application.commands import IssuedApiKey, Principal, TenantCreated
from application.errors import InvalidRequestError, NotFoundError, UnauthorizedError
from application.loading import load
from application.ports.aggregates import AggregateStore
from application.principals import parse_tenant, require
from application.timestamps import iso
from application.tokens import hash_secret, secret_matches
from domain.errors import DomainError
from domain.roles import Permission, Role
from domain.tenant import Tenant

API_KEY_PREFIX = "wik"


@dataclass(frozen=True)
class ApiKeyRow:
    """A key as listed: never its secret."""

    key_id: str
    name: str | None
    role: Role
    created_at: str
    revoked: bool


class ApiKeys:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    def create_tenant(self, name: str) -> TenantCreated:
        try:
            tenant = Tenant.open(name)
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        key_id, api_key = self._new_api_key(tenant, Role.ADMIN)
        self.store.save(tenant)
        return TenantCreated(tenant_id=tenant.id, admin_api_key=api_key, admin_key_id=key_id)

    def tenant_summary(self, principal: Principal) -> TenantSummary:
        """The caller's own tenant: its id and name (any role may read it)."""
        tenant = self._tenant(principal.tenant_id)
        return TenantSummary(tenant.id, tenant.name)

    def issue_api_key(self, principal: Principal, role: str, name: str | None = None) -> IssuedApiKey:
        require(principal, Permission.MANAGE_API_KEYS)
        try:
            parsed = Role.parse(role)
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        tenant = self._tenant(principal.tenant_id)
        try:
            key_id, api_key = self._new_api_key(tenant, parsed, name)
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        self.store.save(tenant)
        return IssuedApiKey(key_id=key_id, api_key=api_key, role=parsed, name=tenant.api_keys[key_id].name)

    def list_api_keys(self, principal: Principal) -> list[ApiKeyRow]:
        require(principal, Permission.MANAGE_API_KEYS)
        tenant = self._tenant(principal.tenant_id)
        return [ApiKeyRow(k.key_id, k.name, k.role, iso(k.issued_at), k.revoked) for k in tenant.api_keys.values()]

    def revoke_api_key(self, principal: Principal, key_id: str) -> None:
        require(principal, Permission.MANAGE_API_KEYS)
        tenant = self._tenant(principal.tenant_id)
        if key_id not in tenant.api_keys:
            raise NotFoundError("API key not found")
        tenant.revoke_api_key(key_id)
        self.store.save(tenant)

    def authenticate(self, route_tenant: str, api_key: str) -> Principal:
        """Who holds ``api_key``; a valid key of another tenant gets NotFound."""
        parts = api_key.split("_", 3)
        if len(parts) != 4 or parts[0] != API_KEY_PREFIX:
            raise UnauthorizedError()
        try:
            key_tenant = UUID(hex=parts[1])
        except ValueError:
            raise UnauthorizedError() from None
        tenant = load(self.store, key_tenant, Tenant)
        record = tenant.active_key(parts[2]) if tenant is not None else None
        # An unknown tenant or key id costs the same comparison as a wrong
        # secret: no timing hint of which tenants and keys exist.
        matches = secret_matches(api_key, record.secret_hash if record is not None else "0" * 64)
        if record is None or not matches:
            raise UnauthorizedError()
        if parse_tenant(route_tenant) != key_tenant:
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
        tenant = load(self.store, tenant_id, Tenant)
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
        tenant = load(self.store, tenant_id, Tenant)
        if tenant is None:
            raise NotFoundError("Not found")
        return tenant


@dataclass(frozen=True)
class TenantSummary:
    """The caller's own tenant, as any of its keys may read it."""

    tenant_id: UUID
    name: str
