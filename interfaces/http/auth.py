"""Bearer tokens from the Authorization header (or a dashboard session), and the calling principal."""

from __future__ import annotations

from aiohttp import web

from application.commands import Principal
from application.errors import UnauthorizedError
from interfaces.http.dashboard.session_auth import session_principal, uses_session
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload


def bearer_token(request: web.Request) -> str:
    """The Bearer credential, or UnauthorizedError (missing, other scheme, empty)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        raise UnauthorizedError()
    return token


async def principal_of(request: web.Request) -> Principal:
    """Authenticate a tenant API key against the route's tenant.

    A browser signed in to the dashboard sends no key: its session cookie
    stands for the key it signed in with (same tenant, same role).
    """
    if uses_session(request):
        principal = await session_principal(request)
    else:
        token = bearer_token(request)
        app = request.app[CONTAINER].use_cases
        principal = await offload(request, app.authenticate, request.match_info["tenantId"], token)
    usage = request.app[CONTAINER].key_usage
    if usage.due(principal):
        await offload(request, usage.used, principal)
    return principal
