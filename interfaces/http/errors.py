"""One table from error type to HTTP status; one middleware applies it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError

from application.errors import (
    ConflictError,
    EveryItemRejectedError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PayloadRejectedError,
    ServiceUnavailableError,
    UnauthorizedError,
    UpstreamError,
)
from application.pull.concurrency import TooManySyncsError
from interfaces.http.presenters.batch_results import present_every_item_rejected
from interfaces.http.responses import json_response

log = logging.getLogger("wms_intake.http")


class TooManyRequestsError(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ErrorReply:
    """How one type of error is answered: its status and title (either may be
    read from the error), and what the error adds to the body and the headers."""

    status: int | Callable[[Any], int]
    title: str | Callable[[Any], str] = str
    extra: Callable[[Any], dict[str, Any]] | None = None
    headers: Callable[[Any], dict[str, str]] | None = None
    #: The whole body, when the error carries it (nothing else is added).
    body: Callable[[Any], dict[str, Any]] | None = None


def _retry_after(error: Any) -> dict[str, str]:
    return {"Retry-After": str(error.retry_after)}


def _retry_after_in_body(error: Any) -> dict[str, Any]:
    return {"retryAfter": error.retry_after}


def _retry_soon(_: BaseException) -> dict[str, str]:
    return {"Retry-After": "1"}


def _details_if_any(error: InvalidRequestError) -> dict[str, Any]:
    return {"details": error.details} if error.details is not None else {}


def _allow(error: web.HTTPException) -> dict[str, str]:
    return {"Allow": error.headers["Allow"]} if "Allow" in error.headers else {}


DATABASE_DOWN = ErrorReply(503, "the database is unavailable; retry shortly", headers=_retry_soon)

#: Error type -> its answer. An error is answered by the entry of the first of
#: its classes (in method resolution order) found here; none found is a 500.
ERRORS: dict[type[BaseException], ErrorReply] = {
    UnauthorizedError: ErrorReply(401, "Unauthorized", headers=lambda _: {"WWW-Authenticate": "Bearer"}),
    ForbiddenError: ErrorReply(403, "Forbidden"),
    NotFoundError: ErrorReply(404, lambda error: str(error) or "Not found"),
    ConflictError: ErrorReply(409, extra=lambda error: error.fields),
    InvalidRequestError: ErrorReply(400, extra=_details_if_any),
    # A refused batch: the caller gets back exactly the refusal's body and status.
    PayloadRejectedError: ErrorReply(lambda error: error.status, body=lambda error: error.body),
    EveryItemRejectedError: ErrorReply(lambda error: error.status, body=present_every_item_rejected),
    TooManyRequestsError: ErrorReply(429, "Too many requests", extra=_retry_after_in_body, headers=_retry_after),
    TooManySyncsError: ErrorReply(429, extra=_retry_after_in_body, headers=_retry_after),
    UpstreamError: ErrorReply(502, extra=lambda error: {"details": error.details}),
    ServiceUnavailableError: ErrorReply(503, headers=_retry_after),
    # Two admin changes to one aggregate at once (a double-clicked "Connect
    # WMS", a key revoked while another is issued): the later one lost.
    IntegrityError: ErrorReply(409, "Changed concurrently by another request; retry", headers=_retry_soon),
    OperationalError: DATABASE_DOWN,
    InterfaceError: DATABASE_DOWN,
    web.HTTPException: ErrorReply(lambda error: error.status, lambda error: error.reason, headers=_allow),
}


def reply_for(error: BaseException) -> ErrorReply | None:
    """The table's entry for ``error``: the one of its most specific class listed."""
    for cls in type(error).__mro__:
        reply = ERRORS.get(cls)
        if reply is not None:
            return reply
    return None


def error_response(error: BaseException) -> web.Response:
    """The response for an exception raised by a handler."""
    reply = reply_for(error)
    if reply is None:
        log.exception("unhandled error", exc_info=error)
        return json_response({"error": "Internal server error"}, 500)
    status = reply.status if isinstance(reply.status, int) else reply.status(error)
    if reply.body is not None:
        return json_response(reply.body(error), status)
    body: dict[str, Any] = {"error": reply.title if isinstance(reply.title, str) else reply.title(error)}
    if reply.extra is not None:
        body.update(reply.extra(error))
    headers = reply.headers(error) if reply.headers is not None else None
    return json_response(body, status, headers or None)
