"""A fake WMS for tests: a real aiohttp server on 127.0.0.1 that the service pulls from.

Each path is given a behaviour — a JSON payload, raw bytes with any status, a
redirect, a stall until the test releases it, a Bearer secret it insists on —
and every request is recorded. Paths without a behaviour answer ``[]``.

    async with FakeWms() as wms:
        wms.serve_json("/orders", [{"externalOrderId": "A-1", "deliveryAddress": "..."}])
        wms.require_secret("/orders", secret)
        ... point a pull endpoint at wms.url("/orders") ...
        assert wms.requests_to("/orders")[0].headers["Authorization"] == f"Bearer {secret}"

The server runs on the test's event loop; the service may call it from any
thread or loop (it is reached over TCP, like a real WMS).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    @classmethod
    async def of(cls, request: web.Request) -> SeenRequest:
        return cls(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=await request.read(),
        )


@dataclass(frozen=True)
class Reply:
    """What a path answers. ``stall``: hold the request until ``release()`` (or close)."""

    status: int = 200
    body: bytes = b"[]"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False
    #: Put the Bearer credential the request presented into the body (for leak tests).
    echo_authorization: bool = False


class FakeWms:
    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self._replies: dict[str, Reply] = {}
        self._turns: dict[str, list[Reply]] = {}
        self._secrets: dict[str, str] = {}
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> FakeWms:
        await self._server.start_server()
        return self

    async def close(self) -> None:
        self.release()
        await self._server.close()

    async def __aenter__(self) -> FakeWms:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    # ---------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        port = self._server.port
        if port is None:
            raise RuntimeError("the fake WMS is not started")
        return port

    def url(self, path: str = "/orders", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    # ---------------------------------------------------------------- behaviours

    def serve(self, path: str, reply: Reply) -> None:
        self._replies[path] = reply

    def serve_in_turn(self, path: str, replies: list[Reply]) -> None:
        """The n-th request to ``path`` gets ``replies[n]`` (the last one from then on)."""
        self._turns[path] = list(replies)

    def serve_json(self, path: str, document: Any, status: int = 200) -> None:
        self.serve(path, Reply(status=status, body=orjson.dumps(document)))

    def serve_bytes(self, path: str, body: bytes, status: int = 200, content_type: str = "application/json") -> None:
        self.serve(path, Reply(status=status, body=body, content_type=content_type))

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.serve(path, Reply(status=status, body=b"", headers={"Location": location}))

    def stall(self, path: str) -> None:
        """Hold every request to ``path`` until ``release()``: a WMS that hangs."""
        self.serve(path, Reply(stall=True))

    def release(self) -> None:
        self._released.set()

    def hold(self) -> None:
        """Stall again after a ``release()``."""
        self._released.clear()

    def require_secret(self, path: str, secret: str) -> None:
        """Answer 401 unless the request carries ``Authorization: Bearer <secret>``."""
        self._secrets[path] = secret

    # ---------------------------------------------------------------- what was seen

    def requests_to(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]

    # ---------------------------------------------------------------- the server

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        seen = await SeenRequest.of(request)
        self.requests.append(seen)
        expected = self._secrets.get(request.path)
        if expected is not None and seen.headers.get("Authorization") != f"Bearer {expected}":
            return web.json_response({"error": "wrong secret"}, status=401)
        turns = self._turns.get(request.path)
        if turns:
            reply = turns.pop(0) if len(turns) > 1 else turns[0]
        else:
            reply = self._replies.get(request.path, Reply())
        if reply.stall:
            await self._released.wait()
        body = reply.body
        if reply.echo_authorization:
            body = body + b" " + seen.headers.get("Authorization", "").encode()
        return web.Response(status=reply.status, body=body, content_type=reply.content_type, headers=reply.headers)


def unused_port_url(path: str = "/orders") -> str:
    """A URL on 127.0.0.1 where nothing listens (a WMS that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
