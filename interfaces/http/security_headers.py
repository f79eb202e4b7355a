"""Security headers of the API (everything under /api/).

* ``X-Content-Type-Options: nosniff`` on every response: a browser never
  second-guesses a JSON body into HTML or script.
* ``Cache-Control: no-store`` on every response of a route that shows a
  secret (Connect WMS, a regenerated webhook or pull secret, a new API key, a
  new pull endpoint), and on every other tenant response too: orders carry
  addresses and names, and no browser or proxy cache should keep them.
  The OpenAPI document, which is the same for everyone, may be cached.

Applied when a response is prepared, so error responses get them as well.
"""

from __future__ import annotations

from aiohttp import web

API_PREFIX = "/api/"
#: The one /api/ document that is public and the same for every caller.
CACHEABLE = frozenset({"/api/openapi.json"})


def install_api_security_headers(app: web.Application) -> None:
    app.on_response_prepare.append(_api_security_headers)


async def _api_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not request.path.startswith(API_PREFIX):
        return
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.path not in CACHEABLE:
        response.headers["Cache-Control"] = "no-store"
