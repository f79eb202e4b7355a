"""Reading a request body without ever holding more than the limit."""

from __future__ import annotations

import asyncio

from aiohttp import web

from application.errors import InvalidRequestError, PayloadRejectedError

CHUNK = 64 * 1024
#: A body already read for this request (by the Idempotency-Key check): (body, size).
PREREAD = web.RequestKey("preread_body", tuple)


async def read_capped(request: web.Request, limit: int, within: float) -> tuple[bytes | None, int]:
    """The body and its size; ``None`` for the body when it exceeds ``limit``.

    A declared Content-Length over the limit is refused before reading; a
    chunked body is counted while it streams and reading stops at the limit.
    The whole body must arrive ``within`` seconds (else 408): a client that
    stalls or trickles can't hold a request open for ever.
    """
    preread = request.get(PREREAD)
    if preread is not None:
        return preread
    declared = request.content_length
    if declared is not None and declared > limit:
        return None, declared
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            while True:
                chunk = await request.content.read(CHUNK)
                if not chunk:
                    return b"".join(parts), size
                size += len(chunk)
                if size > limit:
                    return None, size
                parts.append(chunk)
    except (ConnectionResetError, web.RequestPayloadError):
        # The client went away or sent a broken chunk: nobody reads this answer,
        # but it is a client's failure, not the server's.
        raise InvalidRequestError("The request body was not received completely") from None
    except TimeoutError:
        raise PayloadRejectedError(
            408, {"error": "Request timeout", "details": f"the body did not arrive within {within:g} seconds"}
        ) from None
