"""IntakeApplication and its read models on a real store: SQLite and PostgreSQL.

Batches go in through the application (no HTTP), the read side is brought up
to date with ``container.catch_up()``, and what was stored is checked in the
event store itself (notifications by topic) as well as in the read models.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any
from uuid import UUID

import orjson
import pytest

from application.commands import IngestOrders, IngestResult, Principal, ReceiveBatch
from application.errors import PayloadRejectedError
from application.intake_app import IntakeApplication
from application.order_lines import OrderLine
from application.read_models import OrderFilter
from application.timestamps import iso
from domain.ids import order_id
from interfaces.container import Container
from interfaces.http.presenters.customers import present_customer
from interfaces.http.presenters.deliveries import present_deliveries_page
from interfaces.http.presenters.integrations import present_integration_status
from interfaces.http.presenters.orders import present_order
from tests.support.http import TenantKeys

START = datetime(2025, 2, 20, 8, 0, tzinfo=UTC)
ADDRESS = "10 High Street, London SW1A 1AA"
ORDER_CREATED = "wms-intake:OrderCreated"
ORDER_UPDATED = "wms-intake:OrderUpdated"
CUSTOMER_CREATED = "wms-intake:CustomerCreated"
DELIVERY_ACCEPTED = "wms-intake:DeliveryAccepted"
DELIVERY_REJECTED = "wms-intake:DeliveryRejected"


def topic_counts(app: IntakeApplication) -> Counter[str]:
    """How many events of each topic the event store holds (read from the notification log)."""
    counts: Counter[str] = Counter()
    start = 1
    while True:
        batch = app.recorder.select_notifications(start=start, limit=1000)
        if not batch:
            return counts
        counts.update(n.topic for n in batch)
        start = batch[-1].id + 1


def new_events(before: Counter[str], after: Counter[str]) -> dict[str, int]:
    return {topic: n for topic, n in (after - before).items() if n}


@dataclass
class Wms:
    """A tenant's WMS talking to the application directly, with a clock we control."""

    container: Container
    tenant: TenantKeys
    principal: Principal
    _minutes: count = field(default_factory=lambda: count(1))  # type: ignore[type-arg]  # itertools.count is generic only to mypy

    @property
    def app(self) -> IntakeApplication:
        return self.container.use_cases

    @property
    def tenant_id(self) -> UUID:
        return UUID(self.tenant.tenant_id)

    def next_moment(self) -> datetime:
        return START + timedelta(minutes=next(self._minutes))

    def command(self, payload: Any, received_at: datetime | None = None) -> ReceiveBatch:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        return ReceiveBatch(
            tenant_id=self.tenant_id,
            body=body,
            body_size=len(body),
            channel="webhook",
            request_id=f"request-{next(self._minutes)}",
            received_at=received_at or self.next_moment(),
            max_items=self.container.settings.max_batch_items,
            max_body_bytes=self.container.settings.max_body_bytes,
        )

    def send(self, payload: Any, received_at: datetime | None = None) -> IngestResult:
        return self.app.receive_batch(self.command(payload, received_at))

    def refused(self, payload: Any) -> PayloadRejectedError:
        with pytest.raises(PayloadRejectedError) as caught:
            self.send(payload)
        return caught.value

    def order(self, external_id: str) -> dict[str, Any]:
        self.container.catch_up()
        return present_order(self.container.queries.order_by_external_id(self.principal, external_id))

    def last_received_at(self) -> str | None:
        self.container.catch_up()
        status = present_integration_status(
            self.container.queries.integration_status(self.principal, "http://127.0.0.1/hook")
        )
        return status["webhook"]["lastReceivedAt"]  # type: ignore[no-any-return]  # the presented body is untyped JSON

    def stored_order_events(self, external_id: str) -> list[Any]:
        return list(self.app.events.get(order_id(self.tenant_id, external_id)))  # type: ignore[attr-defined]  # the store is typed by its port


def connect(container: Container, tenant: TenantKeys) -> Wms:
    principal = container.use_cases.authenticate(tenant.tenant_id, tenant.admin_key)
    container.use_cases.connect_webhook(principal)
    return Wms(container, tenant, principal)


@pytest.fixture
def wms(container: Container, tenant: TenantKeys) -> Wms:
    return connect(container, tenant)


def read_side(container: Container) -> dict[str, Any]:
    """Every row of the read models a batch may touch, after catching up."""
    container.catch_up()
    return {name: container.views[name].dump() for name in ("orders", "integrations")}


# ---------------------------------------------------------------- atomicity


