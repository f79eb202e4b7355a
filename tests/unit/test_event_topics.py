"""Every stored event has an explicit, stable topic and survives the store's mapper.

Stored topics default to ``module:Class``: moving a class would break old
events. So every aggregate and event class in ``domain/`` names its topic
``wms-intake:<Name>`` itself. The walk below finds new classes on its own.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.utils import get_topic, resolve_topic

import domain
from domain.customer import Customer
from domain.delivery import Delivery
from domain.order import Order
from domain.roles import Role
from domain.source import Source
from domain.tenant import Tenant
from domain.webhook import WmsWebhook
from infrastructure.event_store import EventStore

NOW = datetime(2025, 2, 22, 9, 30, 15, 123456, tzinfo=UTC)
WEBHOOK = Source(channel="webhook", delivery_id="delivery-1", request_id="request-1")
ADMIN = Source(channel="api", api_key_id="key-1")


def domain_aggregates() -> list[type[Aggregate]]:
    found: list[type[Aggregate]] = []
    for module_info in pkgutil.iter_modules(domain.__path__, prefix="domain."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Aggregate) and value.__module__ == module.__name__:
                found.append(value)
    return found


def event_classes(aggregate: type[Aggregate]) -> Iterator[type[DomainEvent]]:
    for value in vars(aggregate).values():
        if isinstance(value, type) and issubclass(value, DomainEvent):
            yield value


AGGREGATES = domain_aggregates()
EVENTS = [cls for aggregate in AGGREGATES for cls in event_classes(aggregate)]


def test_the_walk_finds_the_known_aggregates() -> None:
    assert {Order, Customer, Tenant, WmsWebhook, Delivery} <= set(AGGREGATES)
    assert {Order.Created, Order.Updated, Delivery.Accepted, Delivery.Rejected} <= set(EVENTS)  # type: ignore[attr-defined]  # made by @event at class creation


def topic_owner(cls: type) -> type | None:
    """The class in ``cls``'s hierarchy whose ``TOPIC`` it uses."""
    return next((c for c in cls.__mro__ if "TOPIC" in vars(c)), None)


@pytest.mark.parametrize("cls", AGGREGATES + EVENTS, ids=lambda c: c.__qualname__)
def test_every_aggregate_and_event_class_names_its_own_topic(cls: type) -> None:
    owner = topic_owner(cls)

    # The library re-creates an aggregate's event classes as subclasses of the
    # ones written in domain/: the written class of the same name owns the topic.
    # A topic inherited from another class (e.g. the base Event) is no topic at all.
    assert owner is not None and owner.__qualname__ == cls.__qualname__, (
        f"{cls.__qualname__} has no TOPIC of its own (uses {owner and owner.__qualname__})"
    )
    assert owner.__module__.startswith("domain.")
    topic = vars(owner)["TOPIC"]
    assert topic.startswith("wms-intake:")
    assert get_topic(cls) == topic
    assert resolve_topic(topic) is cls


def test_no_two_classes_share_a_topic() -> None:
    topics = [cls.TOPIC for cls in AGGREGATES + EVENTS]

    assert len(topics) == len(set(topics))


@pytest.fixture
def app() -> EventStore:
    return EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def sample_value(annotation: Any) -> Any:
    """A JSON-friendly value of a field's (string) annotation."""
    text = str(annotation)
    if text.startswith("dict"):
        return {"total_weight": 2.5, "special_handling": ["fragile"], "planned_date": None}
    if text.startswith("list"):
        return ["fragile"]
    if "datetime" in text:
        return NOW
    if text.startswith("int"):
        return 7
    if text.startswith("float"):
        return 1.5
    if text.startswith("bool"):
        return True
    return "text"


def sample_event(cls: type[DomainEvent], aggregate: type[Aggregate]) -> DomainEvent:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]  # event classes are dataclasses at run time
        if field.name == "originator_id":
            values[field.name] = uuid4()
        elif field.name == "originator_version":
            values[field.name] = 1
        elif field.name == "timestamp":
            values[field.name] = NOW
        elif field.name == "originator_topic":
            values[field.name] = get_topic(aggregate)
        else:
            values[field.name] = sample_value(field.type)
    return cls(**values)


@pytest.mark.parametrize(
    ("aggregate", "cls"),
    [(aggregate, cls) for aggregate in AGGREGATES for cls in event_classes(aggregate)],
    ids=lambda c: c.__qualname__,
)
def test_every_event_class_round_trips_through_the_mapper(
    app: EventStore, aggregate: type[Aggregate], cls: type[DomainEvent]
) -> None:
    event = sample_event(cls, aggregate)

    stored = app.mapper.to_stored_event(event)
    again = app.mapper.to_domain_event(stored)

    assert stored.topic == cls.TOPIC
    assert type(again) is cls
    assert again == event


def public_state(aggregate: Aggregate) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}


def every_kind_of_change() -> list[Aggregate]:
    """Aggregates that between them record every event the domain knows today."""
    tenant_id = UUID("0b6a3f2e-1c1d-4f7e-9b0a-6d1f0a2b3c4d")
    order = Order.place(tenant_id, "WMS-ORD-001", {"total_weight": 25.5, "special_handling": ["fragile"]}, WEBHOOK)
    order.revise({"total_weight": 30, "planned_date": "2025-02-22", "special_handling": None}, WEBHOOK)
    customer = Customer.register(tenant_id, "10 High Street", WEBHOOK, name="Acme")
    tenant = Tenant.open("Acme")
    tenant.issue_api_key("k1", "h1", Role.ADMIN)
    tenant.issue_api_key("k2", "h2", Role.PLANNER)
    tenant.revoke_api_key("k2")
    hook = WmsWebhook.connect(tenant_id, "hash-1", ADMIN)
    hook.regenerate_secret("hash-2", ADMIN)
    hook.set_active(False, ADMIN)
    hook.set_active(True, ADMIN)
    accepted = Delivery.accept(
        id=uuid4(),
        tenant_id=str(tenant_id),
        channel="webhook",
        request_id="r1",
        received_at=NOW,
        processed=1,
        created=1,
        updated=0,
        endpoint_id=None,
        payload_bytes=10,
        payload_sha256="00",
    )
    rejected = Delivery.reject(
        tenant_id=str(tenant_id),
        channel="pull",
        request_id="r2",
        received_at=NOW,
        status=400,
        error={"error": "Validation failed", "details": [{"index": 0}]},
        endpoint_id="e1",
        payload_bytes=10,
        payload_sha256="00",
    )
    return [order, customer, tenant, hook, accepted, rejected]


def test_aggregates_saved_and_reloaded_have_the_same_state(app: EventStore) -> None:
    originals = every_kind_of_change()
    expected = {a.id: public_state(a) for a in originals}

    app.save(*originals)

    for aggregate_id, state in expected.items():
        assert public_state(app.repository.get(aggregate_id)) == state


def test_history_replays_every_event_with_its_topic(app: EventStore) -> None:
    order = every_kind_of_change()[0]
    app.save(order)

    replayed = list(app.events.get(order.id))  # type: ignore[attr-defined]  # the store is typed by its port

    assert [type(e) for e in replayed] == [Order.Created, Order.Updated]  # type: ignore[attr-defined]  # made by @event at class creation
    assert replayed[1].changes == {  # type: ignore[attr-defined]  # an event attribute the base class does not declare
        "total_weight": 30,
        "planned_date": "2025-02-22",
        "special_handling": None,
    }
