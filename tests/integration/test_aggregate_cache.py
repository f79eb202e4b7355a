"""Orders kept as last stored are only a shortcut: what a batch sees is still the store's truth.

Two containers on one store stand for two server processes, each with its
own cache. Orders are checked against a fresh replay of their events, read by
a third application that has never cached anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.errors import ServiceUnavailableError
from domain.customer import Customer
from domain.ids import order_id
from domain.order import Order
from domain.source import Source
from infrastructure.event_store.aggregate_cache import AggregateCache
from interfaces.container import Container, build_container
from tests.support.intake import receive
from tests.support.settings import make_settings


@pytest.fixture
def two_processes(database_url: str) -> Iterator[tuple[Container, Container, UUID]]:
    first = build_container(make_settings(database_url))
    second = build_container(make_settings(database_url))
    tenant = first.use_cases.create_tenant("Acme").tenant_id
    yield first, second, tenant
    second.close()
    first.close()


def send(container: Container, tenant: UUID, *items: dict[str, Any]) -> None:
    receive(container.use_cases, tenant, list(items), uuid4().hex)


def stored_details(container: Container, tenant: UUID, external_id: str) -> tuple[int, dict[str, Any]]:
    """The order replayed from all its events, bypassing every cache."""
    oid = order_id(tenant, external_id)
    order: Any = None
    for stored in container.store.bulk_reader.select_events_of([oid])[oid]:
        order = container.use_cases.mapper.to_domain_event(stored).mutate(order)
    return order.version, order.details


ADDRESS = "10 High Street, London SW1A 1AA"


def test_a_change_made_by_another_process_is_built_on_not_lost(
    two_processes: tuple[Container, Container, UUID],
) -> None:
    first, second, tenant = two_processes
    send(first, tenant, {"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 1})
    assert first.store.aggregate_cache.versions([order_id(tenant, "A")]) == {order_id(tenant, "A"): 1}
    send(second, tenant, {"externalOrderId": "A", "deliveryAddress": ADDRESS, "palletCount": 3})
    send(first, tenant, {"externalOrderId": "A", "deliveryAddress": ADDRESS, "volume": 2})

    version, details = stored_details(first, tenant, "A")
    assert version == 3
    assert (details["total_weight"], details["pallet_count"], details["volume"]) == (1, 3, 2)
    # What the first process now keeps is exactly the stored order.
    cached = first.store.aggregate_cache.restore_many([order_id(tenant, "A")])[order_id(tenant, "A")]
    assert isinstance(cached, Order) and cached.version == 3 and cached.details == details


def test_a_batch_that_failed_to_commit_leaves_no_trace_in_what_is_kept(
    two_processes: tuple[Container, Container, UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _, tenant = two_processes
    send(first, tenant, {"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 1})

    def database_down(*_: Any, **__: Any) -> None:
        raise ServiceUnavailableError("the database is unavailable; retry shortly")

    monkeypatch.setattr(first.store.committer, "commit", database_down)
    with pytest.raises(ServiceUnavailableError):
        send(first, tenant, {"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 2})
    monkeypatch.undo()

    send(first, tenant, {"externalOrderId": "A", "deliveryAddress": ADDRESS, "palletCount": 3})
    version, details = stored_details(first, tenant, "A")
    assert version == 2
    assert (details["total_weight"], details["pallet_count"]) == (1, 3)


def test_an_order_changed_after_restoring_does_not_change_what_is_kept() -> None:
    cache = AggregateCache(max_items=10)
    order = Order.place(uuid4(), "A", {"total_weight": 1}, Source(channel="webhook"))
    order.collect_events()
    cache.keep([order])
    copy = cache.restore_many([order.id])[order.id]
    assert isinstance(copy, Order)
    copy.revise({"total_weight": 5}, Source(channel="webhook"))
    again = cache.restore_many([order.id])[order.id]
    assert isinstance(again, Order) and again.details["total_weight"] == 1
    # An aggregate with events not yet stored is never kept.
    cache.keep([copy])
    assert cache.versions([order.id]) == {order.id: 1}


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    cache = AggregateCache(max_items=3)
    customers = []
    for n in range(4):
        customer = Customer.register(uuid4(), f"{n} High Street", Source(channel="webhook"))
        customer.collect_events()
        customers.append(customer)
    cache.keep(customers[:3])
    assert customers[0].id in cache.restore_many([customers[0].id])  # now the most recently used
    cache.keep(customers[3:])
    assert set(cache.versions(c.id for c in customers)) == {customers[0].id, customers[2].id, customers[3].id}
