"""The error table: an error is answered by its most specific class listed."""

from __future__ import annotations

import orjson
from aiohttp import web

from application.errors import ApplicationError, NotFoundError, PayloadRejectedError, ServiceUnavailableError
from interfaces.http.errors import error_response


class MissingOrder(NotFoundError):
    pass


def body_of(response: web.Response) -> object:
    assert isinstance(response.body, bytes)
    return orjson.loads(response.body)


def test_a_subclass_is_answered_as_its_listed_base() -> None:
    response = error_response(MissingOrder())
    assert response.status == 404 and body_of(response) == {"error": "Not found"}


def test_an_error_carrying_its_answer_is_answered_with_it() -> None:
    response = error_response(PayloadRejectedError(422, {"error": "Invalid", "details": []}))
    assert response.status == 422 and body_of(response) == {"error": "Invalid", "details": []}
    unavailable = error_response(ServiceUnavailableError("down", retry_after=7))
    assert unavailable.status == 503 and unavailable.headers["Retry-After"] == "7"


def test_an_error_no_class_of_which_is_listed_is_a_500() -> None:
    assert error_response(ApplicationError("?")).status == 500
    assert error_response(KeyError("x")).status == 500
    assert body_of(error_response(KeyError("x"))) == {"error": "Internal server error"}
