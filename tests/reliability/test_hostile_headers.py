"""Headers that are not UTF-8, or not well formed, never get a 500 nor change anything.

Every header a request's identity is read from (``Authorization``, the
session ``Cookie``, ``X-CSRF-Token``, ``Origin``/``Referer``, ``Host``) and
every header a response echoes (``Host`` in the webhook URL, ``X-Request-Id``)
is sent holding bytes that are not UTF-8, over a real socket (HTTP clients
refuse to send them). A credential with such a byte is a wrong credential:
the same answer as any other wrong one, and nothing stored.
"""

from __future__ import annotations

import http.client
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest

from interfaces.container import Container
from interfaces.http.app import create_app
from tests.reliability.conftest import last_position, routes_of
from tests.support.live_server import live_server
from tests.support.logs import json_logs
from tests.support.settings import make_settings

#: Bytes no UTF-8 decoder accepts: a lone continuation byte, a truncated
#: sequence, Latin-1 text, an overlong encoding, an encoded surrogate.
NOT_UTF8 = (b"\xff", b"\xc3\x28", b"caf\xe9", b"\xc0\xaf", b"\xed\xa0\x80")
ORDER = b'{"externalOrderId":"HDR-1","deliveryAddress":"10 High Street, London SW1A 1AA"}'
UNAUTHORIZED = b'{"error":"Unauthorized"}'
FORBIDDEN = b'{"error":"Forbidden"}'


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


@dataclass(frozen=True)
class Guarded:
    """A request a credential guards: its method, its route (``{t}`` for the tenant's id) and its body."""

    method: str
    route: str
    body: bytes = b""

    def __str__(self) -> str:
        return f"{self.method} {self.route}"


CREATE_API_KEY = Guarded("POST", "/api/tenants/{t}/api-keys", b'{"role":"planner"}')


@dataclass
class Target:
    container: Container
    address: tuple[str, int]
    tenant_id: str
    admin_key: str
    webhook_secret: str
    session: str
    csrf: str

    def send(
        self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"", host: bytes | None = None
    ) -> Answer:
        conn = http.client.HTTPConnection(*self.address, timeout=30)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader(b"Host", host if host is not None else f"127.0.0.1:{self.address[1]}".encode())
            for name, value in headers:
                conn.putheader(name, value)
            if body or method in ("POST", "PATCH", "PUT", "DELETE"):
                conn.putheader(b"Content-Length", str(len(body)).encode())
            conn.endheaders(body or None)
            response = conn.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            conn.close()

    def send_to(self, guarded: Guarded, headers: list[tuple[bytes, bytes]]) -> Answer:
        """``guarded`` for this target's tenant, with ``headers``."""
        return self.send(guarded.method, guarded.route.replace("{t}", self.tenant_id), headers, guarded.body)

    @property
    def webhook_path(self) -> str:
        return f"/api/integrations/wms/{self.tenant_id}"

    def cookie(self, token: bytes) -> tuple[bytes, bytes]:
        return (b"Cookie", b"wms_intake_session=" + token)


pytestmark = pytest.mark.settings(geocoder="none")


@pytest.fixture
def target(container: Container) -> Iterator[Target]:
    created = container.use_cases.create_tenant("Header Tenant")
    admin = container.use_cases.authenticate(str(created.tenant_id), created.admin_api_key)
    secret = container.use_cases.connect_webhook(admin)
    signed = container.sessions.sign_in(created.admin_api_key)
    with live_server(container) as address:
        yield Target(
            container, address, str(created.tenant_id), created.admin_api_key, secret, signed.token, signed.csrf_token
        )


def corrupted(value: str) -> list[bytes]:
    """``value`` with bytes that are not UTF-8 appended, put in front, or alone."""
    raw = value.encode()
    return [raw + bad for bad in NOT_UTF8] + [NOT_UTF8[0] + raw, raw[:8] + NOT_UTF8[2] + raw[8:], NOT_UTF8[0]]


def assert_same_refusal(target: Target, reference: Answer, case: str, answer: Answer, before: int) -> None:
    assert (answer.status, answer.body) == (reference.status, reference.body), case
    assert last_position(target.container) == before, f"{case}: something was stored"


# ---------------------------------------------------------------------- credentials


