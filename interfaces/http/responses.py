"""JSON responses serialised with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json_bytes(body), status=status, content_type="application/json", headers=headers)


def json_bytes(body: Any) -> bytes:
    """``body`` as JSON; text that can't be UTF-8 never makes this fail.

    A request's bytes that were not UTF-8 reach handlers as lone surrogates;
    should any such text end up in an answer, it is sent as U+FFFD rather
    than turning an answer (perhaps to a change already committed) into a 500.
    """
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return orjson.dumps(_scrubbed(body))


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_scrubbed(k): _scrubbed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v) for v in value]
    return value
