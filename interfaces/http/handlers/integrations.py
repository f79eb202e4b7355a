"""Settings -> Integrations: connect the WMS webhook, regenerate, (de)activate, status."""

from __future__ import annotations

from aiohttp import web

from interfaces.http.auth import principal_of
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload
from interfaces.http.paging import page_params
from interfaces.http.positions import consistent_reads, min_position, with_position
from interfaces.http.presenters.deliveries import present_deliveries_page
from interfaces.http.presenters.integrations import (
    present_integration_status,
    present_new_webhook_secret,
    present_webhook_active,
    present_webhook_connected,
)
from interfaces.http.public_url import public_origin
from interfaces.http.responses import json_response
from interfaces.http.schemas import RotateWebhookSecret, SetWebhookActive, parse_body


def webhook_url(request: web.Request, tenant_id: str) -> str:
    """``{origin}/api/integrations/wms/{tenantId}``; origin from settings or a valid Host.

    Handlers that change something build it before the change: a request
    whose Host is not a host is refused with nothing committed.
    """
    return f"{public_origin(request)}/api/integrations/wms/{tenant_id}"


async def connect_webhook(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    url = webhook_url(request, str(principal.tenant_id))
    secret = await offload(request, request.app[CONTAINER].use_cases.connect_webhook, principal)
    return json_response(await with_position(request, present_webhook_connected(url, secret)), status=201)


async def regenerate_webhook_secret(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await parse_body(request, RotateWebhookSecret)
    container = request.app[CONTAINER]
    secret, previous_until = await offload(
        request, container.use_cases.rotate_webhook_secret, principal, body.previousValidForSeconds
    )
    return json_response(await with_position(request, present_new_webhook_secret(secret, previous_until)))


async def end_previous_webhook_secret(request: web.Request) -> web.Response:
    """End a rotation window early: only the current secret works from now on."""
    principal = await principal_of(request)
    await offload(request, request.app[CONTAINER].use_cases.end_previous_webhook_secret, principal)
    return web.Response(status=204)


async def set_webhook_active(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await parse_body(request, SetWebhookActive)
    url = webhook_url(request, str(principal.tenant_id))
    await offload(request, request.app[CONTAINER].use_cases.set_webhook_active, principal, body.active)
    return json_response(await with_position(request, present_webhook_active(url, body.active)))


async def integration_status(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    status = await consistent_reads(request).integration_status(
        principal, webhook_url(request, str(principal.tenant_id)), min_position(request)
    )
    return json_response(present_integration_status(status))


async def list_deliveries(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    limit, cursor = page_params(request, default_limit=50)
    page = await consistent_reads(request).deliveries_page(principal, limit, cursor, min_position(request))
    return json_response(present_deliveries_page(page))
