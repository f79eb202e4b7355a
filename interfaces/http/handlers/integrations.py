"""Settings -> Integrations: connect the WMS webhook, regenerate, (de)activate, status."""

from __future__ import annotations

from aiohttp import web

from application.timestamps import iso
from interfaces.http.auth import principal_of
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload
from interfaces.http.paging import page_params
from interfaces.http.responses import json_response
from interfaces.http.schemas import RotateWebhookSecret, SetWebhookActive, parse_body


def webhook_url(request: web.Request, tenant_id: str) -> str:
    """``{origin}/api/integrations/wms/{tenantId}``; origin from settings or the request."""
    public = request.app[CONTAINER].settings.public_url
    origin = public.rstrip("/") if public else f"{request.scheme}://{request.host}"
    return f"{origin}/api/integrations/wms/{tenant_id}"


async def connect_webhook(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    secret = await offload(request, request.app[CONTAINER].app.connect_webhook, principal)
    return json_response(
        {"webhookUrl": webhook_url(request, str(principal.tenant_id)), "secret": secret, "active": True},
        status=201,
    )


async def regenerate_webhook_secret(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await parse_body(request, RotateWebhookSecret)
    container = request.app[CONTAINER]
    secret, previous_until = await offload(
        request, container.app.rotate_webhook_secret, principal, body.previousValidForSeconds
    )
    if previous_until is None:
        return json_response({"secret": secret})
    return json_response({"secret": secret, "previousSecretExpiresAt": iso(previous_until)})


async def end_previous_webhook_secret(request: web.Request) -> web.Response:
    """End a rotation window early: only the current secret works from now on."""
    principal = await principal_of(request)
    await offload(request, request.app[CONTAINER].app.end_previous_webhook_secret, principal)
    return web.Response(status=204)


async def set_webhook_active(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await parse_body(request, SetWebhookActive)
    await offload(request, request.app[CONTAINER].app.set_webhook_active, principal, body.active)
    return json_response(
        {"webhookUrl": webhook_url(request, str(principal.tenant_id)), "active": body.active}
    )


async def integration_status(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    container = request.app[CONTAINER]
    status = await offload(
        request,
        container.queries.integration_status,
        principal,
        webhook_url(request, str(principal.tenant_id)),
    )
    return json_response(status)


async def list_deliveries(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    limit, cursor = page_params(request, default_limit=50)
    page = await offload(request, request.app[CONTAINER].queries.deliveries_page, principal, limit, cursor)
    return json_response({"deliveries": list(page.items), "nextCursor": page.next_cursor})
