"""Run synchronous application calls off the event loop.

eventsourcing 9.5 has no async API: every store call runs in a bounded
thread pool sized to the database pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from interfaces.http.keys import CONTAINER

T = TypeVar("T")


async def offload(request: web.Request, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    executor = request.app[CONTAINER].executor
    call = functools.partial(function, *args, **kwargs)
    # In the request's context: a save made there notes its position for the response.
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(executor, context.run, call)
