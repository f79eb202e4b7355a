"""Settings -> Integrations -> "Pull from WMS": add, list, change, remove, new secret, Sync now."""

from __future__ import annotations

from aiohttp import web

from application.pull.results import PullEndpointChange
from interfaces.http.auth import principal_of
from interfaces.http.keys import CONTAINER
from interfaces.http.middleware import request_id_of
from interfaces.http.offload import offload
from interfaces.http.positions import consistent_reads, min_position, with_position
from interfaces.http.presenters.batch_results import present_ingest_result
from interfaces.http.presenters.pull import (
    present_added_pull_endpoint,
    present_changed_pull_endpoint,
    present_pull_endpoints,
    present_pull_secret,
)
from interfaces.http.pull_schemas import AddPullEndpoint, ChangePullEndpoint
from interfaces.http.responses import json_response
from interfaces.http.schemas import parse_body


def _endpoint_id(request: web.Request) -> str:
    return request.match_info["endpointId"]


async def add_endpoint(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await parse_body(request, AddPullEndpoint)
    added = await offload(
        request, request.app[CONTAINER].pull.add_endpoint, principal, body.url, body.method, body.intervalMinutes
    )
    return json_response(await with_position(request, present_added_pull_endpoint(added)), status=201)


async def list_endpoints(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    pull = request.app[CONTAINER].pull
    endpoints = await consistent_reads(request).pull_endpoints(
        principal, lambda: pull.list_endpoints(principal), min_position(request)
    )
    return json_response(present_pull_endpoints(endpoints))


async def change_endpoint(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await parse_body(request, ChangePullEndpoint)
    change = PullEndpointChange(
        url=body.url,
        method=body.method,
        interval_given="intervalMinutes" in body.model_fields_set,
        interval_minutes=body.intervalMinutes,
    )
    view = await offload(request, request.app[CONTAINER].pull.change_endpoint, principal, _endpoint_id(request), change)
    return json_response(await with_position(request, present_changed_pull_endpoint(view)))


async def remove_endpoint(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    await offload(request, request.app[CONTAINER].pull.remove_endpoint, principal, _endpoint_id(request))
    return web.Response(status=204)


async def regenerate_secret(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    secret = await offload(request, request.app[CONTAINER].pull.regenerate_secret, principal, _endpoint_id(request))
    return json_response(await with_position(request, present_pull_secret(secret)))


async def sync_now(request: web.Request) -> web.Response:
    """The webhook's success body, or a 502 saying why the pull failed."""
    principal = await principal_of(request)
    # The service awaits the WMS here and runs its store calls in the thread pool itself.
    result = await request.app[CONTAINER].pull.sync_now(principal, _endpoint_id(request), request_id_of(request))
    return json_response(present_ingest_result(result.stored()))
