"""The OpenAPI 3.1 document of the service, served at ``GET /api/openapi.json``.

How a route gets described: every route registered in ``routes.py`` has one
entry in ``OPERATIONS`` below, keyed by ``(METHOD, path template)`` exactly as
registered. The entry names its summary, who may call it, its query
parameters, its request body (a pydantic model) and every response (status ->
``Reply`` with a pydantic model from ``response_schemas.py``). The document is
built from the app's router, so it lists exactly the routes that exist; a
test fails when an ``/api/`` or operations route has no entry, and a
schemathesis run checks the live responses against the document.

Policy: errors share one shape (``ErrorBody``); a route lists every status it
can answer (the authentication and role statuses come from ``tenant_api``);
every response carries ``X-Request-Id``. HTML pages (anything outside
``/api/`` other than the operations routes) are not described here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from application.order_payload import MAX_ID, OrderItem
from interfaces.http import response_schemas as rs
from interfaces.http.openapi_positions import describe_event_positions
from interfaces.http.paging import MAX_LIMIT
from interfaces.http.pull_schemas import AddPullEndpoint, ChangePullEndpoint
from interfaces.http.schemas import CreateCustomer, IssueApiKey, RotateWebhookSecret, SetWebhookActive

TENANT = "/api/tenants/{tenantId}"
PULL = f"{TENANT}/integrations/wms/pull-endpoints"
#: Routes outside /api/ that are part of the API (and so must be described).
OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

Security = Literal["apiKey", "webhookSecret"]
Schema = type[BaseModel] | dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """One documented response: a description, a body shape and its headers."""

    description: str
    body: Schema | None = rs.ErrorBody
    media_type: str = "application/json"
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    replies: Mapping[int, Reply]
    security: Security | None = "apiKey"
    roles: tuple[str, ...] = ()
    description: str = ""
    request: Schema | None = None
    #: False: the body may be left out (an empty body means every field's default).
    request_required: bool = True
    query: tuple[Query, ...] = ()


# ---------------------------------------------------------------- common replies

UNAUTHORIZED = Reply("missing, unknown, wrong or revoked credentials (same body for every cause)",
                     headers=("WWW-Authenticate",))
FORBIDDEN = Reply("the API key's role does not allow this route")
NOT_FOUND = Reply("no such thing in this tenant (a key of another tenant gets 404 for every route)")
BAD_REQUEST = Reply("the request is malformed; the error says how")
UNAVAILABLE = Reply("the database is unavailable; retry shortly", headers=("Retry-After",))


def tenant_api(own: Mapping[int, Reply], *, bad_request: bool = False) -> dict[int, Reply]:
    """The replies of a tenant-API route: its own plus 401/403/404/503 (and 400)."""
    replies: dict[int, Reply] = dict(own)
    if bad_request:
        replies[400] = BAD_REQUEST
    replies.update({401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 503: UNAVAILABLE})
    return replies


def _page_query(default: int) -> tuple[Query, ...]:
    return (
        Query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": default},
              "page size"),
        Query("cursor", {"type": "string"}, "the nextCursor of the previous page"),
    )


ALL_ROLES = ("admin", "planner", "auditor")

# ---------------------------------------------------------------- the table

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/api/integrations/wms/{tenantId}"): Operation(
        summary="Receive orders from a WMS (the webhook)",
        tag="webhook",
        security="webhookSecret",
        description=(
            "A single order object or an array of order objects. Fail-fast and atomic: on any "
            "error nothing is created or updated and lastReceivedAt does not move. Checks, in "
            "order: 401, 413, 400 Invalid JSON, 400 Invalid payload shape, 400 Validation failed, "
            "422 Invalid plannedDate, 400 Customer not found. Every refusal after authentication "
            "is recorded in the delivery log under the response's X-Request-Id. "
            "With ?atomic=false (partial acceptance, opt-in) the valid items are stored in one "
            "transaction and each invalid item is listed in rejectedItems with the status and error it "
            "would have got alone; 200 when at least one was stored (lastReceivedAt moves), else 400 (or "
            "422 when every refusal was a plannedDate) with the same body. Invalid JSON, a body that is "
            "neither an object nor an array, and the size limits still refuse the whole request."
        ),
        request={"$ref": "#/components/schemas/WebhookPayload"},
        query=(
            Query("atomic", {"type": "string", "enum": ["true", "false"], "default": "true"},
                  "false: partial acceptance (store the valid items, report the rest); "
                  "true or absent: all or nothing, as documented"),
        ),
        replies={
            200: Reply("every order created or updated (with ?atomic=false: the valid ones)", rs.WebhookResult),
            400: Reply("invalid JSON, payload shape, a validation problem or an unknown customer "
                       "(with ?atomic=false: every item refused, or a bad atomic value)",
                       rs.WebhookBadRequest),
            401: UNAUTHORIZED,
            408: Reply("the body did not arrive within the client timeout (WMS_INTAKE_CLIENT_TIMEOUT_SECONDS)"),
            413: Reply("the body or the number of orders is over the limit", rs.PayloadTooLarge),
            415: Reply("the body was sent with a Content-Type that is not JSON"),
            422: Reply("an invalid plannedDate (with ?atomic=false: every item refused for one)",
                       rs.WebhookUnprocessable),
            429: Reply("too many requests for this tenant", rs.TooManyRequests, headers=("Retry-After",)),
            503: UNAVAILABLE,
        },
    ),
    ("GET", f"{TENANT}/integrations"): Operation(
        summary="Integration status (Settings -> Integrations)",
        tag="integrations",
        roles=("admin",),
        # 400: a Host that is not a host, when WMS_INTAKE_PUBLIC_URL is unset (the webhook URL).
        replies=tenant_api({200: Reply("the webhook and pull endpoints", rs.IntegrationStatus)}, bad_request=True),
    ),
    ("POST", f"{TENANT}/integrations/wms/webhook"): Operation(
        summary="Connect WMS: create the webhook (its secret is shown once)",
        tag="integrations",
        roles=("admin",),
        replies=tenant_api(
            {201: Reply("connected", rs.WebhookConnected),
             409: Reply("the WMS webhook is already connected")},
            bad_request=True,
        ),
    ),
    ("PATCH", f"{TENANT}/integrations/wms/webhook"): Operation(
        summary="Deactivate or reactivate the webhook",
        tag="integrations",
        roles=("admin",),
        request=SetWebhookActive,
        replies=tenant_api({200: Reply("the webhook's state", rs.WebhookActiveState)}, bad_request=True),
    ),
    ("POST", f"{TENANT}/integrations/wms/webhook/secret"): Operation(
        summary="Regenerate the webhook secret (the old one stops working at once)",
        tag="integrations",
        roles=("admin",),
        description=(
            "Without a body (or with previousValidForSeconds 0) the old secret stops working at once. "
            "With previousValidForSeconds N (at most 604800, seven days) the old secret keeps working "
            "for N seconds beside the new one (a rotation without downtime); the delivery log says which "
            "secret each delivery used. Deactivating the webhook or DELETE …/webhook/previous-secret ends "
            "the window early."
        ),
        request=RotateWebhookSecret,
        request_required=False,
        replies=tenant_api({200: Reply("the new secret, shown once", rs.NewSecret)}, bad_request=True),
    ),
    ("DELETE", f"{TENANT}/integrations/wms/webhook/previous-secret"): Operation(
        summary="End a secret rotation's window early: the previous secret stops working now",
        tag="integrations",
        roles=("admin",),
        replies=tenant_api({204: Reply("only the current secret works (also when there was no window)", None)}),
    ),
    ("GET", f"{TENANT}/integrations/wms/deliveries"): Operation(
        summary="The delivery log: accepted and rejected batches, newest first",
        tag="integrations",
        roles=("admin",),
        query=_page_query(50),
        replies=tenant_api({200: Reply("a page of deliveries", rs.DeliveryLogPage)}, bad_request=True),
    ),
    ("POST", PULL): Operation(
        summary="Pull from WMS: add a pull endpoint (its secret is shown once)",
        tag="pull from WMS",
        roles=("admin",),
        description=(
            "The service will call the URL with Authorization: Bearer <secret> and the given method; "
            "the WMS answers with the webhook's payload. With intervalMinutes it is also pulled on a "
            "schedule, first one interval after it is added."
        ),
        request=AddPullEndpoint,
        replies=tenant_api({201: Reply("added", rs.PullEndpointAdded)}, bad_request=True),
    ),
    ("GET", PULL): Operation(
        summary="List pull endpoints with their sync status (no secrets)",
        tag="pull from WMS",
        roles=("admin",),
        replies=tenant_api({200: Reply("every pull endpoint", rs.PullEndpointList)}),
    ),
    ("PATCH", f"{PULL}/{{endpointId}}"): Operation(
        summary="Change a pull endpoint's URL, method or schedule",
        tag="pull from WMS",
        roles=("admin",),
        description="Only the fields given change; intervalMinutes: null stops the schedule.",
        request=ChangePullEndpoint,
        replies=tenant_api({200: Reply("the endpoint as changed", rs.PullEndpointChanged)}, bad_request=True),
    ),
    ("DELETE", f"{PULL}/{{endpointId}}"): Operation(
        summary="Remove a pull endpoint (it is never pulled again)",
        tag="pull from WMS",
        roles=("admin",),
        replies=tenant_api({204: Reply("removed", None)}),
    ),
    ("POST", f"{PULL}/{{endpointId}}/secret"): Operation(
        summary="Regenerate a pull endpoint's secret (the WMS must be given the new one)",
        tag="pull from WMS",
        roles=("admin",),
        replies=tenant_api({200: Reply("the new secret, shown once", rs.NewSecret)}),
    ),
    ("POST", f"{PULL}/{{endpointId}}/sync"): Operation(
        summary="Sync now: pull the WMS once and ingest what it returns",
        tag="pull from WMS",
        roles=("admin",),
        description=(
            "The pulled data goes through the webhook's checks and batch: 200 is the webhook's success "
            "body. 502 when the WMS could not be reached, timed out, answered non-2xx, sent too much, "
            "redirected to another origin or in a loop, sent data the webhook would refuse (a "
            "Content-Type it would answer 415 to included), echoed the pull secret, or when a later "
            "sync already stored newer data; details then hold exactly the webhook's error body "
            "(otherwise {reason, message, status?, retryAfter?}). A failed sync stores no order; every "
            "attempt shows in the integration status. One sync per endpoint at a time, across "
            "processes: 409 names the running one."
        ),
        replies=tenant_api(
            {200: Reply("every pulled order created or updated", rs.WebhookAccepted),
             409: Reply("a sync of this endpoint is running; syncId names it"),
             429: Reply("this process runs as many syncs as it may", headers=("Retry-After",)),
             502: Reply("the pull failed; details say why")},
        ),
    ),
    ("POST", f"{TENANT}/api-keys"): Operation(
        summary="Issue an API key (shown once)",
        tag="api keys",
        roles=("admin",),
        request=IssueApiKey,
        replies=tenant_api({201: Reply("the new key", rs.ApiKeyIssued)}, bad_request=True),
    ),
    ("GET", f"{TENANT}/api-keys"): Operation(
        summary="List API keys (no secrets)",
        tag="api keys",
        roles=("admin",),
        replies=tenant_api({200: Reply("every key issued", rs.ApiKeyList)}),
    ),
    ("DELETE", f"{TENANT}/api-keys/{{keyId}}"): Operation(
        summary="Revoke an API key (it stops working at once)",
        tag="api keys",
        roles=("admin",),
        replies=tenant_api({204: Reply("revoked", None)}),
    ),
    ("POST", f"{TENANT}/customers"): Operation(
        summary="Create a customer",
        tag="customers",
        roles=("admin", "planner"),
        request=CreateCustomer,
        replies=tenant_api(
            {201: Reply("created", rs.CustomerCreated),
             409: Reply("a customer with this address exists (its customerId is in the body)")},
            bad_request=True,
        ),
    ),
    ("GET", f"{TENANT}/customers"): Operation(
        summary="Customers, by name (find a customerId for the webhook's payload)",
        tag="customers",
        roles=("admin", "planner"),
        query=(
            Query("q", {"type": "string"}, "only customers whose name or address contains this (any case)"),
            *_page_query(100),
        ),
        replies=tenant_api({200: Reply("a page of customers, by name", rs.CustomersPage)}, bad_request=True),
    ),
    ("GET", f"{TENANT}/customers/{{customerId}}"): Operation(
        summary="One customer",
        tag="customers",
        roles=("admin", "planner"),
        replies=tenant_api({200: Reply("the customer", rs.CustomerBody)}),
    ),
    ("GET", f"{TENANT}/orders"): Operation(
        summary="Orders for planning (all, or those of one plannedDate)",
        tag="orders",
        roles=ALL_ROLES,
        query=(
            Query("plannedDate", {"anyOf": [{"type": "string", "format": "date"}, {"const": "none"}]},
                  'only orders planned for this date; "none": only orders without a planned date'),
            Query("search", {"type": "string", "maxLength": 255},
                  "only orders whose externalOrderId contains this text (any case)"),
            *_page_query(100),
        ),
        replies=tenant_api({200: Reply("a page of orders, by externalOrderId", rs.OrdersPage)},
                           bad_request=True),
    ),
    ("GET", f"{TENANT}/orders/changes"): Operation(
        summary="The change feed: the tenant's order changes in commit order, with long polling",
        tag="orders",
        roles=ALL_ROLES,
        description=(
            "Every change of every order of the tenant exactly once, oldest first, read from the event "
            "store (not from a read model): each with its position, the order's id, external id and new "
            "version, the fields it changed and the order's whole state after it. Start with after=0 (or "
            "no after), then pass each answer's nextCursor; it is the event store's position, so a consumer "
            "resumes exactly where it stopped. With wait=N (at most 30) an empty answer is held up to N "
            "seconds until a change arrives."
        ),
        query=(
            Query("after", {"type": "string", "pattern": "^[0-9]{1,19}$", "default": "0"},
                  "the nextCursor of the previous answer (0: from the beginning)"),
            Query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
                  "most changes in one answer"),
            Query("wait", {"type": "integer", "minimum": 0, "maximum": 30, "default": 0},
                  "seconds to wait for a change when there is none yet (long polling)"),
        ),
        replies=tenant_api({200: Reply("changes after the cursor (maybe none)", rs.OrderChangesPage)},
                           bad_request=True),
    ),
    ("GET", f"{TENANT}/orders/by-external-id/{{externalOrderId}}"): Operation(
        summary="One order, by the WMS's order reference",
        tag="orders",
        roles=ALL_ROLES,
        replies=tenant_api({200: Reply("the order", rs.OrderBody)}),
    ),
    ("GET", f"{TENANT}/orders/{{orderId}}"): Operation(
        summary="One order, now or as it was at a version or a moment",
        tag="orders",
        roles=ALL_ROLES,
        query=(
            Query("asOfVersion", {"type": "integer", "minimum": 1},
                  "the order as it was at this version (from its history)"),
            Query("asOf", {"type": "string", "format": "date-time"},
                  "the order as it was at this moment (ISO 8601)"),
        ),
        replies=tenant_api({200: Reply("the order", rs.OrderBody)}, bad_request=True),
    ),
    ("GET", f"{TENANT}/orders/{{orderId}}/history"): Operation(
        summary="An order's audit trail: every event, oldest first, with its source",
        tag="orders",
        roles=("admin", "auditor"),
        replies=tenant_api({200: Reply("the history", rs.OrderHistory)}),
    ),
    ("GET", TENANT): Operation(
        summary="The caller's tenant: its id and name",
        tag="tenants",
        roles=ALL_ROLES,
        replies=tenant_api({200: Reply("the tenant", rs.TenantSummary)}),
    ),
    ("GET", f"{TENANT}/planned-dates"): Operation(
        summary="The dates that have orders, earliest first, with how many each (and how many have none)",
        tag="orders",
        roles=ALL_ROLES,
        query=(
            Query("since", {"type": "string", "format": "date"}, "only dates from this one on"),
            Query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                  "dates listed at most (default 100)"),
        ),
        replies=tenant_api({200: Reply("the dates", rs.PlannedDates)}, bad_request=True),
    ),
    ("GET", "/healthz"): Operation(
        summary="The process is alive",
        tag="operations",
        security=None,
        replies={200: Reply("alive", rs.Health)},
    ),
    ("GET", "/readyz"): Operation(
        summary="The database can be reached",
        tag="operations",
        security=None,
        replies={200: Reply("ready", rs.Readiness),
                 503: Reply("not ready", rs.Readiness, headers=("Retry-After",))},
    ),
    ("GET", "/metrics"): Operation(
        summary="Prometheus metrics (text format)",
        tag="operations",
        security=None,
        replies={200: Reply("the metrics", {"type": "string"}, media_type="text/plain")},
    ),
    ("GET", "/api/openapi.json"): Operation(
        summary="This document",
        tag="operations",
        security=None,
        replies={200: Reply("the OpenAPI 3.1 document", {"type": "object"})},
    ),
}

PATH_PARAMETERS = {
    "tenantId": "the tenant's id (UUID)",
    "orderId": "the order's id (UUID)",
    "customerId": "the customer's id (UUID)",
    "keyId": "the API key's id",
    "endpointId": "the pull endpoint's id (UUID)",
    "externalOrderId": "the WMS's order reference",
}

RESPONSE_HEADERS = {
    "X-Request-Id": "identifies this request; the delivery log and order history name it",
    "WWW-Authenticate": "Bearer",
    "Retry-After": "seconds to wait before retrying",
    "Idempotent-Replayed": "true when this is the kept answer to an earlier request with the same Idempotency-Key",
}

# ---------------------------------------------------------------- Idempotency-Key (every POST of the webhook and tenant API)

IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": (
        "Optional. The same key with the same request (method, path, query, body) within 24 hours "
        "gets the first answer again (status and body, with Idempotent-Replayed: true) and the work "
        "is done once; keys are per tenant. Answers 401, 403, 408, 429 and 5xx are not kept."
    ),
}
IDEMPOTENCY_REPLIES = {
    400: Reply("a malformed Idempotency-Key (or another malformed request)"),
    409: Reply("another request with this Idempotency-Key is still in progress", headers=("Retry-After",)),
    422: Reply("this Idempotency-Key was first used for a different request"),
}


def _idempotency(method: str, path: str, described: dict[str, Any], refs: dict[Any, dict[str, Any]]) -> None:
    if method != "POST" or not (path.startswith(f"{TENANT}/") or path == "/api/integrations/wms/{tenantId}"):
        return
    described["parameters"].append(IDEMPOTENCY_PARAMETER)
    for status, reply in IDEMPOTENCY_REPLIES.items():
        described["responses"].setdefault(str(status), _response(reply, refs))
    for response in described["responses"].values():
        if not response["description"].startswith(("the database", "missing, unknown")):
            response["headers"].setdefault("Idempotent-Replayed", {"$ref": "#/components/headers/Idempotent-Replayed"})


# ---------------------------------------------------------------- the document


def is_api_route(method: str, path: str) -> bool:
    """Routes the document must describe: the JSON API and the operations routes."""
    return method != "HEAD" and (path.startswith("/api/") or path in OPERATIONS_PATHS)


def registered_routes(app: web.Application) -> list[tuple[str, str]]:
    """(METHOD, path template) of every route of ``app`` that the document must describe."""
    found = []
    for route in app.router.routes():
        resource = route.resource
        if resource is None:
            continue
        key = (route.method, resource.canonical)
        if is_api_route(*key) and key not in found:
            found.append(key)
    return found


def undescribed_routes(app: web.Application) -> list[tuple[str, str]]:
    return [key for key in registered_routes(app) if key not in OPERATIONS]


def openapi_document(app: web.Application) -> dict[str, Any]:
    """The document for the routes ``app`` really has."""
    described = [(key, OPERATIONS[key]) for key in registered_routes(app) if key in OPERATIONS]
    models = _models_of(op for _, op in described)
    refs, schemas = _schemas(models)
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), operation in described:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, operation, refs)
    return describe_event_positions({
        "openapi": "3.1.0",
        "info": {
            "title": "wms-intake",
            "version": _version(),
            "description": "Delivery orders from a customer's WMS (webhook or pull), for delivery planning.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a tenant API key; its role (admin, planner, auditor) decides the routes",
                },
                "webhookSecret": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the webhook secret shown once by Connect WMS",
                },
            },
            "headers": {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in RESPONSE_HEADERS.items()
            },
        },
    })


#: Holds the serialised document once built (set up before the app starts).
SERVED = web.AppKey("openapi_served", dict)


async def openapi_json(request: web.Request) -> web.Response:
    # Routes are fixed once the app runs: build the document (about 9 ms of
    # pydantic schema work) once, not on every request.
    served = request.app[SERVED]
    if "body" not in served:
        served["body"] = orjson.dumps(openapi_document(request.app))
    return web.Response(body=served["body"], content_type="application/json")


def _operation(method: str, path: str, operation: Operation, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": _operation_id(method, path),
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1},
             "description": PATH_PARAMETERS.get(name, name)}
            for name in _path_names(path)
        ]
        + [
            {"name": q.name, "in": "query", "required": q.required, "schema": q.schema,
             "description": q.description}
            for q in operation.query
        ],
        "responses": {
            str(status): _response(reply, refs) for status, reply in sorted(operation.replies.items())
        },
    }
    _idempotency(method, path, described, refs)
    if operation.description or operation.roles:
        roles = f"Roles: {', '.join(operation.roles)}." if operation.roles else ""
        described["description"] = " ".join(p for p in (operation.description, roles) if p)
    if operation.roles:
        described["x-roles"] = list(operation.roles)
    described["security"] = [{operation.security: []}] if operation.security else []
    if operation.request is not None:
        described["requestBody"] = {
            "required": operation.request_required,
            "content": {"application/json": {"schema": _schema_of(operation.request, refs)}},
        }
    return described


def _response(reply: Reply, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    headers = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    headers.update({name: {"$ref": f"#/components/headers/{name}"} for name in reply.headers})
    response: dict[str, Any] = {"description": reply.description, "headers": headers}
    if reply.body is not None:
        response["content"] = {reply.media_type: {"schema": _schema_of(reply.body, refs)}}
    return response


def _schema_of(schema: Schema, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    if isinstance(schema, dict):
        return schema
    return refs[schema]


def _models_of(operations: Iterable[Operation]) -> list[type[BaseModel]]:
    models: list[type[BaseModel]] = [rs.ErrorBody]
    for operation in operations:
        bodies = [operation.request, *(reply.body for reply in operation.replies.values())]
        for body in bodies:
            if isinstance(body, type) and body not in models:
                models.append(body)
    return models


class _UntitledFields(GenerateJsonSchema):
    """Field titles would only repeat the field names (as "Externalorderid")."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _schemas(models: list[type[BaseModel]]) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """Component schemas of ``models`` (and everything they use), and a $ref for each."""
    keyed, top = models_json_schema(
        [(model, "validation") for model in models],
        ref_template="#/components/schemas/{model}",
        schema_generator=_UntitledFields,
    )
    refs = {model: keyed[(model, "validation")] for model in models}
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemas["WebhookOrder"] = webhook_order_schema()
    schemas["WebhookPayload"] = {
        "description": "a single order object or an array of order objects",
        "oneOf": [
            {"$ref": "#/components/schemas/WebhookOrder"},
            {"type": "array", "items": {"$ref": "#/components/schemas/WebhookOrder"}},
        ],
    }
    return refs, schemas


#: The documentation's table, field by field.
WEBHOOK_FIELDS = {
    "externalOrderId": "Your order reference. Same ID = update existing order. A number is taken as its string.",
    "deliveryAddress": "Full delivery address (required if no customerId). Used to create or find a customer "
    "and to geocode.",
    "customerId": "Existing customer ID (required if no deliveryAddress).",
    "customerName": 'Used when creating a customer from deliveryAddress (default "WMS Customer").',
    "customerContact": 'Contact when creating customer (default "N/A").',
    "totalWeight": "Order weight in kg.",
    "volume": "Volume in m³.",
    "palletCount": "Number of pallets.",
    "specialHandling": 'Array of strings (e.g. ["fragile", "timed_slot"]).',
    "plannedDate": "Delivery date in ISO format (YYYY-MM-DD). Orders appear in Planning for this date.",
    "latitude": "WGS84 latitude of the delivery, -90..90; with longitude (both or neither, else 400). The "
    "order's location is then these coordinates (status provided) and its address is not geocoded; a later "
    "new deliveryAddress without coordinates drops them and is geocoded.",
    "longitude": "WGS84 longitude of the delivery, -180..180; with latitude (both or neither, else 400).",
}


def webhook_order_schema() -> dict[str, Any]:
    """One order of the webhook, from the model that validates it, with the
    documentation's words and the few shapes a JSON Schema of the model can't say."""
    schema = OrderItem.model_json_schema(schema_generator=_UntitledFields)
    schema.pop("title", None)
    properties: dict[str, Any] = schema["properties"]
    properties["externalOrderId"] = {
        "anyOf": [
            {"type": "string", "minLength": 1, "maxLength": MAX_ID, "pattern": r"\S"},
            {"type": "number"},
        ]
    }
    properties["palletCount"] = {
        "anyOf": [{"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, {"type": "null"}]
    }
    properties["plannedDate"] = {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]}
    for name, text in WEBHOOK_FIELDS.items():
        properties[name]["description"] = text
    schema["additionalProperties"] = True
    schema["description"] = "One order. Unknown fields are ignored; null clears an optional field."
    return schema


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _operation_id(method: str, path: str) -> str:
    words = [p.strip("{}") for p in path.split("/") if p and p not in ("api", "tenants", "{tenantId}")]
    return method.lower() + "".join(w[:1].upper() + w[1:].replace("-", "").replace(".", "") for w in words)


def _version() -> str:
    try:
        return metadata.version("wms-intake")
    except metadata.PackageNotFoundError:
        return "0"