def test_a_webhook_secret_that_is_not_utf8_gets_the_same_401_and_stores_nothing(target: Target) -> None:
    before = last_position(target.container)
    headers = [(b"Content-Type", b"application/json")]
    reference = target.send("POST", target.webhook_path, [*headers, (b"Authorization", b"Bearer whs_wrong")], ORDER)
    assert reference.status == 401 and reference.body == UNAUTHORIZED
    for value in [*corrupted(f"Bearer {target.webhook_secret}"), b"Bearer " + NOT_UTF8[0], b"\xff\xfe " + b"x"]:
        answer = target.send("POST", target.webhook_path, [*headers, (b"Authorization", value)], ORDER)
        assert_same_refusal(target, reference, repr(value), answer, before)
        assert answer.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "guarded",
    [
        Guarded("GET", "/api/tenants/{t}/integrations"),
        CREATE_API_KEY,
        Guarded("POST", "/api/tenants/{t}/integrations/wms/webhook/secret"),
        Guarded("GET", "/api/tenants/{t}/orders?plannedDate=2025-02-22"),
    ],
    ids=str,
)
def test_an_api_key_or_session_cookie_that_is_not_utf8_gets_the_same_401_and_stores_nothing(
    target: Target, guarded: Guarded
) -> None:
    json = [(b"Content-Type", b"application/json")]
    before = last_position(target.container)
    reference = target.send_to(guarded, [*json, (b"Authorization", b"Bearer wik_wrong")])
    assert reference.status == 401 and reference.body == UNAUTHORIZED
    for value in corrupted(f"Bearer {target.admin_key}"):
        answer = target.send_to(guarded, [*json, (b"Authorization", value)])
        assert_same_refusal(target, reference, f"Authorization {value!r}", answer, before)
    csrf = [(b"X-CSRF-Token", target.csrf.encode())]
    cookie_reference = target.send_to(guarded, [*json, *csrf, target.cookie(b"not-a-session")])
    # A change made with a cookie is CSRF-checked first: the token is the cookie's, so a wrong cookie is a 403.
    assert (cookie_reference.status, cookie_reference.body) == (
        (401, UNAUTHORIZED) if guarded.method == "GET" else (403, FORBIDDEN)
    )
    for value in corrupted(target.session):
        answer = target.send_to(guarded, [*json, *csrf, target.cookie(value)])
        assert_same_refusal(target, cookie_reference, f"Cookie {value!r}", answer, before)


@pytest.mark.parametrize(
    "guarded",
    [
        CREATE_API_KEY,
        Guarded("PATCH", "/api/tenants/{t}/integrations/wms/webhook", b'{"active":false}'),
        Guarded("DELETE", "/dashboard/session"),
    ],
    ids=str,
)
def test_a_csrf_token_or_origin_that_is_not_utf8_gets_the_same_403_and_changes_nothing(
    target: Target, guarded: Guarded
) -> None:
    base = [(b"Content-Type", b"application/json"), target.cookie(target.session.encode())]
    before = last_position(target.container)
    reference = target.send_to(guarded, [*base, (b"X-CSRF-Token", b"0" * 64)])
    assert reference.status == 403 and reference.body == FORBIDDEN
    for value in corrupted(target.csrf):
        answer = target.send_to(guarded, [*base, (b"X-CSRF-Token", value)])
        assert_same_refusal(target, reference, f"X-CSRF-Token {value!r}", answer, before)
    csrf = (b"X-CSRF-Token", target.csrf.encode())
    own = f"http://127.0.0.1:{target.address[1]}"
    for name in (b"Origin", b"Referer"):
        for value in corrupted(own):
            answer = target.send_to(guarded, [*base, csrf, (name, value)])
            assert_same_refusal(target, reference, f"{name!r} {value!r}", answer, before)
    # The session still works, and nothing was signed out on the way.
    assert target.container.sessions.find_principal(target.session) is not None


def test_dashboard_pages_and_sign_in_treat_a_cookie_that_is_not_utf8_as_no_session(target: Target) -> None:
    page_reference = target.send("GET", "/dashboard/integrations", [target.cookie(b"not-a-session")])
    session_reference = target.send("GET", "/dashboard/session", [target.cookie(b"not-a-session")])
    assert page_reference.status == 303 and session_reference.status == 401
    for value in corrupted(target.session):
        page = target.send("GET", "/dashboard/integrations", [target.cookie(value)])
        assert (page.status, page.headers["Location"]) == (303, page_reference.headers["Location"]), value
        current = target.send("GET", "/dashboard/session", [target.cookie(value)])
        assert (current.status, current.body) == (401, UNAUTHORIZED), value
        # Signing in from a browser holding such a cookie: a session like any other.
        signed = target.send(
            "POST",
            "/dashboard/session",
            [(b"Content-Type", b"application/json"), target.cookie(value)],
            orjson.dumps({"apiKey": target.admin_key}),
        )
        assert signed.status == 201, (value, signed.body)


