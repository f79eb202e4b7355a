"""Two processes on one PostgreSQL: a webhook changed in one is refused by the other at once.

Each process keeps its last read of a tenant's webhook, to spare a query per
request. When another process deactivates the webhook or regenerates its
secret, that read is stale: whatever the request (a wrong media type, over
the rate limit, a body that never arrives, too large, not JSON), the answer
must be the 401 that fresh state gives, and nothing is recorded.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest

from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from tests.reliability.conftest import last_position, on_postgres, postgres_only
from tests.support.live_server import live_server
from tests.support.settings import make_settings

ORDER = b'{"externalOrderId":"STALE-1","deliveryAddress":"10 High Street, London SW1A 1AA"}'

pytestmark = [postgres_only, on_postgres]


@dataclass
class Hook:
    container: Container
    address: tuple[str, int]
    tenant_id: str
    admin_key: str
    secret: str

    def post(
        self, body: bytes, headers: dict[str, str] | None = None, *, declared: int | None = None
    ) -> tuple[int, bytes]:
        """POST over a socket; ``declared`` announces more body than is sent (a stalled client)."""
        fields = {"Host": "127.0.0.1", "Authorization": f"Bearer {self.secret}", "Content-Type": "application/json"}
        fields.update(headers or {})
        fields["Content-Length"] = str(declared if declared is not None else len(body))
        head = f"POST /api/integrations/wms/{self.tenant_id} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in fields.items()
        )
        with socket.create_connection(self.address, timeout=30) as sock:
            sock.sendall(head.encode() + b"\r\n" + body)
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
            status = int(received.split(b" ", 2)[1])
            length = int(
                next(
                    (
                        line.split(b":", 1)[1]
                        for line in received.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    b"0",
                )
            )
            body_part = received.split(b"\r\n\r\n", 1)[1]
            while len(body_part) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body_part += chunk
            return status, body_part


RATE_LIMITED = "over the rate limit (429)"


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    # A body must arrive within a second. For the rate-limit case, the one
    # request the fixture sends uses the tenant's whole burst.
    limited = request.node.callspec.params.get("refusal") == RATE_LIMITED
    return make_settings(
        database_url,
        geocoder="none",
        rate_limit_per_second=0.001,
        rate_limit_burst=1 if limited else 100,
        client_timeout_seconds=1.0,
        max_body_bytes=64 * 1024,
    )


@pytest.fixture
def hook(container: Container, other_process: Container) -> Iterator[Hook]:
    created = container.use_cases.create_tenant("Two Processes")
    principal = container.use_cases.authenticate(str(created.tenant_id), created.admin_api_key)
    secret = container.use_cases.connect_webhook(principal)
    with live_server(container) as address:
        served = Hook(container, address, str(created.tenant_id), created.admin_api_key, secret)
        # This process has now read the webhook: its credential is cached here.
        assert served.post(ORDER)[0] == 200
        yield served


@pytest.fixture
def other_process(settings: Settings) -> Iterator[Container]:
    """A second service on the same database (its own caches, as another process has).

    Built before the first one's server starts, as when both start together.
    """
    other = build_container(settings)
    yield other
    other.close()


REFUSALS = {
    "non-JSON media type (415)": lambda h: h.post(b"<orders/>", {"Content-Type": "application/xml"}),
    RATE_LIMITED: lambda h: h.post(ORDER),
    "body that never arrives (408)": lambda h: h.post(b"[", declared=1000),
    "declared too large (413)": lambda h: h.post(b"", declared=10 * 1024 * 1024),
    "not JSON (400)": lambda h: h.post(b"{nope"),
    "valid order (200)": lambda h: h.post(ORDER),
}


@pytest.mark.parametrize("change", ["deactivated", "secret regenerated"])
@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_webhook_changed_in_another_process_gets_401_before_any_other_answer(
    hook: Hook, other_process: Container, change: str, refusal: str
) -> None:
    admin = other_process.use_cases.authenticate(hook.tenant_id, hook.admin_key)
    if change == "deactivated":
        other_process.use_cases.set_webhook_active(admin, False)
    else:
        other_process.use_cases.regenerate_webhook_secret(admin)
    before = last_position(hook.container)
    status, body = REFUSALS[refusal](hook)
    assert (status, orjson.loads(body)) == (401, {"error": "Unauthorized"}), refusal
    # Nothing recorded: no order, no delivery-log entry for a caller that is not let in.
    assert last_position(hook.container) == before
