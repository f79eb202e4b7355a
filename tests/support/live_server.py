"""The service in a thread of its own on 127.0.0.1: for plain sockets and blocking clients."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from interfaces.container import Container
from interfaces.http.app import create_app


@contextmanager
def live_server(container: Container, **runner_options: Any) -> Iterator[tuple[str, int]]:
    """The service on 127.0.0.1 in a thread of its own: for plain sockets and
    blocking clients (hypothesis drives tests synchronously). Yields (host, port)."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(container), access_log=None, **runner_options)
    started = threading.Event()
    address: list[tuple[str, int]] = []

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        address.append(site._server.sockets[0].getsockname()[:2])  # type: ignore[union-attr]  # a started site always has its server
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, name="live-server", daemon=True)
    thread.start()
    assert started.wait(30), "the server did not start"

    async def stop() -> None:
        await runner.cleanup()
        # Connections still lingering over an unread body: end them too.
        current = asyncio.current_task()
        for task in [t for t in asyncio.all_tasks() if t is not current]:
            task.cancel()

    try:
        yield address[0]
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
