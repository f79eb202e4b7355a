"""Shared fixtures: real SQLite files and real PostgreSQL schemas, real HTTP servers.

Store-parametrised tests run on both stores. PostgreSQL is required: if it
can't be reached the tests fail loudly (CI must never skip them). Locally,
``WMS_INTAKE_TEST_POSTGRES=off`` deselects the PostgreSQL variants.
"""

from __future__ import annotations

import io
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp.test_utils import TestClient

from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from interfaces.http.app import create_app
from interfaces.logging_setup import JsonFormatter

POSTGRES_URL = os.environ.get(
    "WMS_INTAKE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
POSTGRES_ON = os.environ.get("WMS_INTAKE_TEST_POSTGRES", "on").lower() not in ("off", "0", "no")
STORES = ["sqlite", "postgres"] if POSTGRES_ON else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not POSTGRES_ON:
        raise pytest.UsageError("CI runs the PostgreSQL tests: unset WMS_INTAKE_TEST_POSTGRES")


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh, empty schema in the test database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def postgres_url(schema: str) -> str:
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}schema={schema}"


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if store == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.sqlite3'}"
    schema = request.getfixturevalue("postgres_schema")
    return postgres_url(schema)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "projection_poll_interval": 0.05,
        "pull_allow_private": True,
        "worker_threads": 8,
        "db_pool_size": 4,
        "db_max_overflow": 8,
        # A fixed test key: no key file is written into the working directory.
        "secret_key": "test-only-secret-key-with-more-than-32-characters",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    built = build_container(settings)
    yield built
    built.close()


@pytest.fixture
async def client(aiohttp_client: Any, container: Container) -> TestClient:
    """A real aiohttp server on 127.0.0.1 with background projections running."""
    return await aiohttp_client(create_app(container))


@dataclass
class TenantKeys:
    tenant_id: str
    admin_key: str

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}


@pytest.fixture
def tenant(container: Container) -> TenantKeys:
    created = container.app.create_tenant("Acme Deliveries")
    return TenantKeys(str(created.tenant_id), created.admin_api_key)


@pytest.fixture
def make_tenant(container: Container) -> Callable[[str], TenantKeys]:
    def make(name: str) -> TenantKeys:
        created = container.app.create_tenant(name)
        return TenantKeys(str(created.tenant_id), created.admin_api_key)

    return make


@contextmanager
def json_logs(level: int) -> Iterator[io.StringIO]:
    """Every log line at ``level`` and above, formatted as in production (JSON lines)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


async def eventually(check: Callable[[], Any], timeout: float = 3.0) -> Any:
    """Poll an async ``check`` until it returns a truthy value (read models lag a little)."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(0.02)


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


@pytest.fixture
async def webhook(client: TestClient, tenant: TenantKeys) -> Webhook:
    """"Connect WMS" done through the API, as an admin would."""
    response = await client.post(
        f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=tenant.auth()
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    return Webhook(tenant, body["webhookUrl"], body["secret"])
