"""Talking to the service over HTTP as its clients do: a tenant's admin, the WMS webhook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import ClientTimeout
from aiohttp.test_utils import TestClient
from multidict import CIMultiDictProxy

#: The event store's position a write answers with; a read given it waits until it shows.
POSITION_HEADER = "X-Event-Position"
MIN_POSITION_HEADER = "X-Min-Event-Position"


@dataclass
class TenantKeys:
    tenant_id: str
    admin_key: str

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}

    @property
    def api(self) -> str:
        return f"/api/tenants/{self.tenant_id}"


@dataclass
class Webhook:
    tenant: TenantKeys
    url: str
    secret: str

    @property
    def path(self) -> str:
        return f"/api/integrations/wms/{self.tenant.tenant_id}"

    def headers(self, secret: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret or self.secret}", "Content-Type": "application/json"}


async def post_orders(
    client: TestClient,
    hook: Webhook,
    body: bytes | Any,
    *,
    secret: str | None = None,
    query: str = "",
    timeout: ClientTimeout | None = None,
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    """The WMS posts ``body`` (bytes as they are, anything else as JSON) to the
    webhook: the status, the JSON answer (None when the answer is not JSON), the headers."""
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    extra = {} if timeout is None else {"timeout": timeout}
    response = await client.post(hook.path + query, data=data, headers=hook.headers(secret), **extra)
    raw = await response.read()
    try:
        answer = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        answer = None
    return response.status, answer, response.headers


async def accept_orders(client: TestClient, hook: Webhook, body: bytes | Any, query: str = "") -> dict[str, Any]:
    """The WMS posts ``body`` and the webhook accepts it (200): its answer."""
    status, answer, _ = await post_orders(client, hook, body, query=query)
    assert status == 200, answer
    return dict(answer)


async def create_customer(client: TestClient, tenant: TenantKeys, name: str, address: str) -> str:
    """The tenant's admin creates a customer: its id."""
    response = await client.post(
        f"{tenant.api}/customers", json={"name": name, "address": address}, headers=tenant.auth()
    )
    assert response.status == 201, await response.text()
    return str((await response.json())["customerId"])


async def webhook_status(client: TestClient, tenant: TenantKeys, reached: dict[str, str] | None = None) -> Any:
    """The webhook part of the tenant's integration status (None: not connected);
    with ``reached`` (``later_write``), once the read model shows every earlier write."""
    response = await client.get(f"{tenant.api}/integrations", headers={**tenant.auth(), **(reached or {})})
    assert response.status == 200, await response.text()
    return (await response.json())["webhook"]


async def later_write(client: TestClient, tenant: TenantKeys) -> dict[str, str]:
    """Write something valid now (a new customer) and return the header that
    makes a read wait until the read models have reached it.

    A test that shows something did NOT happen reads with this header: every
    earlier write, the one that must have left nothing included, has then had
    its chance to show.
    """
    response = await client.post(
        f"{tenant.api}/customers",
        json={"name": "Later Customer", "address": "1 Later Lane, Leeds LS1 1AA"},
        headers=tenant.auth(),
    )
    assert response.status == 201, await response.text()
    return {MIN_POSITION_HEADER: response.headers[POSITION_HEADER]}
