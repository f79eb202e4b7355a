"""A batch's order events written straight as event rows: the lean path of ``IngestOrders``.

``apply_batch`` builds an ``Order`` aggregate per new order and records each
event through the event-sourcing library's generic machinery (event object
construction, ``trigger_event``, ``mutate``, then the mapper): for a batch of
a thousand orders that machinery costs more than the decisions it carries.
``record_batch`` takes the same decisions with the same domain functions
(``placed_details``, ``revision``, ``revise_details``) and turns each decision
straight into an ``EventRow``: the topic, originator, version and state (the
same keys, in the same order) the mapper would have taken from the event
object. The event store encodes its state with its own transcoder, so the
stored bytes are the ones the aggregate path stores. The aggregates it leaves in ``loaded`` hold
what replaying those rows gives, so what is cached after the commit is true.

Customers a batch registers, the delivery record and the pull endpoint still
go through their aggregates: there are few of them per batch.

History, as-of and rebuild read these rows like any other: they are the
library's own format. A property test holds the two paths to the same rows.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from application.batch import BatchKeys, patched_lines
from application.commands import OrderOutcome
from application.order_lines import OrderLine
from domain.order import Order, placed_details, revise_details, revision
from domain.source import Source


class EventRow(NamedTuple):
    """A domain event as the event store keeps it, its state not yet encoded."""

    originator_id: UUID
    originator_version: int
    topic: str
    #: What the mapper would take from the event object: every attribute but
    #: the originator's id and version. It holds no UUID (ids are text).
    state: dict[str, Any]


ORDER_TOPIC = get_topic(Order)
CREATED_TOPIC = get_topic(Order.Created)
UPDATED_TOPIC = get_topic(Order.Updated)  # type: ignore[attr-defined]  # made by @event at class creation


def record_batch(
    tenant_id: UUID,
    lines: Sequence[OrderLine],
    keys: BatchKeys,
    loaded: MutableMapping[UUID, Aggregate],
    source: Source,
) -> tuple[list[Any], set[UUID], list[OrderOutcome]]:
    """Apply lines in order, as ``apply_batch`` does.

    Returns what to store, in the order ``apply_batch``'s aggregates would
    have stored it (event rows of orders, aggregates with pending events of
    customers), the ids of the aggregates changed, and the outcomes.
    """
    now = Order.Event.create_timestamp
    tenant = str(tenant_id)
    # One dict for every event of the batch: no state is changed after it is built.
    source_record = source.as_record()
    # Per aggregate touched, in first-touched order: a customer aggregate, or an order's rows.
    touched: dict[UUID, Any] = {}
    outcomes: list[OrderOutcome] = []
    for line, oid, patch in patched_lines(tenant_id, lines, keys, loaded, touched, source):
        existing = loaded.get(oid)
        if isinstance(existing, Order):
            state = existing.__dict__
            changes = revision(state["details"], patch)
            if changes:
                timestamp = now()
                version = state["_version"] + 1
                row = EventRow(
                    oid, version, UPDATED_TOPIC, {"timestamp": timestamp, "changes": changes, "source": source_record}
                )
                touched.setdefault(oid, []).append(row)
                revise_details(state["details"], changes)
                state["_version"] = version
                state["_modified_on"] = timestamp
            outcomes.append(OrderOutcome(line.external_order_id, oid, created=False, changed=bool(changes)))
        else:
            timestamp = now()
            details = placed_details(patch)
            row = EventRow(
                oid,
                Order.INITIAL_VERSION,
                CREATED_TOPIC,
                {
                    "timestamp": timestamp,
                    "originator_topic": ORDER_TOPIC,
                    "tenant_id": tenant,
                    "external_order_id": line.external_order_id,
                    "details": details,
                    "source": source_record,
                },
            )
            touched[oid] = [row]
            loaded[oid] = _placed(oid, timestamp, tenant, line.external_order_id, details)
            outcomes.append(OrderOutcome(line.external_order_id, oid, created=True))
    to_store: list[Any] = []
    for item in touched.values():
        if type(item) is list:
            to_store.extend(item)
        else:
            to_store.append(item)
    return to_store, set(touched), outcomes


def _placed(oid: UUID, timestamp: Any, tenant: str, external_order_id: str, details: dict[str, Any]) -> Order:
    # What replaying the Created row gives: the library's base attributes, then
    # what Order.__init__ assigns.
    order = Order.__new__(Order)
    order.__dict__.update(
        {
            "_id": oid,
            "_version": Order.INITIAL_VERSION,
            "_created_on": timestamp,
            "_modified_on": timestamp,
            "_pending_events": [],
            "tenant_id": tenant,
            "external_order_id": external_order_id,
            "details": dict(details),
        }
    )
    return order
