"""Roles of tenant API keys and what each may do."""

from __future__ import annotations

from enum import Enum

from domain.errors import InvalidValueError


class Role(str, Enum):
    ADMIN = "admin"
    PLANNER = "planner"
    AUDITOR = "auditor"

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value)
        except ValueError:
            raise InvalidValueError(f"role must be one of {', '.join(r.value for r in cls)}") from None


class Permission(str, Enum):
    MANAGE_INTEGRATIONS = "manage_integrations"
    MANAGE_API_KEYS = "manage_api_keys"
    READ_ORDERS = "read_orders"
    READ_HISTORY = "read_history"
    MANAGE_CUSTOMERS = "manage_customers"


#: admin: everything; planner: orders and customers; auditor: orders and history.
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.PLANNER: frozenset({Permission.READ_ORDERS, Permission.MANAGE_CUSTOMERS}),
    Role.AUDITOR: frozenset({Permission.READ_ORDERS, Permission.READ_HISTORY}),
}
