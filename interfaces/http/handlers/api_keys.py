"""Tenant API keys: issue (shown once), list (no secrets), revoke."""

from __future__ import annotations

from aiohttp import web

from interfaces.http.auth import principal_of
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload
from interfaces.http.positions import with_position
from interfaces.http.presenters.keys import present_issued_key, present_used_key_list
from interfaces.http.responses import json_response
from interfaces.http.schemas import IssueApiKey, parse_body


async def issue_api_key(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await parse_body(request, IssueApiKey)
    issued = await offload(request, request.app[CONTAINER].use_cases.issue_api_key, principal, body.role, body.name)
    return json_response(await with_position(request, present_issued_key(issued)), status=201)


async def list_api_keys(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    used = await offload(request, request.app[CONTAINER].key_usage.list_keys, principal)
    return json_response(present_used_key_list(used))


async def revoke_api_key(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    await offload(request, request.app[CONTAINER].use_cases.revoke_api_key, principal, request.match_info["keyId"])
    return web.Response(status=204)
