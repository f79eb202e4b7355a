"""A read model whose shape changed upgrades itself on restart, with no manual step.

Version 1 of the orders read model is filled, then the service restarts with
a version 2 of it (a new column and a new index). While the new tables are
built beside the old ones, reads keep getting the old tables, consistent as
they were; after the swap they get the new shape, with every event (also
those stored during the build), identical to a rebuild from zero. A third
version on top checks that names never collide from one upgrade to the next,
and is run by the background followers (on PostgreSQL: two processes, one of
which builds).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from application.commands import Principal
from application.read_models import OrderFilter
from infrastructure.read_models.orders_view import SqlOrdersView
from infrastructure.read_models.upgrade import stored_version
from infrastructure.settings import Settings
from interfaces import container as container_module
from interfaces.container import Container, build_container
from interfaces.http.presenters.orders import present_order
from tests.support.intake import receive
from tests.support.waits import wait_until


class OrdersViewV2(SqlOrdersView):
    version = SqlOrdersView.version + 1

    def ddl(self) -> list[str]:
        statements = super().ddl()
        assert statements[1].endswith(")")  # the orders table: one column more
        statements[1] = statements[1][:-1] + ", priority TEXT DEFAULT 'normal')"
        return [
            *statements,
            f"CREATE INDEX IF NOT EXISTS rm_orders_by_customer ON {self.db.table('rm_orders')} (tenant_id, customer_id)",
        ]


class OrdersViewV3(OrdersViewV2):
    version = OrdersViewV2.version + 1

    def ddl(self) -> list[str]:
        return [
            *super().ddl(),
            f"CREATE INDEX IF NOT EXISTS rm_customers_by_name ON {self.db.table('rm_customers')} (tenant_id, name)",
        ]


# Small batches: the build takes several steps, with reads in between.
pytestmark = pytest.mark.settings(projection_batch_size=5)


@pytest.fixture
def restart(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    opened: list[Container] = []

    def start(view: type[SqlOrdersView]) -> Container:
        monkeypatch.setattr(container_module, "SqlOrdersView", view)
        built = build_container(settings)
        opened.append(built)
        return built

    yield start
    for built in opened:
        built.close()


def ingest(container: Container, tenant: Any, first: int, count: int) -> None:
    orders = [
        {
            "externalOrderId": f"U-{i:04d}",
            "deliveryAddress": f"{i} High Street, London SW1A 1AA",
            "plannedDate": "2025-02-22",
            "palletCount": i % 7,
        }
        for i in range(first, first + count)
    ]
    receive(container.use_cases, tenant, orders, f"r-{first}")


def planned(container: Container, admin: Principal) -> list[dict[str, Any]]:
    return [present_order(o) for o in container.queries.orders_page(admin, OrderFilter("2025-02-22"), 1000, None).items]


def columns(container: Container) -> set[str]:
    return set(container.db.query(f"SELECT * FROM {container.db.table('rm_orders')} LIMIT 1")[0])


def indexes(container: Container) -> set[str]:
    if container.db.dialect == "postgres":
        rows = container.db.query(
            "SELECT indexname AS name FROM pg_indexes WHERE schemaname = %s", (container.db.schema,)
        )
    else:
        rows = container.db.query("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {r["name"] for r in rows}


def test_a_changed_read_model_is_rebuilt_beside_the_old_one_and_swapped_in_on_restart(restart: Any) -> None:
    v1 = restart(SqlOrdersView)
    created = v1.use_cases.create_tenant("Acme")
    tenant = created.tenant_id
    admin = v1.use_cases.authenticate(str(tenant), created.admin_api_key)
    ingest(v1, tenant, 0, 20)
    v1.catch_up()
    before = planned(v1, admin)
    assert len(before) == 20 and "priority" not in columns(v1)
    v1.close()

    v2 = restart(OrdersViewV2)
    assert stored_version(v2.views["orders"]) == SqlOrdersView.version
    # The old tables are untouched at start: same shape, same rows.
    assert "priority" not in columns(v2) and planned(v2, admin) == before
    ingest(v2, tenant, 20, 10)  # written during the upgrade: must be in the new tables
    upgrade = v2.followers["orders"].upgrade
    assert upgrade is not None and upgrade.pending()
    steps = 0
    while upgrade.step():
        steps += 1
        # Reads during the build: the old shape, exactly as before (no half-built rows).
        assert "priority" not in columns(v2)
        assert planned(v2, admin) == before
    assert steps > 2
    assert not upgrade.pending() and stored_version(v2.views["orders"]) == OrdersViewV2.version
    v2.catch_up()
    after = planned(v2, admin)
    assert "priority" in columns(v2) and "rm_orders_by_customer" in indexes(v2)
    assert len(after) == 30 and after[:20] == before
    assert [o["externalOrderId"] for o in after] == [f"U-{i:04d}" for i in range(30)]
    assert not any("__next" in name for name in indexes(v2))
    swapped = v2.views["orders"].dump()
    v2.rebuild("orders")
    assert v2.views["orders"].dump() == swapped, "the swapped tables equal a rebuild from zero"
    assert v2.views["orders"].position() == v2.use_cases.recorder.max_notification_id()
    v2.close()

    # Version 3, by the background followers: names never collide with the last upgrade's.
    third = [restart(OrdersViewV3) for _ in range(2 if v2.settings.is_postgres else 1)]
    ingest(third[0], tenant, 30, 5)
    for built in third:
        built.start_background()
    wait_until(
        lambda: (
            stored_version(third[0].views["orders"]) == OrdersViewV3.version and third[0].followers["orders"].lag() == 0
        ),
        what="the background upgrade finished",
    )
    assert {"rm_orders_by_customer", "rm_customers_by_name"} <= indexes(third[0])
    assert not any("__next" in name for name in indexes(third[0]))
    assert len(planned(third[0], admin)) == 35
    assert all(f.failures == 0 for built in third for f in built.followers.values())


def test_an_older_release_leaves_a_newer_read_model_alone_and_rebuild_recreates_its_own(restart: Any) -> None:
    v2 = restart(OrdersViewV2)
    v2.catch_up()
    v2.close()
    v1 = restart(SqlOrdersView)
    follower = v1.followers["orders"]
    assert follower.upgrade is not None and follower.upgrade.newer_in_store()
    v1.start_background()
    wait_until(lambda: follower.retired, what="the older release's follower retired")
    assert stored_version(v1.views["orders"]) == OrdersViewV2.version
    # Really going back: a rebuild makes the tables in this release's shape.
    v1.stop_background()
    v1.rebuild("orders")
    assert stored_version(v1.views["orders"]) == SqlOrdersView.version
    created = v1.use_cases.create_tenant("Acme")
    admin = v1.use_cases.authenticate(str(created.tenant_id), created.admin_api_key)
    ingest(v1, created.tenant_id, 0, 3)
    v1.catch_up()
    assert len(planned(v1, admin)) == 3 and "priority" not in columns(v1)