@pytest.mark.parametrize(
    ("bad_last_item", "status", "error"),
    [
        ({"externalOrderId": "BAD", "deliveryAddress": ADDRESS, "totalWeight": -1}, 400, "Validation failed"),
        ({"externalOrderId": "BAD"}, 400, "Validation failed"),
        (
            {"externalOrderId": "BAD", "deliveryAddress": ADDRESS, "plannedDate": "2025-02-30"},
            422,
            "Invalid plannedDate",
        ),
        ({"externalOrderId": "BAD", "customerId": "9f1d3c52-0d1b-4b47-b0ba-5d1c6a1e2f3a"}, 400, "Customer not found"),
    ],
    ids=["negative-weight", "no-customer", "planned-date", "customer-not-found"],
)
def test_a_batch_whose_last_item_is_invalid_stores_nothing_and_keeps_last_received_at(
    wms: Wms, bad_last_item: dict[str, Any], status: int, error: str
) -> None:
    wms.send({"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 1})
    received_before = wms.last_received_at()
    events_before = topic_counts(wms.app)
    rows_before = read_side(wms.container)

    refused = wms.refused(
        [
            {"externalOrderId": "NEW", "deliveryAddress": "1 Other Road, Leeds LS1 1AA"},
            {"externalOrderId": "A", "totalWeight": 2, "customerId": None, "deliveryAddress": ADDRESS},
            bad_last_item,
        ]
    )

    assert (refused.status, refused.body["error"]) == (status, error)
    # The event store holds only the rejection record: no order, no customer.
    assert new_events(events_before, topic_counts(wms.app)) == {DELIVERY_REJECTED: 1}
    assert wms.stored_order_events("NEW") == []
    assert len(wms.stored_order_events("A")) == 1
    # The read models did not change, and lastReceivedAt did not move.
    assert read_side(wms.container) == rows_before
    assert wms.last_received_at() == received_before
    deliveries = present_deliveries_page(wms.container.queries.deliveries_page(wms.principal, 10, None))["deliveries"]
    assert deliveries[0]["status"] == status


def test_a_customer_id_that_is_not_this_tenants_customer_is_refused_and_stores_nothing(
    container: Container, wms: Wms, make_tenant: Callable[[str], TenantKeys]
) -> None:
    other = make_tenant("Other Co")
    other_principal = container.use_cases.authenticate(other.tenant_id, other.admin_key)
    theirs = container.use_cases.create_customer(other_principal, "Their Customer", "5 Elm Road", None).customer_id
    events_before = topic_counts(container.use_cases)

    refused = wms.refused(
        [
            {"externalOrderId": "A", "customerId": theirs},
            {"externalOrderId": "B", "customerId": "clxx..."},
            {"externalOrderId": "C", "customerId": "00000000-0000-4000-8000-000000000000"},
            {"externalOrderId": "D", "deliveryAddress": ADDRESS},
        ]
    )

    assert refused.status == 400
    assert refused.body["error"] == "Customer not found"
    assert [(d["index"], d["externalOrderId"], d["field"]) for d in refused.body["details"]] == [
        (0, "A", "customerId"),
        (1, "B", "customerId"),
        (2, "C", "customerId"),
    ]
    assert new_events(events_before, topic_counts(container.use_cases)) == {DELIVERY_REJECTED: 1}
    assert wms.last_received_at() is None


def test_an_accepted_batch_moves_last_received_at_to_its_moment(wms: Wms) -> None:
    moment = datetime(2025, 2, 22, 9, 30, 15, tzinfo=UTC)

    wms.send({"externalOrderId": "A", "deliveryAddress": ADDRESS}, received_at=moment)

    assert wms.last_received_at() == iso(moment)


# ---------------------------------------------------------------- size


def test_a_2000_order_batch_succeeds_in_one_delivery(wms: Wms) -> None:
    dates = ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]
    batch = [
        {
            "externalOrderId": f"BULK-{i:05d}",
            "deliveryAddress": f"{i % 50} Market Street, Manchester M1 1AA",
            "totalWeight": i / 10,
            "palletCount": i % 7,
            "plannedDate": dates[i % 4],
        }
        for i in range(2000)
    ]
    events_before = topic_counts(wms.app)

    result = wms.send(batch)

    assert len(result.orders) == 2000 and result.created == 2000
    assert [o.external_order_id for o in result.orders] == [b["externalOrderId"] for b in batch]
    assert new_events(events_before, topic_counts(wms.app)) == {
        ORDER_CREATED: 2000,
        CUSTOMER_CREATED: 50,
        DELIVERY_ACCEPTED: 1,
    }
    wms.container.catch_up()
    page = wms.container.queries.orders_page(wms.principal, OrderFilter("2025-03-02"), 1000, None)
    assert len(page.items) == 500 and page.next_cursor is None
    assert wms.order("BULK-01999")["totalWeight"] == 199.9
    assert wms.last_received_at() is not None


# ---------------------------------------------------------------- idempotency


def test_the_same_batch_twice_gives_the_same_ids_created_false_and_no_new_order_event(
    container: Container, wms: Wms
) -> None:
    customer = container.use_cases.create_customer(wms.principal, "Acme", "2 Dock Road, Hull HU1 1AA", None)
    batch = [
        {"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 25.5, "plannedDate": "2025-02-22"},
        {"externalOrderId": "B", "customerId": customer.customer_id, "specialHandling": ["fragile"]},
        {"externalOrderId": 1001, "deliveryAddress": ADDRESS, "palletCount": 2},
    ]
    first = wms.send(batch)
    rows_before = read_side(container)
    events_before = topic_counts(container.use_cases)

    second = wms.send(batch)

    assert [o.order_id for o in second.orders] == [o.order_id for o in first.orders]
    assert [o.created for o in first.orders] == [True, True, True]
    assert [o.created for o in second.orders] == [False, False, False]
    # Only the delivery is recorded; the orders, their customers and the planning rows stay as they were.
    assert new_events(events_before, topic_counts(container.use_cases)) == {DELIVERY_ACCEPTED: 1}
    after = read_side(container)
    assert after["orders"] == rows_before["orders"]
    assert [len(wms.stored_order_events(e)) for e in ("A", "B", "1001")] == [1, 1, 1]


def test_the_order_id_is_the_same_in_every_tenant_run_and_differs_between_tenants(
    container: Container, wms: Wms, make_tenant: Callable[[str], TenantKeys]
) -> None:
    other = connect(container, make_tenant("Other Co"))

    mine = wms.send({"externalOrderId": "A", "deliveryAddress": ADDRESS}).orders[0]
    theirs = other.send({"externalOrderId": "A", "deliveryAddress": ADDRESS}).orders[0]

    assert mine.order_id == order_id(wms.tenant_id, "A")
    assert theirs.order_id == order_id(other.tenant_id, "A")
    assert mine.order_id != theirs.order_id
    assert mine.created and theirs.created


# ---------------------------------------------------------------- updates


def test_a_later_request_overwrites_present_fields_keeps_absent_ones_and_null_clears(wms: Wms) -> None:
    wms.send(
        {
            "externalOrderId": "A",
            "deliveryAddress": ADDRESS,
            "totalWeight": 25.5,
            "volume": 1.5,
            "specialHandling": ["fragile"],
            "plannedDate": "2025-02-22",
        }
    )

    [outcome] = wms.send(
        {"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 30, "plannedDate": None}
    ).orders

    assert outcome.created is False
    order = wms.order("A")
    assert order["totalWeight"] == 30
    assert order["volume"] == 1.5
    assert order["specialHandling"] == ["fragile"]
    assert order["plannedDate"] is None
    assert order["version"] == 2
    [_, updated] = wms.stored_order_events("A")
    assert updated.changes == {"total_weight": 30, "planned_date": None}
    assert updated.source["channel"] == "webhook"


def test_items_of_one_batch_apply_in_order_and_only_real_changes_are_recorded(wms: Wms) -> None:
    result = wms.send(
        [
            {"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 1},
            {"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 2},
            {"externalOrderId": "A", "deliveryAddress": ADDRESS, "totalWeight": 2.0},
            {"externalOrderId": "A", "deliveryAddress": ADDRESS, "plannedDate": None},
            {"externalOrderId": "A", "deliveryAddress": ADDRESS, "specialHandling": ["timed_slot"]},
            {"externalOrderId": "B", "deliveryAddress": ADDRESS},
        ]
    )

    assert [o.created for o in result.orders] == [True, False, False, False, False, True]
    assert len({o.order_id for o in result.orders[:5]}) == 1
    events = wms.stored_order_events("A")
    assert [type(e).__name__ for e in events] == ["Created", "Updated", "Updated"]
    assert [e.changes for e in events[1:]] == [{"total_weight": 2}, {"special_handling": ["timed_slot"]}]
    order = wms.order("A")
    assert (order["version"], order["totalWeight"], order["specialHandling"]) == (3, 2, ["timed_slot"])


# ---------------------------------------------------------------- customers


def test_the_same_normalised_address_reuses_one_customer_within_a_tenant(
    container: Container, wms: Wms, make_tenant: Callable[[str], TenantKeys]
) -> None:
    first = wms.send(
        [
            {"externalOrderId": "A", "deliveryAddress": ADDRESS, "customerName": "Acme Ltd"},
            {"externalOrderId": "B", "deliveryAddress": "10 high street london  sw1a 1aa.", "customerName": "Other"},
        ]
    )
    wms.send({"externalOrderId": "C", "deliveryAddress": " 10 HIGH STREET; London SW1A 1AA "})
    other = connect(container, make_tenant("Other Co"))
    other.send({"externalOrderId": "A", "deliveryAddress": ADDRESS})

    customers = {wms.order(e)["customerId"] for e in ("A", "B", "C")}
    assert len(customers) == 1
    [customer_id] = customers
    customer = present_customer(container.queries.customer(wms.principal, customer_id))
    assert (customer["name"], customer["contact"]) == ("Acme Ltd", "N/A")
    assert other.order("A")["customerId"] != customer_id
    assert topic_counts(container.use_cases)[CUSTOMER_CREATED] == 2
    # Each order keeps the address as its WMS wrote it.
    assert wms.order("B")["deliveryAddress"] == "10 high street london  sw1a 1aa."
    assert first.created == 2


def test_a_new_address_without_a_name_creates_the_documented_default_customer(wms: Wms) -> None:
    wms.send({"externalOrderId": "A", "deliveryAddress": ADDRESS})

    order = wms.order("A")
    assert order["customerName"] == "WMS Customer"
    customer = present_customer(wms.container.queries.customer(wms.principal, order["customerId"]))
    assert customer["contact"] == "N/A"


def test_with_both_the_customer_id_decides_and_the_address_stays_on_the_order(container: Container, wms: Wms) -> None:
    customer = container.use_cases.create_customer(wms.principal, "Acme", "2 Dock Road, Hull HU1 1AA", None)
    events_before = topic_counts(container.use_cases)

    wms.send({"externalOrderId": "A", "customerId": customer.customer_id, "deliveryAddress": ADDRESS})

    order = wms.order("A")
    assert order["customerId"] == customer.customer_id
    assert order["deliveryAddress"] == ADDRESS
    assert CUSTOMER_CREATED not in new_events(events_before, topic_counts(container.use_cases))


def test_an_address_of_punctuation_alone_is_a_validation_error_not_a_crash(wms: Wms) -> None:
    refused = wms.refused({"externalOrderId": "A", "deliveryAddress": ",,, ."})

    assert refused.status == 400
    assert refused.body["details"][0]["message"] == "deliveryAddress or customerId is required"


# ---------------------------------------------------------------- concurrency


def run_together(count_: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count_`` threads released at the same moment."""
    barrier = threading.Barrier(count_, timeout=30)

    def start(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count_) as pool:
        return list(pool.map(start, range(count_), timeout=120))


def test_sixteen_concurrent_first_deliveries_of_one_order_create_it_exactly_once(wms: Wms) -> None:
    payload = {"externalOrderId": "RACE-1", "deliveryAddress": ADDRESS, "totalWeight": 5}

    results = run_together(16, lambda i: wms.send(payload))

    outcomes = [r.orders[0] for r in results]
    assert len(outcomes) == 16
    assert sum(o.created for o in outcomes) == 1
    assert {o.order_id for o in outcomes} == {order_id(wms.tenant_id, "RACE-1")}
    counts = topic_counts(wms.app)
    assert counts[ORDER_CREATED] == 1
    assert counts[ORDER_UPDATED] == 0
    assert counts[CUSTOMER_CREATED] == 1
    assert counts[DELIVERY_ACCEPTED] == 16
    assert wms.order("RACE-1")["version"] == 1
    assert len(wms.container.queries.deliveries_page(wms.principal, 100, None).items) == 16


def test_eight_concurrent_updates_of_one_order_are_all_applied_and_none_lost(wms: Wms) -> None:
    wms.send({"externalOrderId": "HOT", "deliveryAddress": ADDRESS, "totalWeight": 0})
    weights = [float(i + 1) for i in range(8)]

    def update(i: int) -> IngestResult:
        line = OrderLine(external_order_id="HOT", delivery_address=ADDRESS, patch={"total_weight": weights[i]})
        return wms.app.ingest_orders(
            IngestOrders(
                tenant_id=wms.tenant_id, lines=(line,), channel="webhook", request_id=f"update-{i}", received_at=START
            )
        )

    results = run_together(8, update)

    assert [r.orders[0].created for r in results] == [False] * 8
    events = wms.stored_order_events("HOT")
    updates = [e.changes["total_weight"] for e in events[1:]]
    # Every value was applied once, in some order, on top of the previous one.
    assert sorted(updates) == weights
    assert len(events) == 1 + 8
    order = wms.order("HOT")
    assert order["version"] == 1 + len(updates)
    assert order["totalWeight"] == updates[-1]
