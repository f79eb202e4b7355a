"""Edges of real HTTP traffic: bodies in pieces, odd digits, double clicks."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from tests.support.http import TenantKeys


async def test_a_json_body_that_arrives_in_pieces_is_read_whole(client: TestClient, tenant: TenantKeys) -> None:
    # A real network delivers a body in segments; the API must wait for all of them.
    body = orjson.dumps(
        {"name": "Acme", "address": "1 Long Road " + "x" * 900 + ", Leeds LS1 1AA", "contact": "y" * 400}
    )
    head = (
        f"POST /api/tenants/{tenant.tenant_id}/customers HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {tenant.admin_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    assert client.server is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(head + body[:700])
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.write(body[700:])
    await writer.drain()
    status_line = await reader.readline()
    answer = await reader.read()
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 201"), (status_line, answer[-300:])


async def test_digits_other_than_ascii_in_numbers_of_the_query_get_400(client: TestClient, tenant: TenantKeys) -> None:
    for query in ("limit=%C2%B2", "limit=%D9%A3"):
        r = await client.get(f"/api/tenants/{tenant.tenant_id}/orders?{query}", headers=tenant.auth())
        assert r.status == 400, query
    r = await client.get(
        f"/api/tenants/{tenant.tenant_id}/orders/00000000-0000-0000-0000-000000000000?asOfVersion=%C2%B2",
        headers=tenant.auth(),
    )
    assert r.status == 400


async def test_connect_wms_clicked_many_times_at_once_connects_once_and_never_fails_with_500(
    client: TestClient, tenant: TenantKeys
) -> None:
    async def connect() -> tuple[int, Any]:
        r = await client.post(f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=tenant.auth())
        return r.status, await r.json()

    answers = await asyncio.gather(*(connect() for _ in range(8)))
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(201) == 1
    assert set(statuses) <= {201, 409}
