"""``POST /api/integrations/wms/{tenantId}``: the documented WMS webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from aiohttp import web

from application.commands import ReceiveBatch
from application.errors import InvalidRequestError, PayloadRejectedError
from application.media_types import is_json_media_type
from application.redaction import Redactor
from application.tokens import hash_secret
from interfaces.http.auth import bearer_token
from interfaces.http.body import read_capped
from interfaces.http.errors import TooManyRequestsError
from interfaces.http.keys import CONTAINER, RATE_LIMITER
from interfaces.http.middleware import request_id_of
from interfaces.http.offload import offload
from interfaces.http.presenters.batch_results import present_ingest_result
from interfaces.http.responses import json_response


async def receive_orders(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    settings = container.settings
    # Authentication comes first and reads no byte of the body. A secret that
    # matches the webhook as last read here needs no query (it is checked
    # again, fresh, in the same read as the batch's orders, and before any
    # other refusal).
    route_tenant, secret = request.match_info["tenantId"], bearer_token(request)
    cached = container.use_cases.webhook_tenant_if_known(route_tenant, secret)
    tenant_id: UUID = (
        cached
        if cached is not None
        else await offload(request, container.use_cases.authenticate_webhook, route_tenant, secret)
    )
    async with _refusals_after_fresh_authentication(request, cached is not None, route_tenant, secret):
        wait = request.app[RATE_LIMITER].retry_after(str(tenant_id))
        if wait is not None:
            raise TooManyRequestsError(wait)
        partial = _partial_acceptance(request)
        if not _is_json(request):
            raise PayloadRejectedError(
                415, {"error": "Unsupported media type", "details": "send the orders as application/json"}
            )
        body, size = await read_capped(request, settings.max_body_bytes, settings.client_timeout_seconds)
    result = await offload(
        request,
        container.use_cases.receive_batch,
        ReceiveBatch(
            tenant_id=tenant_id,
            body=body,
            body_size=size,
            channel="webhook",
            request_id=request_id_of(request),
            received_at=container.use_cases.clock.now(),
            max_items=settings.max_batch_items,
            max_body_bytes=settings.max_body_bytes,
            credential_hash=hash_secret(secret),
            redactor=Redactor([secret]),
            partial=partial,
        ),
    )
    return json_response(present_ingest_result(result))


@asynccontextmanager
async def _refusals_after_fresh_authentication(
    request: web.Request, cached: bool, route_tenant: str, secret: str
) -> AsyncIterator[None]:
    """A refusal (429, 415, 408, a broken body) goes out only to a caller the
    webhook lets in now: another process may have deactivated it or changed
    its secret since this one last read it, and then the answer is the 401."""
    try:
        yield
    except (TooManyRequestsError, PayloadRejectedError, InvalidRequestError):
        if cached:
            container = request.app[CONTAINER]
            await offload(request, container.use_cases.authenticate_webhook, route_tenant, secret)
        raise


def _is_json(request: web.Request) -> bool:
    # One rule with the pull's (application/media_types.py).
    return is_json_media_type(request.content_type if "Content-Type" in request.headers else None)


def _partial_acceptance(request: web.Request) -> bool:
    """``?atomic=false`` asks for partial acceptance; absent (or ``true``) is the documented all or nothing."""
    value = request.query.get("atomic")
    if value is None or value == "true":
        return False
    if value == "false":
        return True
    raise InvalidRequestError("Invalid query parameter", [{"field": "atomic", "message": "must be true or false"}])


async def tenant_of(request: web.Request) -> str:
    """The webhook's tenant, authenticated as ``receive_orders`` does (an Idempotency-Key is per tenant)."""
    container = request.app[CONTAINER]
    route_tenant, secret = request.match_info["tenantId"], bearer_token(request)
    tenant_id = container.use_cases.webhook_tenant_if_known(route_tenant, secret) or await offload(
        request, container.use_cases.authenticate_webhook, route_tenant, secret
    )
    return str(tenant_id)
