"""The outbound pull fetch against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from infrastructure.pull.outbound import (
    AddressGuardResolver,
    AiohttpPullSource,
    OutboundPolicy,
    PullFetchError,
    RefusedAddressError,
    is_public_address,
)
from tests.support.fake_wms import SeenRequest

SECRET = "pull-secret-7f3a9c1e5b2d4f60"
BODY_LIMIT = 1024

ServerFactory = Callable[..., Awaitable[TestServer]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Recorder:
    """Every request a test server received, in order."""

    requests: list[SeenRequest] = field(default_factory=list)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(await SeenRequest.of(request))
        return await handler(request)


@dataclass
class Served:
    server: TestServer
    seen: Recorder

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


#: The fixtures' types: a WMS serving the given routes, and a pull source.
Serve = Callable[[dict[str, Handler]], Awaitable[Served]]
MakeSource = Callable[..., AiohttpPullSource]


@pytest.fixture
async def serve(aiohttp_server: ServerFactory) -> Serve:
    async def start(routes: dict[str, Handler]) -> Served:
        recorder = Recorder()
        app = web.Application(middlewares=[recorder.middleware])
        for path, handler in routes.items():
            app.router.add_route("*", path, handler)
        server = await aiohttp_server(app, host="127.0.0.1")
        return Served(server, recorder)

    return start


@pytest.fixture
async def make_source() -> AsyncIterator[MakeSource]:
    sources: list[AiohttpPullSource] = []

    def make(**policy: object) -> AiohttpPullSource:
        settings: dict[str, object] = {"allow_private": True, "total_timeout": 5.0, "max_body_bytes": BODY_LIMIT}
        settings.update(policy)
        source = AiohttpPullSource(OutboundPolicy(**settings))  # type: ignore[arg-type]  # each test passes the policy fields it changes
        sources.append(source)
        return source

    yield make
    for source in sources:
        await source.close()


@pytest.fixture
async def release() -> AsyncIterator[asyncio.Event]:
    """Lets handlers that stall for a test finish before the server shuts down."""
    event = asyncio.Event()
    yield event
    event.set()


def redirecting(to: str, status: type[web.HTTPMove] = web.HTTPFound) -> Handler:
    """A handler that redirects every request to ``to`` with ``status``."""

    async def redirect(_: web.Request) -> web.StreamResponse:
        raise status(to)

    return redirect


async def json_orders(_: web.Request) -> web.StreamResponse:
    return web.json_response({"orders": []})


async def fetch_error(source: AiohttpPullSource, url: str, method: str = "GET") -> PullFetchError:
    with pytest.raises(PullFetchError) as caught:
        await source.fetch(url, method, SECRET, None)
    error = caught.value
    assert SECRET not in str(error)
    assert SECRET not in error.message
    return error


async def test_get_sends_the_bearer_secret_and_updated_since_as_a_query_parameter(
    serve: Serve, make_source: MakeSource
) -> None:
    wms = await serve({"/orders": json_orders})

    body = await make_source().fetch(wms.url("/orders?page=2"), "GET", SECRET, "2024-05-01T10:00:00+02:00")

    assert json.loads(body) == {"orders": []}
    [seen] = wms.seen.requests
    assert seen.method == "GET"
    assert seen.headers["Authorization"] == f"Bearer {SECRET}"
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["User-Agent"] == OutboundPolicy().user_agent
    assert seen.query == {"page": "2", "updatedSince": "2024-05-01T10:00:00+02:00"}


async def test_get_without_updated_since_sends_no_updated_since_parameter(
    serve: Serve, make_source: MakeSource
) -> None:
    wms = await serve({"/orders": json_orders})

    await make_source().fetch(wms.url("/orders"), "GET", SECRET, None)

    assert wms.seen.requests[0].query == {}


async def test_post_sends_updated_since_in_a_json_body(serve: Serve, make_source: MakeSource) -> None:
    wms = await serve({"/orders": json_orders})

    await make_source().fetch(wms.url("/orders"), "POST", SECRET, "2024-05-01T08:00:00Z")

    [seen] = wms.seen.requests
    assert seen.method == "POST"
    assert seen.headers["Content-Type"].startswith("application/json")
    assert seen.headers["Authorization"] == f"Bearer {SECRET}"
    assert json.loads(seen.body) == {"updatedSince": "2024-05-01T08:00:00Z"}
    assert seen.query == {}


async def test_post_without_updated_since_sends_an_empty_json_object(serve: Serve, make_source: MakeSource) -> None:
    wms = await serve({"/orders": json_orders})

    await make_source().fetch(wms.url("/orders"), "POST", SECRET, None)

    assert json.loads(wms.seen.requests[0].body) == {}


async def test_a_server_error_becomes_an_http_status_error_quoting_the_body(
    serve: Serve, make_source: MakeSource
) -> None:
    async def broken(_: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="database is down\n" + "x" * 5000)

    wms = await serve({"/orders": broken})

    error = await fetch_error(make_source(), wms.url("/orders"))

    assert error.reason == "http_status"
    assert error.status == 500
    assert "database is down" in error.message
    assert "\n" not in error.message
    assert len(error.message) < 300


async def test_an_error_body_echoing_the_secret_has_it_redacted(serve: Serve, make_source: MakeSource) -> None:
    async def echo(request: web.Request) -> web.StreamResponse:
        return web.Response(status=401, text=f"bad token: {request.headers['Authorization']}")

    wms = await serve({"/orders": echo})

    error = await fetch_error(make_source(), wms.url("/orders"))

    assert error.status == 401
    assert "bad token: Bearer [redacted]" in error.message


async def test_a_server_slower_than_the_total_timeout_becomes_a_timeout_error(
    serve: Serve, make_source: MakeSource, release: asyncio.Event
) -> None:
    async def stall(_: web.Request) -> web.StreamResponse:
        await asyncio.wait_for(release.wait(), timeout=10)
        return web.json_response({"orders": []})

    wms = await serve({"/orders": stall})
    started = time.monotonic()

    error = await fetch_error(make_source(total_timeout=0.3), wms.url("/orders"))

    assert error.reason == "timeout"
    assert time.monotonic() - started < 3


async def test_a_declared_content_length_over_the_limit_is_refused_before_reading_the_body(
    serve: Serve, make_source: MakeSource, release: asyncio.Event
) -> None:
    async def announce_big(request: web.Request) -> web.StreamResponse:
        # Announces a large body but sends only a little and stalls: only an
        # up-front Content-Length check ends the fetch before the timeout.
        response = web.StreamResponse()
        response.content_length = BODY_LIMIT * 100
        await response.prepare(request)
        await response.write(b"{")
        await asyncio.wait_for(release.wait(), timeout=10)
        return response

    wms = await serve({"/orders": announce_big})

    error = await fetch_error(make_source(total_timeout=3.0), wms.url("/orders"))

    assert error.reason == "too_large"


async def test_a_chunked_body_over_the_limit_is_refused_while_streaming(serve: Serve, make_source: MakeSource) -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(8):
            await response.write(b"x" * (BODY_LIMIT // 4))
        await response.write_eof()
        return response

    wms = await serve({"/orders": chunked})

    error = await fetch_error(make_source(), wms.url("/orders"))

    assert error.reason == "too_large"


async def test_a_body_of_exactly_the_limit_is_returned(serve: Serve, make_source: MakeSource) -> None:
    async def full(_: web.Request) -> web.StreamResponse:
        return web.Response(body=b"y" * BODY_LIMIT)

    wms = await serve({"/orders": full})

    assert await make_source().fetch(wms.url("/orders"), "GET", SECRET, None) == b"y" * BODY_LIMIT


async def test_a_redirect_to_the_same_origin_is_followed_with_the_secret(serve: Serve, make_source: MakeSource) -> None:
    moved = redirecting("/v2/orders?page=1")
    wms = await serve({"/orders": moved, "/v2/orders": json_orders})

    body = await make_source().fetch(wms.url("/orders"), "GET", SECRET, None)

    assert json.loads(body) == {"orders": []}
    assert [seen.path for seen in wms.seen.requests] == ["/orders", "/v2/orders"]
    assert wms.seen.requests[1].headers["Authorization"] == f"Bearer {SECRET}"
    assert wms.seen.requests[1].query == {"page": "1"}


async def test_a_see_other_redirect_turns_a_post_into_a_get(serve: Serve, make_source: MakeSource) -> None:
    see_other = redirecting("/result", web.HTTPSeeOther)
    wms = await serve({"/orders": see_other, "/result": json_orders})

    await make_source().fetch(wms.url("/orders"), "POST", SECRET, "2024-05-01T08:00:00Z")

    assert [(seen.method, seen.path) for seen in wms.seen.requests] == [("POST", "/orders"), ("GET", "/result")]
    assert wms.seen.requests[1].body == b""


async def test_a_temporary_redirect_repeats_the_post_with_its_body(serve: Serve, make_source: MakeSource) -> None:
    temporary = redirecting("/elsewhere", web.HTTPTemporaryRedirect)
    wms = await serve({"/orders": temporary, "/elsewhere": json_orders})

    await make_source().fetch(wms.url("/orders"), "POST", SECRET, "2024-05-01T08:00:00Z")

    second = wms.seen.requests[1]
    assert (second.method, second.path) == ("POST", "/elsewhere")
    assert json.loads(second.body) == {"updatedSince": "2024-05-01T08:00:00Z"}


@pytest.mark.parametrize("other_host", ["localhost", "127.0.0.1"])
async def test_a_redirect_to_another_origin_is_refused_and_never_reaches_it(
    serve: Serve, make_source: MakeSource, other_host: str
) -> None:
    elsewhere = await serve({"/orders": json_orders})
    port = elsewhere.server.port

    away = redirecting(f"http://{other_host}:{port}/orders")
    wms = await serve({"/orders": away})

    error = await fetch_error(make_source(), wms.url("/orders"))

    assert error.reason == "redirect_refused"
    assert error.status == 302
    assert len(wms.seen.requests) == 1
    assert elsewhere.seen.requests == []


async def test_more_redirects_than_allowed_are_refused(serve: Serve, make_source: MakeSource) -> None:
    async def onwards(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"/orders/{int(request.match_info.get('n', '0')) + 1}")

    wms = await serve({"/orders": onwards, "/orders/{n}": onwards})

    error = await fetch_error(make_source(max_redirects=2), wms.url("/orders"))

    assert error.reason == "redirect_refused"
    assert "more than 2" in error.message
    assert len(wms.seen.requests) == 3


@pytest.mark.parametrize("cycle", [["/orders"], ["/orders", "/a", "/b"]])
async def test_a_redirect_loop_is_named_a_loop(serve: Serve, make_source: MakeSource, cycle: list[str]) -> None:
    wms = await serve({path: redirecting(cycle[(i + 1) % len(cycle)]) for i, path in enumerate(cycle)})

    error = await fetch_error(make_source(max_redirects=5), wms.url("/orders"))

    assert error.reason == "redirect_loop"
    assert "loop" in error.message and "another" not in error.message
    assert len(wms.seen.requests) == len(cycle)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/orders",
        "file:///etc/passwd",
        "http:///orders",
        "/orders",
        "not a url",
        "https://user:password@example.com/orders",
    ],
)
async def test_urls_that_are_not_plain_http_or_https_are_invalid(make_source: MakeSource, url: str) -> None:
    error = await fetch_error(make_source(allow_private=False), url)

    assert error.reason == "invalid_url"


async def test_a_loopback_ip_url_is_refused_without_reaching_the_server(serve: Serve, make_source: MakeSource) -> None:
    wms = await serve({"/orders": json_orders})

    error = await fetch_error(make_source(allow_private=False), wms.url("/orders"))

    assert error.reason == "refused_address"
    assert wms.seen.requests == []


async def test_a_host_name_resolving_to_loopback_is_refused_without_reaching_the_server(
    serve: Serve, make_source: MakeSource
) -> None:
    wms = await serve({"/orders": json_orders})
    url = f"http://localhost:{wms.server.port}/orders"

    error = await fetch_error(make_source(allow_private=False), url)

    assert error.reason == "refused_address"
    assert wms.seen.requests == []


@pytest.mark.parametrize(
    "host", ["[::1]", "[::ffff:127.0.0.1]", "[fe80::1]", "[::]", "10.1.2.3", "169.254.169.254", "100.64.0.1"]
)
async def test_non_public_ip_literals_are_refused(make_source: MakeSource, host: str) -> None:
    error = await fetch_error(make_source(allow_private=False), f"http://{host}:9/orders")

    assert error.reason == "refused_address"


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f.0.0.1", "017700000001"])
async def test_legacy_numeric_forms_of_loopback_are_refused(serve: Serve, make_source: MakeSource, host: str) -> None:
    wms = await serve({"/orders": json_orders})

    error = await fetch_error(make_source(allow_private=False), f"http://{host}:{wms.server.port}/orders")

    assert error.reason == "refused_address"
    assert wms.seen.requests == []


async def test_a_closed_port_is_unreachable(make_source: Callable[..., AiohttpPullSource]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    error = await fetch_error(make_source(), f"http://127.0.0.1:{port}/orders")

    assert error.reason == "unreachable"


async def test_the_guard_resolver_refuses_a_name_resolving_only_to_loopback() -> None:
    resolver = AddressGuardResolver()
    try:
        with pytest.raises(RefusedAddressError):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


class FixedAnswerResolver(AbstractResolver):
    """A DNS answer chosen by the test, as a rebinding attacker would choose it."""

    def __init__(self, addresses: list[str]) -> None:
        self._addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self._addresses
        ]

    async def close(self) -> None:
        return None


async def test_the_guard_resolver_keeps_only_the_public_addresses_of_a_mixed_answer() -> None:
    inner = FixedAnswerResolver(["127.0.0.1", "93.184.215.14", "10.0.0.8", "2606:4700::6810:84e5"])

    results = await AddressGuardResolver(inner).resolve("wms.example", 443)

    assert [result["host"] for result in results] == ["93.184.215.14", "2606:4700::6810:84e5"]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::6810:84e5", True),
        ("::ffff:93.184.215.14", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.1.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff0e::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::1", False),
        ("not-an-address", False),
    ],
)
def test_addresses_are_public_only_when_globally_routable(address: str, public: bool) -> None:
    assert is_public_address(address) is public
