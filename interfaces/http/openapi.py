"""The OpenAPI 3.1 document of the service, served at ``GET /api/openapi.json``.

The document is built from the one route table, ``ROUTES`` in ``routes.py``:
each ``Route`` there is both what the aiohttp router serves and what this
module describes (summary, roles, parameters, request body, every response,
links, operationId). There is no second list to keep in step; a test still
fails when an ``/api/`` or operations route is registered some other way.

Policy: errors share one shape (``ErrorBody``); a route lists every status it
can answer (the authentication and role statuses come from ``tenant_api``);
every response carries ``X-Request-Id``; every request and response body has
an example (``examples.py``). Every rule the server enforces on a request is
in the schema where JSON Schema can say it; a rule across fields or about
stored data (an existing customer, a cursor the server made) is said in the
description, and its 400 names it. HTML pages (anything outside ``/api/``
other than the operations routes) are not described here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from application.errors import InvalidRequestError
from application.order_payload import MAX_ID, MAX_TAG, MAX_TAGS, MAX_TEXT, OrderItem
from domain.order import FIELDS
from interfaces.http import response_schemas as rs
from interfaces.http.examples import example_of
from interfaces.http.openapi_positions import describe_event_positions
from interfaces.http.paging import MAX_LIMIT
from interfaces.http.public_url import public_origin
from interfaces.http.schema_rules import ADDRESS, CALENDAR_DATE, NO_NUL, TEXT_WITH_CONTENT

#: Routes outside /api/ that are part of the API (and so must be described).
OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

Security = Literal["apiKey", "webhookSecret"]
Schema = type[BaseModel] | dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Reply:
    """One documented response: a description, a body shape and its headers.
    The body's example comes from ``examples.py`` unless given here."""

    description: str
    body: Schema | None = rs.ErrorBody
    media_type: str = "application/json"
    headers: tuple[str, ...] = ()
    example: Any = None


@dataclass(frozen=True)
class Query:
    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: values of a success response (runtime expressions such
    as ``$response.body#/id``) fill parameters of another operation."""

    operation_id: str
    parameters: Mapping[str, str]
    description: str = ""


@dataclass(frozen=True)
class Route:
    """One row of the route table: what the router serves and what the document says.

    ``method``, ``path`` (an aiohttp path template, ``{name}`` for a path
    parameter) and ``handler`` go to the router; the rest to the document:
    ``operation_id`` (a name, camelCase, unique: generated clients name their
    methods after it), ``summary``, ``tag``, who may call it (``security``:
    ``apiKey``, ``webhookSecret`` or ``None``; ``roles``), query parameters,
    the request body (a pydantic model or a schema dict), every response by
    status, and ``links`` from the success response to the operations that
    use its ids.
    """

    method: str
    path: str
    handler: Handler
    operation_id: str
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
    links: Mapping[str, Link] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


#: The route table the app was built with (set by ``routes.add_routes``).
ROUTE_TABLE: web.AppKey[Sequence[Route]] = web.AppKey("route_table")

# ---------------------------------------------------------------- common replies

UNAUTHORIZED = Reply(
    "missing, unknown, wrong or revoked credentials (same body for every cause)",
    headers=("WWW-Authenticate",),
    example={"error": "Unauthorized"},
)
FORBIDDEN = Reply("the API key's role does not allow this route", example={"error": "Forbidden"})
NOT_FOUND = Reply(
    "no such thing in this tenant (a key of another tenant gets 404 for every route)", example={"error": "Not found"}
)
BAD_REQUEST = Reply(
    "the request is malformed; the error says how",
    example={
        "error": "Validation failed",
        "details": [{"field": "role", "message": "Input should be 'admin', 'planner' or 'auditor'"}],
    },
)
UNAVAILABLE = Reply(
    "the database is unavailable; retry shortly",
    headers=("Retry-After",),
    example={"error": "the database is unavailable; retry shortly"},
)


def tenant_api(own: Mapping[int, Reply], *, bad_request: bool = False) -> dict[int, Reply]:
    """The replies of a tenant-API route: its own plus 401/403/404/503 (and 400)."""
    replies: dict[int, Reply] = dict(own)
    if bad_request:
        replies[400] = BAD_REQUEST
    replies.update({401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 503: UNAVAILABLE})
    return replies


def page_query(default: int) -> tuple[Query, ...]:
    return (
        Query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": default}, "page size"),
        Query(
            "cursor",
            {"type": "string", "pattern": "^[A-Za-z0-9_=-]*$", "maxLength": 4096},
            "Opaque: the nextCursor of the previous page, passed back unchanged (URL-safe base64); "
            "absent or empty: the first page. "
            "Only a cursor this list made is accepted, which a schema can't state: any other "
            "value gets 400 Invalid cursor.",
        ),
    )


ALL_ROLES = ("admin", "planner", "auditor")

PATH_PARAMETERS = {
    "tenantId": "the tenant's id (UUID)",
    "orderId": "the order's id (UUID)",
    "customerId": "the customer's id (UUID)",
    "keyId": "the API key's id",
    "endpointId": "the pull endpoint's id (UUID)",
    "externalOrderId": "the WMS's order reference",
}

#: A path parameter is one segment: never empty, no "/" (the router matches one segment).
PATH_SCHEMA = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}

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
    400: Reply(
        "a malformed Idempotency-Key (or another malformed request)", example={"error": "Invalid Idempotency-Key"}
    ),
    409: Reply(
        "another request with this Idempotency-Key is still in progress",
        headers=("Retry-After",),
        example={"error": "A request with this Idempotency-Key is still in progress; retry"},
    ),
    422: Reply(
        "this Idempotency-Key was first used for a different request",
        example={"error": "Idempotency-Key reused with a different request"},
    ),
}


