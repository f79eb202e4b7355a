"""The dashboard's session cookie, and the CSRF checks that come with it.

Policy:
- The cookie holds a random session token: HttpOnly (no script can read it),
  SameSite=Strict, Path=/, Secure when the service is reached over https (the
  request itself, or ``WMS_INTAKE_PUBLIC_URL``), and it lives as long as the
  session.
- A request authenticated by the cookie that changes state (anything but
  GET/HEAD/OPTIONS) must carry the session's CSRF token in ``X-CSRF-Token``
  and, when the browser says where it comes from (``Origin``, else
  ``Referer``), come from this service's own origin. Failing either is 403.
- A request with an ``Authorization`` header is an API client: the cookie is
  not looked at.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from application.commands import Principal
from application.dashboard_sessions import SignedIn, csrf_matches
from application.errors import ForbiddenError, UnauthorizedError
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload

SESSION_COOKIE = "wms_intake_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def session_token(request: web.Request) -> str | None:
    """The session token of the request's cookie, if it sent one."""
    return request.cookies.get(SESSION_COOKIE) or None


def uses_session(request: web.Request) -> bool:
    """True when the request authenticates with the cookie rather than a Bearer key."""
    return "Authorization" not in request.headers and session_token(request) is not None


async def session_principal(request: web.Request) -> Principal:
    """The principal of the request's session, for the route's tenant (CSRF-checked)."""
    token = session_token(request)
    if token is None:
        raise UnauthorizedError()
    if request.method not in SAFE_METHODS:
        require_csrf(request, token)
    sessions = request.app[CONTAINER].sessions
    return await offload(request, sessions.principal, token, request.match_info.get("tenantId"))


def require_csrf(request: web.Request, token: str) -> None:
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented or not csrf_matches(token, presented):
        raise ForbiddenError()
    require_same_origin(request)


def require_same_origin(request: web.Request) -> None:
    """Refuse a state change whose browser-declared origin is not this service."""
    origin, referer = request.headers.get("Origin"), request.headers.get("Referer")
    if origin is None and referer is None:
        return
    # A Referer that names no origin (malformed, not UTF-8) is no proof of coming from here.
    declared = origin if origin is not None else _origin_of(referer or "")
    if declared not in own_origins(request):
        raise ForbiddenError()


def own_origins(request: web.Request) -> set[str]:
    origins = {f"{request.scheme}://{request.host}"}
    public = request.app[CONTAINER].settings.public_url
    if public:
        origins.add(_origin_of(public))
    return origins


def is_secure(request: web.Request) -> bool:
    public = request.app[CONTAINER].settings.public_url or ""
    return request.secure or public.lower().startswith("https://")


def set_session_cookie(response: web.StreamResponse, request: web.Request, signed: SignedIn) -> None:
    lifetime = request.app[CONTAINER].sessions.lifetime
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=is_secure(request),
    )


def clear_session_cookie(response: web.StreamResponse, request: web.Request) -> None:
    response.del_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=is_secure(request))


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
