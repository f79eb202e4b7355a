"""Read your own writes over HTTP: positions out on writes, back in on reads.

Every response to a request that stored events carries ``X-Event-Position``:
the event store's notification id of the request's last event (bodies the
service owns also carry it as ``eventPosition``). A list read passes it back
as ``?after=`` or ``X-Min-Event-Position`` and waits until the read model has
reached it (see ``application.consistency``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from application.consistency import MAX_POSITION, ConsistentReads
from application.errors import InvalidRequestError
from application.write_positions import current_written_position, note_written, written_position
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload

POSITION_HEADER = "X-Event-Position"
MIN_POSITION_HEADER = "X-Min-Event-Position"
AFTER_PARAMETER = "after"
POSITION_FIELD = "eventPosition"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@web.middleware
async def event_position(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Collect the positions of the request's saves; name the last in the response.

    A successful API write that stored nothing (it changed nothing: a webhook
    set active again) names the event store's current position instead: the
    state it confirms is reflected there too.
    """
    with written_position() as written:
        response = await handler(request)
        position = written.position
        if (
            position is None
            and request.method in WRITE_METHODS
            and response.status < 300
            and request.path.startswith("/api/")
        ):
            position = await offload(request, consistent_reads(request).positions.latest)
            written.note(position)
    if position is not None:
        response.headers[POSITION_HEADER] = str(position)
    return response


async def with_position(request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` of a successful write plus its position (the same as the header's)."""
    position = current_written_position()
    if position is None:  # it changed nothing: the current position confirms its state
        position = await offload(request, consistent_reads(request).positions.latest)
        note_written([position])
    return {**body, POSITION_FIELD: position}


def min_position(request: web.Request) -> int | None:
    """The position a read must reflect: ``?after=`` and/or ``X-Min-Event-Position`` (the higher)."""
    given = [
        (name, value)
        for name, value in (
            (AFTER_PARAMETER, request.query.get(AFTER_PARAMETER)),
            (MIN_POSITION_HEADER, request.headers.get(MIN_POSITION_HEADER)),
        )
        if value is not None
    ]
    positions = []
    for name, value in given:
        if not (value.isascii() and value.isdigit()) or int(value) > MAX_POSITION:
            raise InvalidRequestError(f"{name} must be an event position (a whole number from 0)")
        positions.append(int(value))
    return max(positions, default=None)


def consistent_reads(request: web.Request) -> ConsistentReads:
    return request.app[CONTAINER].consistent