def _idempotency(route: Route, described: dict[str, Any], refs: dict[Any, dict[str, Any]]) -> None:
    path = route.path
    if route.method != "POST" or not (path.startswith(f"{TENANT}/") or path == "/api/integrations/wms/{tenantId}"):
        return
    described["parameters"].append(IDEMPOTENCY_PARAMETER)
    for status, reply in IDEMPOTENCY_REPLIES.items():
        described["responses"].setdefault(str(status), _response(reply, refs))
    for response in described["responses"].values():
        if not response["description"].startswith(("the database", "missing, unknown")):
            response["headers"].setdefault("Idempotent-Replayed", {"$ref": "#/components/headers/Idempotent-Replayed"})


TENANT = "/api/tenants/{tenantId}"

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
    """API routes registered outside the route table (so described nowhere)."""
    described = {route.key for route in app[ROUTE_TABLE]}
    return [key for key in registered_routes(app) if key not in described]


def openapi_document(routes: Sequence[Route], server_url: str) -> dict[str, Any]:
    """The document of ``routes``, served from ``server_url``."""
    described = [route for route in routes if is_api_route(route.method, route.path)]
    models = _models_of(described)
    refs, schemas = _schemas(models)
    paths: dict[str, dict[str, Any]] = {}
    for route in described:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return describe_event_positions(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "wms-intake",
                "version": _version(),
                "description": "Delivery orders from a customer's WMS (webhook or pull), for delivery planning.",
            },
            "servers": [{"url": server_url, "description": "this service"}],
            "tags": [{"name": tag, "description": text} for tag, text in TAGS.items()],
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
                    name: {"description": text, "schema": {"type": "string"}} for name, text in RESPONSE_HEADERS.items()
                },
            },
        }
    )


TAGS = {
    "webhook": "the WMS pushes orders",
    "integrations": "Settings -> Integrations: the webhook and the delivery log",
    "pull from WMS": "the service pulls orders from the WMS",
    "api keys": "the tenant's API keys",
    "customers": "customers orders are delivered to",
    "orders": "orders for planning, and their audit trail",
    "tenants": "the caller's tenant",
    "operations": "health, readiness, metrics and this document",
}