# ---------------------------------------------------------------------- what responses echo


@pytest.mark.parametrize("host", [b"\xff.example", b"example.com\xc3\x28", b"a b", b"exa<mple>.com", b""])
def test_connect_wms_with_a_host_that_is_not_a_host_refuses_before_storing_anything(
    target: Target, host: bytes
) -> None:
    container = target.container
    other = container.use_cases.create_tenant("No webhook yet")
    path = f"/api/tenants/{other.tenant_id}/integrations/wms/webhook"
    before = last_position(container)
    auth = (b"Authorization", f"Bearer {other.admin_api_key}".encode())
    answer = target.send("POST", path, [auth], host=host)
    assert answer.status == 400, answer.body
    assert orjson.loads(answer.body)["error"] == "Invalid Host header"
    assert last_position(container) == before
    # The admin can connect once the request names a real host: no 409 from a half-done first try.
    connected = target.send("POST", path, [auth], host=b"wms_intake-1.internal:8080")
    assert connected.status == 201, connected.body
    assert orjson.loads(connected.body)["webhookUrl"] == (
        f"http://wms_intake-1.internal:8080/api/integrations/wms/{other.tenant_id}"
    )
    status_path = f"/api/tenants/{other.tenant_id}/integrations"
    assert target.send("GET", status_path, [auth], host=host).status == 400
    patched = target.send(
        "PATCH", f"{path}", [auth, (b"Content-Type", b"application/json")], b'{"active":false}', host=host
    )
    assert patched.status == 400
    # The 400 is a documented answer of each of these routes.
    document = orjson.loads(target.send("GET", "/api/openapi.json", []).body)
    for route, method in ((path, "post"), (path, "patch"), (status_path, "get")):
        template = route.replace(str(other.tenant_id), "{tenantId}")
        assert "400" in document["paths"][template][method]["responses"], (method, template)
    # Still active: the refused PATCH changed nothing.
    secret = orjson.loads(connected.body)["secret"]
    assert str(container.use_cases.authenticate_webhook(str(other.tenant_id), secret)) == str(other.tenant_id)


@pytest.fixture
def public_target(database_url: str) -> Iterator[Target]:
    from interfaces.container import build_container

    container = build_container(make_settings(database_url, geocoder="none", public_url="https://intake.example/"))
    try:
        created = container.use_cases.create_tenant("Public URL Tenant")
        signed = container.sessions.sign_in(created.admin_api_key)
        with live_server(container) as address:
            yield Target(
                container, address, str(created.tenant_id), created.admin_api_key, "", signed.token, signed.csrf_token
            )
    finally:
        container.close()


def test_with_a_public_url_the_webhook_url_never_comes_from_the_host_header(public_target: Target) -> None:
    path = f"/api/tenants/{public_target.tenant_id}/integrations/wms/webhook"
    auth = (b"Authorization", f"Bearer {public_target.admin_key}".encode())
    answer = public_target.send("POST", path, [auth], host=b"\xff.attacker.example")
    assert answer.status == 201, answer.body
    assert orjson.loads(answer.body)["webhookUrl"] == (
        f"https://intake.example/api/integrations/wms/{public_target.tenant_id}"
    )


