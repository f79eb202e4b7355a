"""Where the test databases are, and the service's settings under test.

Store-parametrised tests run on both stores. ``WMS_INTAKE_TEST_POSTGRES=off``
deselects the PostgreSQL variants locally (CI refuses to run that way).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from infrastructure.settings import Settings

POSTGRES_URL = os.environ.get("WMS_INTAKE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
POSTGRES_ON = os.environ.get("WMS_INTAKE_TEST_POSTGRES", "on").lower() not in ("off", "0", "no")
STORES = ["sqlite", "postgres"] if POSTGRES_ON else ["sqlite"]

#: A fixed test key: no key file is written into the working directory.
SECRET_KEY = "test-only-secret-key-with-more-than-32-characters"


def postgres_url(schema: str) -> str:
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}schema={schema}"


@contextmanager
def scratch_schema() -> Iterator[str]:
    """A fresh, empty schema in the test database, dropped afterwards (tables and all)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "projection_poll_interval": 0.05,
        "pull_allow_private": True,
        "worker_threads": 8,
        # A pool opens its base size at once and the overflow only under load:
        # several test runs share one PostgreSQL, and its connection limit.
        "db_pool_size": 2,
        "db_max_overflow": 8,
        "secret_key": SECRET_KEY,
    }
    values.update(overrides)
    return Settings(**values)
