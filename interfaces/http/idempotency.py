"""The ``Idempotency-Key`` header on the webhook and the tenant API's POSTs.

A request without the header goes through untouched. With it, the caller is authenticated first (a replay never answers an
unauthenticated request), the body is read once, and the first answer to this
key and request is kept and replayed (see ``application.idempotency``).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial

from aiohttp import web

from application.errors import ApplicationError, InvalidRequestError
from application.idempotency import LEASE, Held, Proceed, Replay, keeps, valid_key
from application.ports.idempotency import IdempotencyStore
from application.retrying import give_back
from application.tokens import hash_secret
from interfaces.http.auth import principal_of
from interfaces.http.body import PREREAD, read_capped
from interfaces.http.errors import TooManyRequestsError, error_response
from interfaces.http.handlers import webhook
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload
from interfaces.http.responses import json_response
from interfaces.http.schemas import MAX_REQUEST_BYTES

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
#: How long a request waits for another one holding its key, before 409.
WAIT_SECONDS = 10.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WEBHOOK_PATH = "/api/integrations/wms/{tenantId}"
TENANT_API_PREFIX = "/api/tenants/{tenantId}/"


@web.middleware
async def idempotency_keys(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Keep and replay answers to POSTs of the webhook and the tenant API that carry the header."""
    key = request.headers.get(HEADER)
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else ""
    if key is None or request.method != "POST":
        return await handler(request)
    container = request.app[CONTAINER]
    if path == WEBHOOK_PATH:
        tenant_of, limit = webhook.tenant_of, container.settings.max_body_bytes
    elif path.startswith(TENANT_API_PREFIX):
        tenant_of, limit = tenant_api_tenant, MAX_REQUEST_BYTES
    else:
        return await handler(request)
    if not valid_key(key):
        raise InvalidRequestError(
            "Invalid Idempotency-Key", [{"field": HEADER, "message": "1 to 255 visible ASCII characters"}]
        )
    tenant_id = await tenant_of(request)
    store = container.idempotency
    body, size = await read_capped(request, limit, container.settings.client_timeout_seconds)
    request[PREREAD] = (body, size)
    if body is None:
        return await handler(request)  # over the limit: the route refuses it as usual
    key_hash = hash_secret(key)
    fingerprint = hashlib.sha256(
        b"\0".join((request.method.encode(), request.rel_url.raw_path_qs.encode(), body))
    ).hexdigest()
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + WAIT_SECONDS
    pause = 0.02
    while True:
        claim = await offload(
            request, store.claim, tenant_id, key_hash, fingerprint, owner, container.use_cases.clock.now()
        )
        if isinstance(claim, Proceed):
            break
        if isinstance(claim, Replay):
            return web.Response(
                body=claim.body, status=claim.status, content_type=claim.content_type, headers={REPLAYED: "true"}
            )
        if claim is Held.MISMATCH:
            return json_response(
                {
                    "error": "Idempotency-Key reused with a different request",
                    "details": "a key names one request (method, path, query and body) for 24 hours",
                },
                422,
            )
        # Held.IN_PROGRESS: another request holds the key; wait for its answer, within bounds.
        if time.monotonic() > deadline:
            return json_response(
                {"error": "A request with this Idempotency-Key is still in progress; retry"}, 409, {"Retry-After": "1"}
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)
    release = partial(_release, request, store, tenant_id, key_hash, owner)
    try:
        response = await handler(request)
    except (ApplicationError, TooManyRequestsError, web.HTTPException) as error:
        response = error_response(error)
        if not keeps(response.status):
            await release()
            raise
    except BaseException:
        await asyncio.shield(release())
        raise
    if keeps(response.status) and isinstance(response, web.Response) and isinstance(response.body, bytes):
        await offload(
            request, store.finish, tenant_id, key_hash, owner, response.status, response.content_type, response.body
        )
    else:
        await release()
    return response


async def _release(request: web.Request, store: IdempotencyStore, tenant_id: str, key_hash: str, owner: str) -> None:
    """Give the key up without an answer. When the database is away (often the
    very reason the answer is a 503), the answer does not wait: a task offers
    the key back until it is taken, so the caller's retry with it does the work
    as soon as the database is there, not when the key's lease runs out."""
    release = partial(offload, request, store.release, tenant_id, key_hash, owner)
    await give_back(release, what="an idempotency key", seconds=LEASE.total_seconds())


async def tenant_api_tenant(request: web.Request) -> str:
    """The tenant of a tenant-API caller, authenticated as the route itself will."""
    return str((await principal_of(request)).tenant_id)