def test_no_route_answers_a_500_to_headers_or_paths_that_are_not_utf8(target: Target) -> None:
    """Every route, each identity or echoed header holding bytes that are not UTF-8."""
    fill = {"tenantId": target.tenant_id}
    routes = routes_of(create_app(target.container, run_background=False), fill)
    hostile: list[tuple[bytes, bytes]] = [
        (b"Authorization", b"Bearer " + NOT_UTF8[0]),
        (b"Cookie", b"wms_intake_session=" + NOT_UTF8[2]),
        (b"X-CSRF-Token", NOT_UTF8[0]),
        (b"Origin", b"http://\xff"),
        (b"Referer", b"http://\xff/x"),
        (b"X-Request-Id", b"abcdefgh\xff"),
        (b"Content-Type", b"application/json; charset=\xff"),
        (b"Accept", NOT_UTF8[1]),
    ]
    seen = []
    for method, path in routes:
        for header in hostile:
            answer = target.send(method, path, [header], b"{}" if method in ("POST", "PATCH") else b"")
            assert answer.status < 500, (method, path, header, answer.body)
            seen.append(answer.headers["X-Request-Id"])
        for suffix in ("/%FF", "?limit=%FF&cursor=%C3%28&plannedDate=%E9&asOf=%FF"):
            answer = target.send(method, path + suffix, [(b"Authorization", f"Bearer {target.admin_key}".encode())])
            assert answer.status < 500, (method, path + suffix, answer.body)
        answer = target.send(method, path, [], host=b"\xff")
        assert answer.status < 500, (method, path, "Host", answer.body)
    # A request id that is not a safe one is replaced, never echoed.
    assert all(rid and rid.isascii() and "\\" not in rid for rid in seen)


# ---------------------------------------------------------------------- credentials in the log


#: Every credential here ends with 32 random bytes in URL-safe base64 (a CSRF token, 64 hex digits, is longer).
RANDOM_TAIL = 43


def windows(credential: str, width: int = 12) -> set[str]:
    """Every ``width``-character piece of a credential's random tail (step 3). The tail,
    not what follows the last underscore: URL-safe base64 has underscores of its own, and
    a token ending in ``_k`` would be checked for the letter ``k`` alone."""
    random_part = credential[-RANDOM_TAIL:]
    return {random_part[i : i + width] for i in range(0, max(1, len(random_part) - width + 1), 3)}


def test_malformed_header_lines_never_put_a_credential_in_the_log(target: Target) -> None:
    """A secret saved with Windows line endings, with a control byte, or in an
    oversized header: aiohttp refuses the request, and the log says so without
    a byte of the credential."""
    credentials = {
        "webhook secret": target.webhook_secret,
        "API key": target.admin_key,
        "session token": target.session,
        "CSRF token": target.csrf,
    }
    lines = {
        "webhook secret": b"Authorization: Bearer %s",
        "API key": b"Authorization: Bearer %s",
        "session token": b"Cookie: wms_intake_session=%s",
        "CSRF token": b"X-CSRF-Token: %s",
    }
    endings = {
        "CR CR LF": b"\r\r\n",
        "control byte": b"\x01\r\n",
        "DEL": b"\x7f\r\n",
        "NUL": b"\x00\r\n",
        "bare CR inside": b"\rX-Other: 1\r\n",
        "oversized": b"A" * 9000 + b"\r\n",
    }
    answers = []
    with json_logs(logging.DEBUG) as captured:
        for name, credential in credentials.items():
            for ending in endings.values():
                line = lines[name] % credential.encode() + ending
                path = target.webhook_path if name == "webhook secret" else f"/api/tenants/{target.tenant_id}/orders"
                request = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n".encode()
                with socket.create_connection(target.address, timeout=30) as sock:
                    sock.sendall(request + line + b"\r\n{}")
                    answers.append(sock.recv(64).split(b"\r\n", 1)[0])
        # Well-formed lines, but a Cookie header whose pairs are not cookies (aiohttp notes their names).
        for token in (target.session, target.webhook_secret):
            for cookie in (b"x@%s=1", b"%s", b"wms_intake_session:%s=1"):
                request = f"GET /api/tenants/{target.tenant_id}/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
                with socket.create_connection(target.address, timeout=30) as sock:
                    sock.sendall(request + b"Cookie: " + cookie % token.encode() + b"\r\nConnection: close\r\n\r\n")
                    assert b" 401 " in sock.recv(64).split(b"\r\n", 1)[0]
    output = captured.getvalue()
    assert all(a.startswith(b"HTTP/1.") and b" 400 " in a for a in answers), answers
    # The refusals are logged (so the check below looked at real lines) ...
    assert output.count("could not be parsed") >= len(credentials) * len(endings) - len(credentials), output[-2000:]
    # ... and no piece of any credential is in them.
    for name, credential in credentials.items():
        leaked = [piece for piece in windows(credential) if piece in output]
        assert not leaked, f"{name} in the log: {leaked[:3]}"
