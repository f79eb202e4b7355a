"""Shared fixtures: real SQLite files and real PostgreSQL schemas, real HTTP servers.

Store-parametrised tests run on both stores. PostgreSQL is required: if it
can't be reached the tests fail loudly (CI must never skip them). Locally,
``WMS_INTAKE_TEST_POSTGRES=off`` deselects the PostgreSQL variants.

The service's settings: ``make_settings`` defaults, changed for a module, class
or test by the ``settings`` marker, e.g. ``pytestmark = pytest.mark.settings(geocoder="none")``.
The helpers the fixtures use are in ``tests.support``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from interfaces.http.app import create_app
from tests.support.http import TenantKeys, Webhook
from tests.support.settings import POSTGRES_ON, STORES, make_settings, postgres_url, scratch_schema


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**overrides): the service's settings for these tests")
    if os.environ.get("CI") and not POSTGRES_ON:
        raise pytest.UsageError("CI runs the PostgreSQL tests: unset WMS_INTAKE_TEST_POSTGRES")


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh, empty schema in the test database, dropped afterwards."""
    with scratch_schema() as schema:
        yield schema


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if store == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.sqlite3'}"
    schema = request.getfixturevalue("postgres_schema")
    return postgres_url(schema)


def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The ``settings`` markers' values: the test's own win over its class's and module's."""
    overrides: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("settings"))):
        overrides.update(marker.kwargs)
    return overrides


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    return make_settings(database_url, **settings_overrides(request))


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    built = build_container(settings)
    yield built
    built.close()


@pytest.fixture
async def client(aiohttp_client: Any, container: Container) -> TestClient:
    """A real aiohttp server on 127.0.0.1 with background projections running."""
    return await aiohttp_client(create_app(container))


@pytest.fixture
def tenant(container: Container) -> TenantKeys:
    created = container.use_cases.create_tenant("Acme Deliveries")
    return TenantKeys(str(created.tenant_id), created.admin_api_key)


@pytest.fixture
def make_tenant(container: Container) -> Callable[[str], TenantKeys]:
    def make(name: str) -> TenantKeys:
        created = container.use_cases.create_tenant(name)
        return TenantKeys(str(created.tenant_id), created.admin_api_key)

    return make


@pytest.fixture
async def webhook(client: TestClient, tenant: TenantKeys) -> Webhook:
    """ "Connect WMS" done through the API, as an admin would."""
    response = await client.post(f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=tenant.auth())
    assert response.status == 201, await response.text()
    body = await response.json()
    return Webhook(tenant, body["webhookUrl"], body["secret"])
