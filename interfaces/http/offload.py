"""Run synchronous application calls off the event loop, in the container's thread pool."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from application.blocking import ExecutorRunner
from interfaces.http.keys import CONTAINER

T = TypeVar("T")


async def offload(request: web.Request, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # In the request's context (``ExecutorRunner`` copies it): a save made there
    # notes its position for the response.
    run = ExecutorRunner(request.app[CONTAINER].executor)
    return await run(functools.partial(function, *args, **kwargs))
