"""A process starting on a PostgreSQL schema whose read models another process is following.

``serve --processes N`` starts its HTTP processes while the worker already
follows the read models. Starting makes sure each read model's tables and
tracking row exist; a follower's transaction moves the tracking row first, then
writes the read model's tables. If the start locked a read model's table (an
existing index's ``CREATE INDEX IF NOT EXISTS`` takes a SHARE lock) and then
waited for that tracking row, each would wait for the other: PostgreSQL would
abort one of them as a deadlock.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from interfaces.container import build_container
from tests.support.settings import POSTGRES_ON, POSTGRES_URL, make_settings, postgres_url
from tests.support.waits import wait_until

pytestmark = pytest.mark.skipif(not POSTGRES_ON, reason="PostgreSQL's locks")


def waiting_on_tracking(admin: psycopg.Connection[Any], schema: str) -> bool:
    rows = admin.execute(
        "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position(%s in query) > 0",
        (f'"{schema}"."projection_tracking"',),
    ).fetchall()
    return bool(rows)


def test_a_process_starts_while_a_follower_holds_its_tracking_row_without_deadlock(postgres_schema: str) -> None:
    settings = make_settings(postgres_url(postgres_schema))
    build_container(settings).close()  # the tables exist, as when the worker has started
    table = f'"{postgres_schema}"'
    outcome: dict[str, Any] = {}

    def start() -> None:
        try:
            build_container(settings).close()
            outcome["started"] = True
        except Exception as error:
            outcome["error"] = error

    with psycopg.connect(POSTGRES_URL) as follower, psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        follower.execute("SET lock_timeout = '20s'")
        # A follower's transaction: the tracking row first ...
        follower.execute(f"UPDATE {table}.projection_tracking SET position = position WHERE name = 'orders'")
        starting = threading.Thread(target=start)
        starting.start()

        def reached_the_tracking_row() -> bool:
            assert starting.is_alive(), outcome
            return waiting_on_tracking(admin, postgres_schema)

        wait_until(reached_the_tracking_row, what="the start reaching the tracking row")
        # ... then the read model's table: it must not wait on the starting process.
        follower.execute(f"LOCK TABLE {table}.rm_orders IN ROW EXCLUSIVE MODE")
        follower.commit()
        starting.join(60)
    assert outcome == {"started": True}
