"""Use cases of an operator on the machine (the CLI), who holds no API key.

Whoever can run the command can read the database, so the command acts as
the tenant's admin: it is the way back in for an admin who lost every key.
Each use case calls the same application method the API calls, with an
operator principal, so the rules (roles, validation, events) are the same.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.access.api_keys import ApiKeyRow
from application.commands import IssuedApiKey, Principal
from application.errors import NotFoundError
from application.history import OrderHistory
from application.intake_app import IntakeApplication
from application.timestamps import iso
from domain.ids import order_id
from domain.roles import Role
from domain.tenant import Tenant

TENANT_CREATED = Tenant.Created.TOPIC
OPERATOR_KEY_ID = "operator"
PAGE = 500


class OperatorCommands:
    def __init__(self, app: IntakeApplication) -> None:
        self.app = app

    def list_tenants(self) -> list[dict[str, Any]]:
        """Every tenant, oldest first: id, name, when created, keys active."""
        ids: list[UUID] = []
        position = 0
        while True:
            page = self.app.recorder.select_notifications(
                start=position, limit=PAGE, topics=(TENANT_CREATED,), inclusive_of_start=False
            )
            ids.extend(n.originator_id for n in page)
            if len(page) < PAGE:
                break
            position = page[-1].id
        loaded = self.app.load_many(ids)
        tenants = []
        for tenant_id in ids:
            tenant = loaded.get(tenant_id)
            if isinstance(tenant, Tenant):
                tenants.append(
                    {
                        "tenantId": str(tenant.id),
                        "name": tenant.name,
                        "createdAt": iso(tenant.created_on),
                        "activeApiKeys": sum(1 for k in tenant.api_keys.values() if not k.revoked),
                    }
                )
        return tenants

    def issue_api_key(self, tenant_id: str, role: str, name: str | None = None) -> IssuedApiKey:
        return self.app.issue_api_key(self._admin_of(tenant_id), role, name)

    def list_api_keys(self, tenant_id: str) -> list[ApiKeyRow]:
        return self.app.list_api_keys(self._admin_of(tenant_id))

    def revoke_api_key(self, tenant_id: str, key_id: str) -> None:
        self.app.revoke_api_key(self._admin_of(tenant_id), key_id)

    def order_history(self, tenant_id: str, order: str | None = None, external_id: str | None = None) -> OrderHistory:
        """The audit trail of an order, named by its id or by its external id."""
        if external_id is not None:
            order = str(order_id(self._tenant_id(tenant_id), external_id))
        if order is None:
            raise NotFoundError("name the order by its id or --external-id")
        return self.app.order_history_for_operator(tenant_id, order)

    def _admin_of(self, tenant_id: str) -> Principal:
        return Principal(tenant_id=self._tenant_id(tenant_id), key_id=OPERATOR_KEY_ID, role=Role.ADMIN)

    @staticmethod
    def _tenant_id(tenant_id: str) -> UUID:
        try:
            return UUID(tenant_id)
        except ValueError:
            raise NotFoundError(
                f"no tenant {tenant_id!r}: tenant ids look like 'wms-intake tenants list' shows them"
            ) from None
