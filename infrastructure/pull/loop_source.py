"""The ``PullSource`` port over ``AiohttpPullSource``, one per event loop.

An aiohttp ``ClientSession`` belongs to the loop that opened it, and pulls run
on two kinds of loop: the HTTP server's ("Sync now") and the scheduler's own.
So each loop gets its own ``AiohttpPullSource`` (same policy), opened on its
first fetch; ``close()`` closes the calling loop's one and must be awaited on
that loop before it ends. Failures are the port's own ``PullFetchError``.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

from infrastructure.pull.outbound import AiohttpPullSource, OutboundPolicy, check_pull_url


class PerLoopPullSource:
    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self._sources: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AiohttpPullSource] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    async def fetch(self, url: str, method: str, secret: str, updated_since: str | None) -> bytes:
        return await self._for_this_loop().fetch(url, method, secret, updated_since)

    def check_url(self, url: str) -> list[str]:
        """The fetch's URL and address rules, applied without fetching (blocking: DNS)."""
        return check_pull_url(url, allow_private=self.policy.allow_private)

    async def close(self) -> None:
        """Close the calling loop's session (if it opened one); safe to call again."""
        with self._lock:
            source = self._sources.pop(asyncio.get_running_loop(), None)
        if source is not None:
            await source.close()

    def _for_this_loop(self) -> AiohttpPullSource:
        loop = asyncio.get_running_loop()
        with self._lock:
            source = self._sources.get(loop)
            if source is None:
                source = self._sources[loop] = AiohttpPullSource(self.policy)
            return source