#: Serialised documents, by server URL (routes are fixed once the app runs).
SERVED: web.AppKey[dict[str, bytes]] = web.AppKey("openapi_served")


async def openapi_json(request: web.Request) -> web.Response:
    try:
        server_url = public_origin(request)
    except InvalidRequestError:
        # A Host that is no host shapes no URL: the document names its server
        # relative to wherever it was fetched from.
        server_url = "/"
    served = request.app[SERVED]
    if server_url not in served:
        # Building it is pydantic schema work: once per origin, not per request.
        if len(served) > 16:
            served.clear()  # a bounded cache, whatever Host headers arrive
        served[server_url] = orjson.dumps(openapi_document(request.app[ROUTE_TABLE], server_url))
    return web.Response(body=served[server_url], content_type="application/json")


def _operation(route: Route, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": PATH_SCHEMA,
                "description": PATH_PARAMETERS.get(name, name),
            }
            for name in _path_names(route.path)
        ]
        + [
            {"name": q.name, "in": "query", "required": q.required, "schema": q.schema, "description": q.description}
            for q in route.query
        ],
        "responses": {str(status): _response(reply, refs) for status, reply in sorted(route.replies.items())},
    }
    _idempotency(route, described, refs)
    if route.links:
        success = min(status for status in route.replies if 200 <= status < 300)
        described["responses"][str(success)]["links"] = {name: _link(link) for name, link in route.links.items()}
    roles = f"Roles: {', '.join(route.roles)}." if route.roles else ""
    described["description"] = " ".join(p for p in (route.description, roles) if p) or route.summary
    if route.roles:
        described["x-roles"] = list(route.roles)
    described["security"] = [{route.security: []}] if route.security else []
    if route.request is not None:
        described["requestBody"] = {
            "required": route.request_required,
            "content": {"application/json": _media(route.request, None, refs)},
        }
    return described


def _link(link: Link) -> dict[str, Any]:
    described: dict[str, Any] = {"operationId": link.operation_id, "parameters": dict(link.parameters)}
    if link.description:
        described["description"] = link.description
    return described


