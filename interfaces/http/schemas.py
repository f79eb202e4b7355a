"""Request bodies of the tenant API, validated with pydantic at the edge."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from application.errors import InvalidRequestError
from application.order_payload import NoNul
from interfaces.http.body import read_capped
from interfaces.http.keys import CONTAINER
from interfaces.http.schema_rules import ADDRESS, NO_NUL, TEXT_WITH_CONTENT, SchemaPattern

MAX_REQUEST_BYTES = 64 * 1024

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NoNul, SchemaPattern(TEXT_WITH_CONTENT)
]


class StrictBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class CreateCustomer(StrictBody):
    name: Name
    address: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
        NoNul,
        SchemaPattern(ADDRESS),
        Field(description="the delivery address: more than punctuation and spaces"),
    ]
    contact: Annotated[str, StringConstraints(max_length=500), NoNul, SchemaPattern(NO_NUL)] | None = None


class SetWebhookActive(StrictBody):
    active: bool


def integral_float_as_int(value: Any) -> Any:
    # JSON Schema's integer includes 5.0: where the schema says integer, 5.0 is 5.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class RotateWebhookSecret(StrictBody):
    """Optional body of "regenerate": how long the replaced secret keeps working."""

    previousValidForSeconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600), BeforeValidator(integral_float_as_int)] = 0


class IssueApiKey(StrictBody):
    role: Literal["admin", "planner", "auditor"]
    #: What the key is for, e.g. "Planner tablet" (shown on the API-keys page).
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul] | None = None


M = TypeVar("M", bound=BaseModel)


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The request's JSON body as ``model``, or a 400 that says what is wrong."""
    # read_capped reads to the end: one read() returns only what has arrived.
    raw, _ = await read_capped(request, MAX_REQUEST_BYTES, request.app[CONTAINER].settings.client_timeout_seconds)
    if raw is None:
        raise InvalidRequestError("Request body too large")
    try:
        document = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise InvalidRequestError("Invalid JSON") from None
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise InvalidRequestError(
            "Validation failed",
            [
                {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                for e in error.errors(include_url=False, include_input=False)
            ],
        ) from None
