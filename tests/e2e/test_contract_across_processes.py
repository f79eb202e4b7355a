"""The webhook contract and audit suites against several machines' topology:
two ``serve --no-worker`` processes and one ``worker`` on one PostgreSQL schema,
each request going to the other process than the one before.

The cases are the suites' own (imported from their modules); only the
fixtures differ: ``client`` alternates between the two processes, and
``container`` (tenants made directly, event-store reads) is a third party
on the same database that runs no background work.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from tests.e2e import test_audit_trail, test_webhook_contract
from tests.support.processes import Process, service_env
from tests.support.settings import POSTGRES_ON, make_settings, postgres_url, scratch_schema

pytestmark = pytest.mark.skipif(not POSTGRES_ON, reason="the processes share a PostgreSQL")

#: Cases that change the service's settings from the test process: they can only
#: reach a server running in the test process, and run there in their own module.
IN_PROCESS_ONLY = {
    "test_a_body_over_the_limit_gets_413",
    "test_too_many_items_gets_413",
    "test_the_delivery_log_shows_accepted_and_rejected_batches_newest_first_with_their_errors",
}

for _module in (test_webhook_contract, test_audit_trail):
    for _name, _case in vars(_module).items():
        if _name.startswith("test_") and callable(_case) and _name not in IN_PROCESS_ONLY:
            globals()[_name] = _case


class Cluster:
    def __init__(self, container: Container, servers: list[Process], worker: Process) -> None:
        self.container = container
        self.servers = servers
        self.worker = worker


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    scratch = tmp_path_factory.mktemp("cluster")
    with scratch_schema() as schema:
        url = postgres_url(schema)
        container = build_container(make_settings(url))
        env = service_env(url, scratch)
        worker = Process(["worker"], env, scratch / "worker.log").start()
        servers = [
            Process(
                ["serve", "--processes", "1", "--no-worker", "--host", "127.0.0.1", "--port", "0"],
                env,
                scratch / f"serve-{n}.log",
            )
            for n in range(2)
        ]
        try:
            for server in servers:
                server.args[-1] = str(server.port)
                server.start()
            for server in servers:
                server.wait_ready()
            yield Cluster(container, servers, worker)
        finally:
            for process in (*servers, worker):
                process.stop()
            container.close()


class AlternatingClient:
    """The subset of aiohttp's TestClient the suites use; each request goes to the next process."""

    def __init__(self, session: aiohttp.ClientSession, bases: list[str]) -> None:
        self.session = session
        self._bases = itertools.cycle(bases)

    async def request(self, method: str, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        response = await self.session.request(method, next(self._bases) + path, **kwargs)
        await response.read()
        return response

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("DELETE", path, **kwargs)


@pytest.fixture
def container(cluster: Cluster) -> Container:
    return cluster.container


@pytest.fixture
def settings(cluster: Cluster) -> Settings:
    return cluster.container.settings


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[AlternatingClient]:
    async with aiohttp.ClientSession() as session:
        yield AlternatingClient(session, [server.base_url for server in cluster.servers])


def test_the_processes_are_separate_and_only_the_worker_follows_the_read_models(cluster: Cluster) -> None:
    pids = {server.pid for server in cluster.servers} | {cluster.worker.pid}
    assert len(pids) == 3
    for server in cluster.servers:
        assert "lease projection:" not in server.log()
    assert "lease projection:orders taken" in cluster.worker.log()
