"""Health, readiness and metrics."""

from __future__ import annotations

from aiohttp import web

from interfaces.http.keys import CONTAINER, METRICS
from interfaces.http.offload import offload
from interfaces.http.presenters.operations import present_health, present_ready, present_unready
from interfaces.http.responses import json_response


async def healthz(request: web.Request) -> web.Response:
    return json_response(present_health())


async def readyz(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    try:
        await offload(request, container.db.query, "SELECT 1 AS ok")
    except Exception as error:  # readiness reports any failure as not ready
        return json_response(present_unready(error), status=503, headers={"Retry-After": "1"})
    return json_response(present_ready())


async def root(request: web.Request) -> web.Response:
    """The service's address opens the dashboard."""
    return web.Response(status=302, headers={"Location": "/dashboard/"})


async def metrics(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    registry = request.app[METRICS]
    registry.latest_lags = await offload(request, container.projection_lags)
    if container.geocoding is not None:
        registry.latest_geocoding = await offload(request, container.geocoding.snapshot)
    return web.Response(body=registry.render(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
