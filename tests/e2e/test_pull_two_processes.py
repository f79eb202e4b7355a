"""Two real ``wms-intake serve`` processes on one PostgreSQL: one sync per endpoint between them.

The fake WMS runs in the test; the services reach it over TCP on 127.0.0.1,
as they would a real WMS.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from bench.loadgen import ServerProcess
from interfaces.container import build_container
from tests.support.fake_wms import FakeWms, Reply
from tests.support.processes import servers_running
from tests.support.settings import POSTGRES_ON, make_settings, postgres_url
from tests.support.waits import eventually

pytestmark = pytest.mark.skipif(not POSTGRES_ON, reason="two processes share a PostgreSQL")

SECRET_KEY = "test-only-pull-secret-key-4f9c2a7e1b3d5f60a8c9e7d1"
ORDERS = [{"externalOrderId": "TWO-1", "deliveryAddress": "10 High Street, London SW1A 1AA", "totalWeight": 1.5}]


@pytest.fixture
def database(postgres_schema: str) -> str:
    return postgres_url(postgres_schema)


@pytest.fixture
def servers(database: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    # Tables are created once before the processes start (as a deployment's first start would).
    build_container(make_settings(database, secret_key=SECRET_KEY)).close()
    env = {
        "WMS_INTAKE_SECRET_KEY": SECRET_KEY,
        "WMS_INTAKE_PULL_ALLOW_PRIVATE": "true",
        "WMS_INTAKE_GEOCODER": "none",
        "WMS_INTAKE_PULL_TIMEOUT_SECONDS": "20",
    }
    with servers_running(2, database, tmp_path, env) as started:
        yield started


@pytest.fixture
async def wms() -> AsyncIterator[FakeWms]:
    async with FakeWms() as fake:
        yield fake


async def call(session: aiohttp.ClientSession, method: str, url: str, key: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, url, json=body, headers={"Authorization": f"Bearer {key}"}) as response:
        return response.status, await response.json()


async def test_sync_now_in_one_process_while_the_other_syncs_the_endpoint_gets_409_and_the_wms_is_called_once(
    database: str, servers: list[ServerProcess], wms: FakeWms
) -> None:
    admin = build_container(make_settings(database, secret_key=SECRET_KEY))
    try:
        created = admin.use_cases.create_tenant("Two Processes Ltd")
    finally:
        admin.close()
    key = created.admin_api_key
    paths = [f"{s.base_url}/api/tenants/{created.tenant_id}/integrations/wms/pull-endpoints" for s in servers]
    wms.serve_in_turn("/orders", [Reply(body=orjson.dumps(ORDERS), stall=True)])

    async with aiohttp.ClientSession() as session:
        status, added = await call(session, "POST", paths[0], key, {"url": wms.url("/orders"), "method": "GET"})
        assert status == 201, added
        first = asyncio.create_task(call(session, "POST", f"{paths[0]}/{added['id']}/sync", key))

        async def pulled_once() -> bool:
            return len(wms.requests_to("/orders")) == 1

        await eventually(pulled_once, within=10.0)
        second = await asyncio.wait_for(call(session, "POST", f"{paths[1]}/{added['id']}/sync", key), 10.0)
        wms.release()
        done = await asyncio.wait_for(first, 20.0)
        again = await call(session, "POST", f"{paths[1]}/{added['id']}/sync", key)

    assert second[0] == 409 and second[1]["syncId"], second
    assert done[0] == 200 and done[1]["processed"] == 1, done
    assert len(wms.requests_to("/orders")) == 2  # the refused press never reached the WMS; the later one did
    assert again[0] == 200, again