def _response(reply: Reply, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    headers = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    headers.update({name: {"$ref": f"#/components/headers/{name}"} for name in reply.headers})
    response: dict[str, Any] = {"description": reply.description, "headers": headers}
    if reply.body is not None:
        response["content"] = {reply.media_type: _media(reply.body, reply.example, refs)}
    return response


def _media(body: Schema, example: Any, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": _schema_of(body, refs)}
    examples = {"example": {"value": example}} if example is not None else example_of(body)
    if examples:
        media["examples"] = examples
    return media


def _schema_of(schema: Schema, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    if isinstance(schema, dict):
        return schema
    return refs[schema]


def _models_of(routes: Iterable[Route]) -> list[type[BaseModel]]:
    models: list[type[BaseModel]] = [rs.ErrorBody]
    for route in routes:
        bodies = [route.request, *(reply.body for reply in route.replies.values())]
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
    schemas.update(webhook_order_schemas())
    schemas["WebhookPayload"] = {
        "description": "a single order object or an array of order objects",
        "oneOf": [
            {"$ref": "#/components/schemas/WebhookOrder"},
            {"type": "array", "items": {"$ref": "#/components/schemas/WebhookOrder"}},
        ],
    }
    return refs, schemas


#: The documentation's table, field by field: the order's own fields are
#: described where they are declared (``domain.order.FIELDS``).
WEBHOOK_FIELDS = {
    "externalOrderId": "Your order reference. Same ID = update existing order. A number is taken as its string.",
    "customerName": 'Used when creating a customer from deliveryAddress (default "WMS Customer").',
    "customerContact": 'Contact when creating customer (default "N/A").',
    **{f.wire: f.description for f in FIELDS},
}

#: A JSON number taken as an order reference must be exact: integers of up
#: to 64 bits, or other numbers of magnitude below 2**53.
_EXACT_NUMBER_ID = {
    "anyOf": [
        {"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1},
        {"type": "number", "exclusiveMinimum": -(2**53), "exclusiveMaximum": 2**53},
    ]
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def webhook_order_schema() -> dict[str, Any]:
    """One order of the webhook, from the model that validates it, with the
    documentation's words and the shapes a JSON Schema of the model can't say
    (text is trimmed before it is counted; NUL is refused; numbers as ids)."""
    schema = OrderItem.model_json_schema(schema_generator=_UntitledFields)
    schema.pop("title", None)
    properties: dict[str, Any] = schema["properties"]
    text = {"type": "string", "maxLength": MAX_TEXT, "pattern": NO_NUL}
    properties["externalOrderId"] = {
        "anyOf": [
            {"type": "string", "minLength": 1, "maxLength": MAX_ID, "pattern": TEXT_WITH_CONTENT},
            _EXACT_NUMBER_ID,
        ]
    }
    properties["deliveryAddress"] = _nullable(text)
    properties["customerId"] = _nullable({"type": "string", "maxLength": MAX_ID, "pattern": NO_NUL})
    properties["customerName"] = _nullable(text)
    properties["customerContact"] = _nullable(text)
    properties["palletCount"] = _nullable({"type": "integer", "minimum": 0, "maximum": 2**31 - 1})
    properties["specialHandling"] = _nullable(
        {
            "type": "array",
            "maxItems": MAX_TAGS,
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_TAG, "pattern": TEXT_WITH_CONTENT},
        }
    )
    properties["plannedDate"] = _nullable({"type": "string", "format": "date", "pattern": CALENDAR_DATE})
    for name, text_of_field in WEBHOOK_FIELDS.items():
        properties[name]["description"] = text_of_field
    schema["additionalProperties"] = True
    # latitude and longitude come together: both given or neither, and both
    # numbers or both null (a point needs both; one alone is a 400).
    together = {
        "anyOf": [
            {"properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}}},
            {"properties": {"latitude": {"type": "null"}, "longitude": {"type": "null"}}},
        ]
    }
    schema["dependentSchemas"] = {
        "latitude": {"required": ["longitude"], **together},
        "longitude": {"required": ["latitude"], **together},
    }
    return schema


def _webhook_order_by(field: str, max_length: int, pattern: str, description: str) -> dict[str, Any]:
    """The webhook's order with ``field`` required (non-blank text, as ``pattern`` says)."""
    schema = webhook_order_schema()
    schema["properties"][field] = {
        "type": "string",
        "maxLength": max_length,
        "pattern": pattern,
        "description": WEBHOOK_FIELDS[field],
    }
    schema["required"] = ["externalOrderId", field]
    schema["description"] = description
    return schema


def webhook_order_schemas() -> dict[str, Any]:
    """``WebhookOrder``: an order with a deliveryAddress (more than punctuation
    and spaces) or a customerId (not blank), or both. Each way is a whole
    schema of its own, so that generated clients get every field either way."""
    by_address = _webhook_order_by(
        "deliveryAddress",
        MAX_TEXT,
        ADDRESS,
        "An order delivered to its deliveryAddress (a customer at that address is found or created). "
        "Unknown fields are ignored; null clears an optional field.",
    )
    by_customer = _webhook_order_by(
        "customerId",
        MAX_ID,
        TEXT_WITH_CONTENT,
        "An order for an existing customer. Unknown fields are ignored; null clears an optional field.",
    )
    return {
        "WebhookOrderByAddress": by_address,
        "WebhookOrderByCustomer": by_customer,
        "WebhookOrder": {
            "description": (
                "One order: deliveryAddress or customerId is required (a rule across two fields, "
                'stated as two schemas; the 400 names it: "deliveryAddress or customerId is required").'
            ),
            "anyOf": [
                {"$ref": "#/components/schemas/WebhookOrderByAddress"},
                {"$ref": "#/components/schemas/WebhookOrderByCustomer"},
            ],
        },
    }


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _version() -> str:
    try:
        return metadata.version("wms-intake")
    except metadata.PackageNotFoundError:
        return "0"
