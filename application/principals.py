"""Who is acting: the checks every use case makes of its caller, in one place."""

from __future__ import annotations

from uuid import UUID

from application.commands import Principal
from application.errors import ForbiddenError, NotFoundError
from domain.roles import Permission
from domain.source import Source


def require(principal: Principal, permission: Permission) -> None:
    """Forbidden unless the caller's role allows ``permission``."""
    if not principal.allows(permission):
        raise ForbiddenError()


def acting(principal: Principal) -> Source:
    """The source recorded on events a caller of the API causes."""
    return Source(channel="api", api_key_id=principal.key_id)


def parse_tenant(value: str) -> UUID:
    """A tenant id from a path; a malformed one is a tenant that does not exist."""
    try:
        return UUID(value)
    except ValueError:
        raise NotFoundError("Not found") from None
