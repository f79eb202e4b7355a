"""The caller's own tenant (the dashboard's header shows its name)."""

from __future__ import annotations

from aiohttp import web

from interfaces.http.auth import principal_of
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload
from interfaces.http.presenters.tenants import present_tenant
from interfaces.http.responses import json_response


async def get_tenant(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    tenant = await offload(request, request.app[CONTAINER].use_cases.tenant_summary, principal)
    return json_response(present_tenant(tenant))
