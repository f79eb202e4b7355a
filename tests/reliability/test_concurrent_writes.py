"""Concurrent batches on the same orders: the last one to commit decides, always.

These interleavings are forced step by step (no sleeps): one batch loads the
orders, another batch commits in between, then the first one saves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from application.commands import IngestResult
from application.write_positions import written_position
from domain.ids import order_id
from interfaces.container import Container
from interfaces.http.presenters.orders import present_order
from tests.reliability.conftest import count_topic, last_position
from tests.support.http import TenantKeys
from tests.support.intake import receive

#: Where an order goes when the test races on its other fields.
ADDRESS = "10 High Street, London SW1A 1AA"


def send(
    container: Container, tenant: TenantKeys, request_id: str, external_id: str, address: str = ADDRESS, **fields: Any
) -> IngestResult:
    """A batch of one order, received as the webhook receives it."""
    items = [{"externalOrderId": external_id, "deliveryAddress": address, **fields}]
    return receive(container.use_cases, tenant.tenant_id, items, request_id)


def one_order_writer(
    container: Container, tenant: TenantKeys, request_id: str, external_id: str, **fields: Any
) -> threading.Thread:
    """A thread (not started) that sends a batch of one order, as another request would."""
    return threading.Thread(target=send, args=(container, tenant, request_id, external_id), kwargs=fields)


def order(container: Container, tenant: TenantKeys, external_id: str) -> dict[str, Any]:
    container.catch_up()
    found = container.views["orders"].get_order_by_external_id(tenant.tenant_id, external_id)
    assert found is not None
    return present_order(found)


def interleave(container: Container, meanwhile: Callable[[], object]) -> None:
    """Run ``meanwhile`` right after the next batch has loaded its orders (once)."""
    store = container.store
    original = store.load_many
    pending = [meanwhile]

    def load_then_let_another_batch_commit(ids: Any) -> Any:
        loaded = original(ids)
        if pending:
            pending.pop()()
        return loaded

    store.load_many = load_then_let_another_batch_commit  # type: ignore[method-assign]  # the test swaps in a loader that lets another batch commit first


def test_a_batch_that_finds_nothing_to_change_on_stale_state_is_not_lost(
    container: Container, tenant: TenantKeys
) -> None:
    send(container, tenant, "first", "A-1", palletCount=10)

    # Batch "late" loads A-1 (10 pallets) and finds its own value, 10, unchanged;
    # meanwhile batch "between" sets 2 pallets and commits first. "late" commits
    # last, so the order must end with the late batch's 10 pallets.
    interleave(container, lambda: send(container, tenant, "between", "A-1", palletCount=2))
    send(container, tenant, "late", "A-1", palletCount=10)

    assert order(container, tenant, "A-1")["palletCount"] == 10
    assert count_topic(container, "wms-intake:OrderUpdated") == 2


def test_two_batches_changing_the_same_order_both_apply_in_commit_order(
    container: Container, tenant: TenantKeys
) -> None:
    send(container, tenant, "first", "B-1", volume=1.0)

    interleave(container, lambda: send(container, tenant, "between", "B-1", totalWeight=5.0))
    result: IngestResult = send(container, tenant, "late", "B-1", volume=2.0)

    assert [o.created for o in result.orders] == [False]
    shown = order(container, tenant, "B-1")
    assert (shown["volume"], shown["totalWeight"]) == (2.0, 5.0)


def test_two_creators_of_one_order_make_one_order_and_one_of_them_reports_created(
    container: Container, tenant: TenantKeys
) -> None:
    results: list[IngestResult] = []
    interleave(container, lambda: results.append(send(container, tenant, "a", "C-1", volume=1.0)))
    results.append(send(container, tenant, "b", "C-1", volume=3.0))

    assert [r.orders[0].created for r in results] == [True, False]
    assert count_topic(container, "wms-intake:OrderCreated") == 1
    assert order(container, tenant, "C-1")["volume"] == 3.0


@pytest.mark.parametrize("repeat", [1, 2])
def test_an_unchanged_order_and_a_changed_one_in_one_batch_stay_consistent(
    container: Container, tenant: TenantKeys, repeat: int
) -> None:
    app = container.use_cases
    address = "5 Church Street, York YO1 7HH"
    first = [
        {"externalOrderId": "D-1", "deliveryAddress": address, "palletCount": 1},
        {"externalOrderId": "D-2", "deliveryAddress": address, "palletCount": 1},
    ]
    receive(app, tenant.tenant_id, first, "first")
    for round_ in range(repeat):
        interleave(container, lambda: send(container, tenant, f"m{round_}", "D-1", address, palletCount=7))
        # D-1 unchanged (1) as loaded, D-2 changed: both must hold after commit.
        late = [
            {"externalOrderId": "D-1", "deliveryAddress": address, "palletCount": 1},
            {"externalOrderId": "D-2", "deliveryAddress": address, "palletCount": 5 + round_},
        ]
        receive(app, tenant.tenant_id, late, f"late{round_}")
    assert order(container, tenant, "D-1")["palletCount"] == 1
    assert order(container, tenant, "D-2")["palletCount"] == 5 + repeat - 1


def test_a_batch_whose_commit_acknowledgement_was_lost_is_reported_as_the_success_it_was(
    container: Container, tenant: TenantKeys
) -> None:
    # The connection dies after COMMIT reached the server but before its reply
    # came back: the driver retries the insert on a fresh connection, which
    # now conflicts with the rows it already committed. The batch is stored:
    # the caller must get the success, never a 5xx that says "nothing stored".
    app = container.use_cases
    recorder = app.recorder
    insert = recorder.insert_events
    lost = [True]

    def commit_then_lose_the_reply(stored_events: Any, **kwargs: Any) -> Any:
        result = insert(stored_events, **kwargs)
        if lost:
            lost.pop()
            return insert(stored_events, **kwargs)  # the driver's retry: raises IntegrityError
        return result

    recorder.insert_events = commit_then_lose_the_reply
    address = "7 Station Street, Bristol BS1 5TR"
    send(container, tenant, "before", "E-0", address)
    lost.append(True)
    with written_position() as written:
        items = [
            {"externalOrderId": "E-0", "deliveryAddress": address, "volume": 4.0},
            {"externalOrderId": "E-1", "deliveryAddress": address},
            {"externalOrderId": "E-1", "deliveryAddress": address, "volume": 1.0},
        ]
        result = receive(app, tenant.tenant_id, items, "lost-reply")

    assert [o.created for o in result.orders] == [False, True, False]
    # The answer names the position of the batch it found stored (for read-your-writes).
    assert written.position == last_position(container)
    assert count_topic(container, "wms-intake:DeliveryAccepted") == 2
    assert count_topic(container, "wms-intake:OrderCreated") == 2
    assert order(container, tenant, "E-1")["volume"] == 1.0


def test_a_batch_that_keeps_losing_races_on_a_hot_order_still_succeeds(
    container: Container, tenant: TenantKeys
) -> None:
    # Every time our batch has loaded the order, another writer (another
    # thread, as another request would) changes it. Optimistic retries alone
    # would lose every race and end in a 503; after a few, our batch takes the
    # writer's turn, and the writer that comes then has to wait for us.
    send(container, tenant, "first", "F-1", palletCount=0)
    ours = threading.current_thread()
    writers: list[threading.Thread] = []
    original = container.store.load_many

    def load_then_let_another_writer_in(ids: Any) -> Any:
        loaded = original(ids)
        if threading.current_thread() is ours and len(writers) < 20:
            n = len(writers)
            writer = one_order_writer(container, tenant, f"w{n}", "F-1", palletCount=100 + n)
            writers.append(writer)
            writer.start()
            writer.join(2)  # it commits at once, unless our batch holds the writer's turn
        return loaded

    container.store.load_many = load_then_let_another_writer_in  # type: ignore[method-assign]  # the test swaps in a loader that lets another writer in
    result = send(container, tenant, "ours", "F-1", palletCount=1)
    for writer in writers:
        writer.join(30)

    assert [o.created for o in result.orders] == [False]
    history = list(container.use_cases.events.get(result.orders[0].order_id))
    requests = [event.source["requestId"] for event in history[1:]]
    assert "ours" in requests and len(requests) == len(writers) + 1
    # Whoever committed last decides.
    assert order(container, tenant, "F-1")["palletCount"] == history[-1].changes["pallet_count"]


def test_a_stale_unchanged_order_is_caught_inside_one_group_commit_too(
    container: Container, tenant: TenantKeys
) -> None:
    # Two requests read G-1 at the same version and are committed together in
    # one transaction (group commit): the first changes it, the second found
    # its own values unchanged. The second comes later in commit order, so its
    # values must be the ones left.
    send(container, tenant, "first", "G-1", palletCount=10)
    release = threading.Event()
    holding = threading.Event()

    def hold_the_writer(_: Any) -> None:
        holding.set()
        release.wait(30)

    holder = threading.Thread(target=container.store.committer.exclusively, args=(hold_the_writer,))
    holder.start()
    assert holding.wait(30)
    writers = []
    for n, pallets in enumerate((2, 10)):
        writer = one_order_writer(container, tenant, f"group-{n}", "G-1", palletCount=pallets)
        writer.start()
        writers.append(writer)
        # Queued in this order, behind the held writer: one group when released.
        deadline = time.monotonic() + 30
        while len(container.store.committer._queue) < n + 1 and time.monotonic() < deadline:
            time.sleep(0.005)
    release.set()
    for thread in (holder, *writers):
        thread.join(30)

    history = list(container.use_cases.events.get(order_id(UUID(tenant.tenant_id), "G-1")))
    assert [event.source["requestId"] for event in history] == ["first", "group-0", "group-1"]
    assert order(container, tenant, "G-1")["palletCount"] == 10
