"""One table from error type to HTTP status; one middleware applies it."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError

from application.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PayloadRejectedError,
    ServiceUnavailableError,
    UnauthorizedError,
    UpstreamError,
)
from application.pull.concurrency import TooManySyncsError
from interfaces.http.responses import json_response

log = logging.getLogger("wms_intake.http")


class TooManyRequestsError(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


def error_response(error: BaseException) -> web.Response:
    """The response for an exception raised by a handler (or None: re-raise)."""
    if isinstance(error, UnauthorizedError):
        return json_response({"error": "Unauthorized"}, 401, {"WWW-Authenticate": "Bearer"})
    if isinstance(error, ForbiddenError):
        return json_response({"error": "Forbidden"}, 403)
    if isinstance(error, NotFoundError):
        return json_response({"error": str(error) or "Not found"}, 404)
    if isinstance(error, ConflictError):
        return json_response({"error": str(error), **error.fields}, 409)
    if isinstance(error, InvalidRequestError):
        body: dict[str, Any] = {"error": str(error)}
        if error.details is not None:
            body["details"] = error.details
        return json_response(body, 400)
    if isinstance(error, PayloadRejectedError):
        return json_response(error.body, error.status)
    if isinstance(error, TooManyRequestsError):
        return json_response(
            {"error": "Too many requests", "retryAfter": error.retry_after},
            429,
            {"Retry-After": str(error.retry_after)},
        )
    if isinstance(error, TooManySyncsError):
        return json_response(
            {"error": str(error), "retryAfter": error.retry_after}, 429, {"Retry-After": str(error.retry_after)}
        )
    if isinstance(error, UpstreamError):
        return json_response({"error": str(error), "details": error.details}, 502)
    if isinstance(error, ServiceUnavailableError):
        return json_response(
            {"error": str(error)}, 503, {"Retry-After": str(error.retry_after)}
        )
    if isinstance(error, IntegrityError):
        # Two admin changes to one aggregate at once (a double-clicked "Connect
        # WMS", a key revoked while another is issued): the later one lost.
        return json_response(
            {"error": "Changed concurrently by another request; retry"}, 409, {"Retry-After": "1"}
        )
    if isinstance(error, (OperationalError, InterfaceError)):
        return json_response(
            {"error": "the database is unavailable; retry shortly"}, 503, {"Retry-After": "1"}
        )
    if isinstance(error, web.HTTPException):
        return json_response(
            {"error": error.reason}, error.status, {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        )
    log.exception("unhandled error", exc_info=error)
    return json_response({"error": "Internal server error"}, 500)
