"""Hostile input on the webhook: only 4xx, never a 500, and nothing stored.

Random JSON (hypothesis), hand-made nasties (deep nesting, huge numbers,
NaN/Infinity, long strings, invalid UTF-8, wrong media types, 10,000-item
arrays, oversized bodies), clients that stall or trickle, and oversized
headers. Requests go over real sockets to the service on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bench.loadgen import ServerProcess
from interfaces.container import Container, build_container
from tests.reliability.conftest import last_position, topics_since
from tests.support.http import TenantKeys
from tests.support.live_server import live_server
from tests.support.order_wire import ORDER_KEYS
from tests.support.settings import make_settings

Address = tuple[str, int]

ACCEPTED = {
    "wms-intake:OrderCreated",
    "wms-intake:OrderUpdated",
    "wms-intake:CustomerCreated",
    "wms-intake:DeliveryAccepted",
}
REJECTED = {"wms-intake:DeliveryRejected"}


def request(
    address: Address, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection(*address, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


class Target:
    """The webhook of one tenant on a live server, and the store behind it."""

    def __init__(self, container: Container, address: Address) -> None:
        self.container = container
        self.address = address
        created = container.use_cases.create_tenant("Hostile input")
        tenant = TenantKeys(str(created.tenant_id), created.admin_api_key)
        status, body, _ = request(
            address, "POST", f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=tenant.auth()
        )
        assert status == 201
        self.secret = orjson.loads(body)["secret"]
        self.path = f"/api/integrations/wms/{tenant.tenant_id}"

    def post(
        self, body: bytes, content_type: str | None = "application/json", **headers: str
    ) -> tuple[int, Any, list[str]]:
        """Post ``body``; the status, the parsed answer, and the topics it stored."""
        position = last_position(self.container)
        sent = {"Authorization": f"Bearer {self.secret}", **headers}
        if content_type is not None:
            sent["Content-Type"] = content_type
        status, raw, _ = request(self.address, "POST", self.path, body, sent)
        answer = orjson.loads(raw)
        return status, answer, topics_since(self.container, position)

    def check(self, status: int, answer: Any, stored: list[str], items: int | None = None) -> None:
        """The invariant of every answer: a 200 stored the batch, a 4xx at most its rejection record."""
        assert status < 500, answer
        if status == 200:
            assert answer["accepted"] is True
            if items is not None:
                assert answer["processed"] == items
            assert set(stored) <= ACCEPTED and "wms-intake:DeliveryAccepted" in stored
        else:
            assert status in (400, 408, 413, 415, 422), (status, answer)
            assert isinstance(answer["error"], str) and answer["error"]
            assert set(stored) <= REJECTED, stored


@pytest.fixture
def target(database_url: str) -> Iterator[Target]:
    container = build_container(make_settings(database_url, geocoder="none"))
    try:
        with live_server(container) as address:
            yield Target(container, address)
    finally:
        container.close()


# ---------------------------------------------------------------------- random JSON

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["2025-02-22", "2025-02-30", "", "  ", "WMS-1", "10 High St, London SW1A 1AA", "\u0000"])
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
order_like = st.dictionaries(st.sampled_from(ORDER_KEYS), values, max_size=10)
documents = values | order_like | st.lists(order_like, max_size=6)
media_types = st.sampled_from(
    [
        None,
        "application/json",
        "text/plain",
        "application/vnd.wms+json",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/html",
    ]
)
mangles = st.sampled_from(["none", "truncate", "bad utf-8", "nan", "trailing garbage", "bom"])


def mangle(body: bytes, how: str) -> bytes:
    return {
        "none": body,
        "truncate": body[: len(body) // 2],
        "bad utf-8": body.replace(b'"', b'"\xff', 1) if b'"' in body else b"\xff" + body,
        "nan": body.replace(b"null", b"NaN", 1) if b"null" in body else b"[Infinity]",
        "trailing garbage": body + b"}",
        "bom": b"\xef\xbb\xbf" + body,
    }[how]


@hypothesis_settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents, media_type=media_types, how=mangles)
def test_any_json_any_media_type_gets_a_4xx_or_a_whole_200_never_a_500(
    target: Target, document: Any, media_type: str | None, how: str
) -> None:
    body = mangle(orjson.dumps(document), how)
    status, answer, stored = target.post(body, media_type)
    target.check(status, answer, stored)


# ---------------------------------------------------------------------- hand-made nasties

ITEM = {"externalOrderId": "H-1", "deliveryAddress": "10 High Street, London SW1A 1AA"}
HUGE = 10 * 1024 * 1024 + 1


def _items(n: int, **fields: Any) -> bytes:
    return orjson.dumps([{**ITEM, "externalOrderId": f"H-{i}", **fields} for i in range(n)])


NASTIES: dict[str, tuple[bytes, str | None, int]] = {
    "empty body": (b"", "application/json", 400),
    "deep array nesting": (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    "deep object nesting": (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "application/json", 400),
    "nesting past the parser limit inside an order": (
        b'{"externalOrderId":"N-1","deliveryAddress":"1 A St","x":' + b"[" * 2000 + b"]" * 2000 + b"}",
        None,
        400,
    ),
    "a number too large for a double": (
        b'{"externalOrderId":"N-2","deliveryAddress":"1 A St","totalWeight":1e400}',
        None,
        400,
    ),
    "an id too large to be exact": (
        b'{"externalOrderId":123456789012345678901234567890,"deliveryAddress":"1 A St"}',
        None,
        400,
    ),
    "a huge pallet count": (orjson.dumps({**ITEM, "palletCount": 2**63}), None, 400),
    "NaN": (b'{"externalOrderId":"N-3","deliveryAddress":"1 A St","volume":NaN}', None, 400),
    "Infinity": (b'{"externalOrderId":"N-4","deliveryAddress":"1 A St","volume":Infinity}', None, 400),
    "negative infinity": (b'{"externalOrderId":"N-5","deliveryAddress":"1 A St","volume":-Infinity}', None, 400),
    "a megabyte id": (orjson.dumps({**ITEM, "externalOrderId": "x" * 1_000_000}), None, 400),
    "a five-megabyte address": (orjson.dumps({**ITEM, "deliveryAddress": "y" * 5_000_000}), None, 400),
    "a NUL in the id": (orjson.dumps({**ITEM, "externalOrderId": "H\u0000-1"}), None, 400),
    "invalid UTF-8": (b'{"externalOrderId":"\xff\xfe","deliveryAddress":"1 A St"}', None, 400),
    "a lone surrogate": (b'{"externalOrderId":"\\ud800","deliveryAddress":"1 A St"}', None, 400),
    "a byte-order mark": (b"\xef\xbb\xbf" + orjson.dumps(ITEM), None, 400),
    "UTF-16": (orjson.dumps(ITEM).decode().encode("utf-16"), None, 400),
    "null": (b"null", None, 400),
    "a string": (b'"orders"', None, 400),
    "an array of numbers": (b"[1,2,3]", None, 400),
    "XML": (b"<orders><order id='1'/></orders>", "application/xml", 415),
    "a form": (b"externalOrderId=1&deliveryAddress=x", "application/x-www-form-urlencoded", 415),
    "multipart": (b"--x\r\n\r\n{}\r\n--x--", "multipart/form-data; boundary=x", 415),
    "10,000 items all invalid": (orjson.dumps([{"externalOrderId": ""}] * 10_000), None, 400),
    "10,000 items, the last with an impossible date": (
        orjson.dumps(
            [{**ITEM, "externalOrderId": f"D-{i}", "plannedDate": "2025-02-22"} for i in range(9_999)]
            + [{**ITEM, "plannedDate": "2025-02-30"}]
        ),
        None,
        422,
    ),
    "10,000 non-objects": (orjson.dumps(list(range(10_000))), None, 400),
    "10,001 valid items": (_items(10_001), None, 413),
}


@pytest.mark.parametrize("case", list(NASTIES))
def test_hand_made_nasty_bodies_get_their_4xx_and_store_nothing(target: Target, case: str) -> None:
    body, media_type, expected = NASTIES[case]
    status, answer, stored = target.post(body, media_type)
    target.check(status, answer, stored)
    assert status == expected, (case, answer if len(str(answer)) < 500 else str(answer)[:500])


def test_the_documented_limits_of_size_hold_for_declared_and_streamed_bodies(target: Target) -> None:
    # 10,000 orders is the documented maximum: accepted whole.
    status, answer, stored = target.post(_items(10_000))
    target.check(status, answer, stored, items=10_000)
    # Over 10 MiB: refused from the declared length, and when streamed without one.
    status, answer, stored = target.post(b"[" + b" " * HUGE + b"]")
    assert (status, answer["error"]) == (413, "Payload too large") and set(stored) <= REJECTED

    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(11):
            yield b" " * (1024 * 1024)
        yield b"]"

    conn = http.client.HTTPConnection(*target.address, timeout=120)
    position = last_position(target.container)
    conn.request(
        "POST",
        target.path,
        body=chunks(),
        headers={"Authorization": f"Bearer {target.secret}", "Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    answer = orjson.loads(response.read())
    conn.close()
    assert (response.status, answer["error"]) == (413, "Payload too large")
    assert set(topics_since(target.container, position)) <= REJECTED


# ---------------------------------------------------------------------- slow clients and big headers


@pytest.fixture
def impatient(database_url: str) -> Iterator[Target]:
    """The service with a one-second client timeout."""
    container = build_container(make_settings(database_url, geocoder="none", client_timeout_seconds=1.0))
    try:
        with live_server(container) as address:
            yield Target(container, address)
    finally:
        container.close()


def raw_exchange(address: Address, head: bytes, body_parts: list[bytes], pause: float) -> bytes:
    """Send the head, then each body part after ``pause`` seconds; return all the server said."""
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(head)
        received = b""
        sock.settimeout(pause)
        for part in body_parts:
            try:
                chunk = sock.recv(65536)
                if chunk:
                    received += chunk
                    break
            except TimeoutError:
                pass
            try:
                sock.sendall(part)
            except OSError:
                break
        sock.settimeout(30)
        while not _complete(received):
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
        return received


def _complete(response: bytes) -> bool:
    """Whether ``response`` holds a whole HTTP response (head and Content-Length body)."""
    head, separator, body = response.partition(b"\r\n\r\n")
    if not separator:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return length is not None and len(body) >= int(length.group(1))


def _head(target: Target, length: int) -> bytes:
    return (
        f"POST {target.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {target.secret}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_client_that_stalls_mid_body_gets_408_and_stores_nothing(impatient: Target) -> None:
    body = orjson.dumps([ITEM])
    position = last_position(impatient.container)
    answer = raw_exchange(impatient.address, _head(impatient, len(body)) + body[:10], [], pause=0)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"error":"Request timeout"' in answer
    assert topics_since(impatient.container, position) == []
    status, _, _ = impatient.post(body)
    assert status == 200


def test_a_client_that_trickles_its_body_gets_408_and_stores_nothing(impatient: Target) -> None:
    body = orjson.dumps([ITEM] * 4)
    position = last_position(impatient.container)
    trickle = [body[i : i + 1] for i in range(len(body))]
    answer = raw_exchange(impatient.address, _head(impatient, len(body)), trickle, pause=0.2)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert topics_since(impatient.container, position) == []


def test_oversized_or_too_many_headers_get_a_4xx_and_the_service_goes_on(target: Target) -> None:
    for headers in (
        {"X-Padding": "p" * 20_000},
        {"Authorization": "Bearer " + "s" * 20_000},
        {f"X-H{i}": "v" for i in range(500)},
    ):
        status, _, _ = request(target.address, "POST", target.path, orjson.dumps(ITEM), headers)
        assert 400 <= status < 500, (list(headers)[:2], status)
    status, _, _ = request(target.address, "GET", "/orders?" + "q" * 20_000)
    assert 400 <= status < 500
    assert request(target.address, "GET", "/healthz")[0] == 200
    assert target.post(orjson.dumps(ITEM))[0] == 200


def test_a_connection_that_never_finishes_its_headers_is_closed_by_the_server(tmp_path: Path) -> None:
    # The real command (``wms-intake serve``): its client timeout also bounds
    # a connection that never completes a request.
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'slow.sqlite3'}",
        tmp_path / "server.log",
        env={"WMS_INTAKE_CLIENT_TIMEOUT_SECONDS": "1", "WMS_INTAKE_GEOCODER": "none"},
    )
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"POST /api/integrations/wms/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            try:
                while sock.recv(1024):
                    pass
            except ConnectionResetError:
                pass
            except TimeoutError:
                pytest.fail("the server kept a half-sent request open for 30 s")
        server.wait_ready(10)
    finally:
        server.stop()
