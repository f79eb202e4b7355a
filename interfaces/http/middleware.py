"""Request ids, error mapping, access log and request metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from interfaces.http.errors import error_response
from interfaces.http.keys import METRICS

log = logging.getLogger("wms_intake.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


REQUEST_ID = web.RequestKey("request_id", str)


def request_id_of(request: web.Request) -> str:
    return request[REQUEST_ID]


async def _route_of_path(request: web.Request) -> str:
    """The route whose path matched when only the method did not (405): a GET
    on the webhook is counted under the webhook, not as "unmatched"."""
    for resource in request.app.router.resources():
        _, allowed = await resource.resolve(request)
        if allowed:
            return resource.canonical
    return "unmatched"


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every response carries ``X-Request-Id``; every error becomes a JSON body."""
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    try:
        response = await handler(request)
    except Exception as error:
        response = error_response(error)
    response.headers["X-Request-Id"] = request_id
    elapsed = time.perf_counter() - started
    route = request.match_info.route.resource
    route_name = route.canonical if route is not None else await _route_of_path(request)
    metrics = request.app.get(METRICS)
    if metrics is not None:
        metrics.count_request(request.method, route_name, response.status, elapsed)
    log.info(
        "request",
        extra={
            "requestId": request_id,
            "tenant": request.match_info.get("tenantId"),
            "method": request.method,
            "route": route_name,
            "status": response.status,
            "durationMs": round(elapsed * 1000, 2),
        },
    )
    return response
