"""The dashboard's routes, and the security headers of everything under /dashboard.

The Content-Security-Policy lets pages load and call only this service (plus
the configured map tile server's images): a page makes no other request.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from interfaces.http.dashboard import handlers
from interfaces.http.dashboard.pages import PAGES, STATIC_DIR
from interfaces.http.keys import CONTAINER

PREFIX = "/dashboard"


def add_dashboard_routes(app: web.Application) -> None:
    app.router.add_routes(
        [
            web.get(PREFIX, handlers.dashboard_root),
            web.get(f"{PREFIX}/", handlers.index),
            web.post(f"{PREFIX}/session", handlers.sign_in),
            web.get(f"{PREFIX}/session", handlers.current_session),
            web.delete(f"{PREFIX}/session", handlers.sign_out),
            *(web.get(page.path, handlers.page_handler(page)) for page in PAGES),
        ]
    )
    app.router.add_static(f"{PREFIX}/static", STATIC_DIR, name="dashboard-static")
    app.on_response_prepare.append(_security_headers)


def content_security_policy(tile_url: str | None) -> str:
    images = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "*"))
        images += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path != PREFIX and not request.path.startswith(f"{PREFIX}/"):
        return
    tile_url = request.app[CONTAINER].settings.map_tile_url
    response.headers["Content-Security-Policy"] = content_security_policy(tile_url)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
