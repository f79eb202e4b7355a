"""Each projection runs in exactly one process at a time on PostgreSQL, however many are started.

Two containers on one schema stand for two server processes. Both start their
background work; one holds each projection's lease (a session advisory lock)
and keeps the read models up to date, also for writes made by the other. When
the holder stops, or its database session dies as with a crashed process, the
standby takes over and keeps the views current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import psycopg
import pytest

from application.commands import Principal
from infrastructure.leases import LocalLease, PostgresAdvisoryLease, lock_key, projection_lease
from infrastructure.read_models.orders_view import SqlOrdersView
from infrastructure.settings import Settings
from interfaces.container import Container, build_container
from tests.support.intake import receive
from tests.support.settings import POSTGRES_ON, POSTGRES_URL, make_settings, postgres_url
from tests.support.waits import wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_ON, reason="WMS_INTAKE_TEST_POSTGRES=off (local runs only)"),
]


class CountedLease:
    """Counts the times a follower's lease was asked for and refused: a
    standby's refusals show it had its chances to take over. The lease object
    itself is counted (whoever holds a reference to it asks through the count)."""

    def __init__(self, lease: Any) -> None:
        self.lease = lease
        self.refusals = 0
        ask = lease.acquire

        def acquire() -> bool:
            held = bool(ask())
            if not held:
                self.refusals += 1
            return held

        lease.acquire = acquire


def counted_leases(container: Container) -> list[CountedLease]:
    return [CountedLease(follower.lease) for follower in container.followers.values()]


def refused_again(leases: list[CountedLease], times: int) -> Callable[[], bool]:
    """True once every lease has been refused ``times`` more times from now."""
    start = [lease.refusals for lease in leases]
    return lambda: all(lease.refusals >= before + times for lease, before in zip(leases, start, strict=True))


@pytest.fixture
def shared_settings(postgres_schema: str) -> Settings:
    return make_settings(postgres_url(postgres_schema), projection_poll_interval=0.05)


@pytest.fixture
def first(shared_settings: Settings) -> Iterator[Container]:
    with closing(build_container(shared_settings)) as container:
        yield container


@pytest.fixture
def second(shared_settings: Settings) -> Iterator[Container]:
    with closing(build_container(shared_settings)) as container:
        yield container


def holders(*containers: Container) -> dict[str, list[int]]:
    """For each projection, which of ``containers`` (by index) holds its lease."""
    names = containers[0].followers
    return {name: [i for i, c in enumerate(containers) if c.followers[name].holds_lease] for name in names}


def write_order(container: Container, admin: Principal, external_id: str) -> None:
    order = {"externalOrderId": external_id, "deliveryAddress": "1 Lease Lane, Leeds LS1 1AA"}
    receive(container.use_cases, admin.tenant_id, order, f"lease-{external_id}")


def shown(container: Container, admin: Principal, external_id: str) -> bool:
    orders = container.views["orders"]
    assert isinstance(orders, SqlOrdersView)
    return orders.get_order_by_external_id(str(admin.tenant_id), external_id) is not None


def test_one_process_runs_each_projection_and_the_other_takes_over_when_it_stops(
    first: Container, second: Container
) -> None:
    first.start_background()
    wait_until(lambda: all(h == [0] for h in holders(first, second).values()))
    standby = counted_leases(second)
    second.start_background()
    # The standby keeps asking and keeps being refused: several times each.
    wait_until(refused_again(standby, 3), what="the standby asking for every lease")
    assert all(h == [0] for h in holders(first, second).values())

    # A write in the standby process shows up: the holder follows every process's events.
    created = second.use_cases.create_tenant("Lease Co")
    admin = second.use_cases.authenticate(str(created.tenant_id), created.admin_api_key)
    write_order(second, admin, "L-1")
    wait_until(lambda: shown(second, admin, "L-1"))

    first.stop_background()
    wait_until(lambda: all(h == [1] for h in holders(first, second).values()))
    write_order(second, admin, "L-2")
    wait_until(lambda: shown(second, admin, "L-2"))
    wait_until(lambda: all(follower.lag() == 0 for follower in second.followers.values()))


def test_when_the_holders_session_dies_a_standby_takes_over(first: Container, second: Container) -> None:
    first.start_background()
    wait_until(lambda: all(h == [0] for h in holders(first, second).values()))
    second.start_background()
    old_holder = counted_leases(first)
    # A crash ends the holder's database sessions: its advisory locks go with them.
    keys: set[int] = set()
    for follower in first.followers.values():
        assert isinstance(follower.lease, PostgresAdvisoryLease)
        keys.add(follower.lease.key)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        locks = conn.execute(
            "SELECT pid, classid::bigint, objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
        ).fetchall()
        pids = {pid for pid, high, low in locks if _signed((high << 32) | low) in keys}
        assert len(pids) == len(keys)
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    wait_until(lambda: all(h == [1] for h in holders(first, second).values()))
    created = first.use_cases.create_tenant("After Crash")
    admin = first.use_cases.authenticate(str(created.tenant_id), created.admin_api_key)
    write_order(first, admin, "C-1")
    wait_until(lambda: shown(first, admin, "C-1"))
    # The old holder noticed and stands by: it asks again but does not get the leases back.
    wait_until(refused_again(old_holder, 3), what="the old holder asking for every lease")
    assert all(h == [1] for h in holders(first, second).values())


def test_a_lease_is_free_again_once_released(shared_settings: Settings, postgres_schema: str) -> None:
    one = projection_lease(shared_settings, "orders")
    other = projection_lease(shared_settings, "orders")
    assert isinstance(one, PostgresAdvisoryLease) and isinstance(other, PostgresAdvisoryLease)
    try:
        assert one.acquire() and one.acquire()
        assert not other.acquire()
        # Another schema (another deployment in the same database) has its own lock.
        assert lock_key(postgres_schema, "projection:orders") != lock_key("public", "projection:orders")
        elsewhere = projection_lease(shared_settings, "deliveries")
        assert elsewhere.acquire()
        elsewhere.release()
        one.release()
        assert other.acquire()
    finally:
        one.release()
        other.release()


def _signed(key: int) -> int:
    return key - 2**64 if key >= 2**63 else key


def test_sqlite_needs_no_lease(tmp_path: object) -> None:
    lease = projection_lease(make_settings(f"sqlite:///{tmp_path}/x.sqlite3"), "orders")
    assert isinstance(lease, LocalLease) and lease.acquire()


def test_processes_starting_together_on_a_new_schema_all_start(postgres_schema: str) -> None:
    # serve and worker started at the same moment both create the tables;
    # PostgreSQL's CREATE TABLE IF NOT EXISTS races on its catalog when two
    # sessions run it together, so building takes a lock around it.
    import threading

    settings = make_settings(postgres_url(postgres_schema))
    built: list[Container] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def build() -> None:
        start.wait()
        try:
            built.append(build_container(settings))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=build) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for container in built:
        container.close()
    assert errors == [] and len(built) == 4
