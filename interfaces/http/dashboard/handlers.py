"""Sign-in, the current session, sign-out, and the pages (each checked against its roles).

Everything else the pages show comes from the public JSON API, called by the
browser with the session cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from application.commands import Principal
from application.dashboard_sessions import csrf_token_of
from application.errors import PayloadRejectedError, UnauthorizedError
from interfaces.http.dashboard.pages import FORBIDDEN_HTML, SIGN_IN_HTML, DashboardPage, home_of, pages_for
from interfaces.http.dashboard.schemas import SignIn
from interfaces.http.dashboard.session_auth import (
    clear_session_cookie,
    require_csrf,
    require_same_origin,
    session_token,
    set_session_cookie,
)
from interfaces.http.dashboard.sign_in_throttle import throttled_sign_in
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload
from interfaces.http.presenters.sessions import present_session
from interfaces.http.responses import json_response
from interfaces.http.schemas import parse_body

NO_STORE = {"Cache-Control": "no-store"}
PageHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def sign_in(request: web.Request) -> web.Response:
    """Exchange an API key for a session cookie (201), or 401 for any bad key."""
    require_same_origin(request)
    if request.content_type != "application/json":
        # A cross-site HTML form can't send JSON: this keeps sign-in out of reach of CSRF.
        raise PayloadRejectedError(
            415, {"error": "Unsupported media type", "details": 'send {"apiKey": "..."} as application/json'}
        )
    body = await parse_body(request, SignIn)
    sessions = request.app[CONTAINER].sessions
    signed = await throttled_sign_in(request, body.apiKey)
    previous = session_token(request)
    if previous is not None:
        # Signing in again (perhaps with another key) ends the session this browser had.
        await offload(request, sessions.sign_out, previous)
    response = json_response(session_body(request, signed.principal, signed.csrf_token), 201, NO_STORE)
    set_session_cookie(response, request, signed)
    return response


async def current_session(request: web.Request) -> web.Response:
    """Who is signed in, what they may open, and the CSRF token for their requests."""
    token = session_token(request)
    if token is None:
        raise UnauthorizedError()
    principal = await offload(request, request.app[CONTAINER].sessions.principal, token)
    return json_response(session_body(request, principal, csrf_token_of(token)), headers=NO_STORE)


async def sign_out(request: web.Request) -> web.Response:
    token = session_token(request)
    if token is not None:
        require_csrf(request, token)
        await offload(request, request.app[CONTAINER].sessions.sign_out, token)
    response = web.Response(status=204, headers=NO_STORE)
    clear_session_cookie(response, request)
    return response


async def index(request: web.Request) -> web.StreamResponse:
    """The sign-in page; a signed-in browser goes on to its home page."""
    principal = await _page_principal(request)
    if principal is not None:
        return _see_other(home_of(principal))
    return _html(SIGN_IN_HTML)


def page_handler(page: DashboardPage) -> PageHandler:
    async def show(request: web.Request) -> web.StreamResponse:
        principal = await _page_principal(request)
        if principal is None:
            return _see_other(f"/dashboard/?next={quote(request.path_qs, safe='')}")
        if not page.allows(principal):
            return _html(FORBIDDEN_HTML, status=403)
        return _html(page.html)

    return show


async def dashboard_root(request: web.Request) -> web.Response:
    return _see_other("/dashboard/")


def session_body(request: web.Request, principal: Principal, csrf_token: str) -> dict[str, Any]:
    settings = request.app[CONTAINER].settings
    return present_session(
        principal,
        csrf_token,
        home_of(principal),
        pages_for(principal),
        settings.map_tile_url,
        settings.map_tile_attribution,
    )


async def _page_principal(request: web.Request) -> Principal | None:
    token = session_token(request)
    if token is None:
        return None
    return await offload(request, request.app[CONTAINER].sessions.find_principal, token)


def _html(page: bytes, status: int = 200) -> web.Response:
    return web.Response(body=page, status=status, headers={**NO_STORE, "Content-Type": "text/html; charset=utf-8"})


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, **NO_STORE})
