"""``GET /api/tenants/{t}/orders/changes``: the change feed, with long polling.

A long poll holds no database connection and no thread while it waits: it
sleeps on a signal this process raises after each of its own saves, and looks
again every ``POLL_SECONDS`` for changes saved by other processes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from aiohttp import web

from application.errors import InvalidRequestError
from application.order_changes import OrderChanges
from interfaces.http.auth import principal_of
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload
from interfaces.http.paging import MAX_LIMIT
from interfaces.http.presenters.changes import present_changes_page
from interfaces.http.responses import json_response

MAX_WAIT_SECONDS = 30
POLL_SECONDS = 0.5
DEFAULT_LIMIT = 100


class SaveSignal:
    """Wakes the long polls of this process when it saves something."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout: float) -> None:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter[1].wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(waiter)


SAVE_SIGNAL = web.AppKey("save_signal", SaveSignal)


def listen_for_saves(app: web.Application, subscribe: Callable[[Callable[[], None]], None]) -> None:
    signal = app[SAVE_SIGNAL] = SaveSignal()
    subscribe(signal.notify)


async def order_changes(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    after = _whole_number(request, "after", 0, 2**63 - 1)
    limit = _whole_number(request, "limit", DEFAULT_LIMIT, MAX_LIMIT, least=1)
    wait = _whole_number(request, "wait", 0, MAX_WAIT_SECONDS)
    container = request.app[CONTAINER]
    feed = OrderChanges(container.use_cases)
    deadline = time.monotonic() + min(wait, container.settings.changes_max_wait_seconds)
    while True:
        page = await offload(request, feed.page, principal, after, limit)
        after = page.next_cursor
        left = deadline - time.monotonic()
        if page.changes or left <= 0:
            break
        if page.at_end:
            await request.app[SAVE_SIGNAL].wait(min(POLL_SECONDS, left))
    return json_response(present_changes_page(page))


def _whole_number(request: web.Request, name: str, default: int, most: int, least: int = 0) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if raw.isascii() and raw.isdigit() and len(raw) <= 19 and least <= int(raw) <= most:
        return int(raw)
    raise InvalidRequestError(f"{name} must be a whole number from {least} to {most}")
