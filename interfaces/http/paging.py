"""Query parameters of paged lists."""

from __future__ import annotations

from aiohttp import web

from application.errors import InvalidRequestError

MAX_LIMIT = 1000


def page_params(request: web.Request, default_limit: int = 100) -> tuple[int, str | None]:
    raw = request.query.get("limit")
    if raw is None:
        limit = default_limit
    elif raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT:
        limit = int(raw)
    else:
        raise InvalidRequestError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    # An empty cursor is the first page (as no cursor); any other is checked by the list.
    cursor = request.query.get("cursor") or None
    return limit, cursor
