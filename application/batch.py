"""Applying a validated batch to loaded aggregates: the heart of ``IngestOrders``.

Pure: no I/O. The application loads every aggregate the batch touches, calls
``apply_batch``, and saves what it returns in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.commands import OrderOutcome
from application.errors import PayloadRejectedError
from application.order_lines import OrderLine
from application.problem_list import ProblemList
from domain.customer import Customer
from domain.ids import order_id
from domain.order import Order
from domain.source import Source


@dataclass(frozen=True)
class BatchKeys:
    """Every aggregate id a batch may touch, known before loading anything."""

    order_ids: tuple[UUID, ...]
    named_customers: tuple[UUID | None, ...]  # per line: the customerId given, parsed
    address_customers: tuple[UUID | None, ...]  # per line: id derived from the address

    def all_ids(self) -> set[UUID]:
        ids = set(self.order_ids)
        ids.update(i for i in self.named_customers if i is not None)
        ids.update(i for i in self.address_customers if i is not None)
        return ids


def keys_of(tenant_id: UUID, lines: Sequence[OrderLine]) -> BatchKeys:
    # Many orders of a batch go to the same address: its customer id is derived once.
    by_address: dict[str, UUID] = {}
    for line in lines:
        if not line.customer_id and line.delivery_address and line.delivery_address not in by_address:
            by_address[line.delivery_address] = Customer.id_for(tenant_id, line.delivery_address)
    return BatchKeys(
        order_ids=tuple(order_id(tenant_id, line.external_order_id) for line in lines),
        named_customers=tuple(_parse_uuid(line.customer_id) if line.customer_id else None for line in lines),
        address_customers=tuple(
            by_address[line.delivery_address] if not line.customer_id and line.delivery_address else None
            for line in lines
        ),
    )


def check_named_customers(
    tenant_id: UUID, lines: Sequence[OrderLine], keys: BatchKeys, loaded: Mapping[UUID, Aggregate]
) -> None:
    """A ``customerId`` must name a customer of this tenant: an order never points at another tenant's data."""
    problems = ProblemList()
    for problem in unknown_customers(tenant_id, lines, keys, loaded):
        problems.add(problem)
    if problems:
        raise PayloadRejectedError(400, problems.body("Customer not found"))


def unknown_customers(
    tenant_id: UUID,
    lines: Sequence[OrderLine],
    keys: BatchKeys,
    loaded: Mapping[UUID, Aggregate],
    indexes: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """One problem per line whose ``customerId`` names no customer of this tenant
    (``indexes``: each line's index in the request, when not its position)."""
    problems: list[dict[str, Any]] = []
    for position, (line, cid) in enumerate(zip(lines, keys.named_customers, strict=False)):
        index = indexes[position] if indexes is not None else position
        if not line.customer_id:
            continue
        customer = loaded.get(cid) if cid is not None else None
        if not isinstance(customer, Customer) or customer.tenant_id != str(tenant_id):
            problems.append(
                {
                    "index": index,
                    "externalOrderId": line.external_order_id,
                    "field": "customerId",
                    "message": f"customer {line.customer_id!r} not found",
                }
            )
    return problems


def apply_batch(
    tenant_id: UUID,
    lines: Sequence[OrderLine],
    keys: BatchKeys,
    loaded: MutableMapping[UUID, Aggregate],
    source: Source,
) -> tuple[list[Aggregate], list[OrderOutcome]]:
    """Apply lines in order; return the aggregates with new events and the outcomes.

    A repeated external id within the batch is created by its first line and
    updated by the later ones, exactly as if they came in separate requests.
    """
    touched: dict[UUID, Aggregate] = {}
    outcomes: list[OrderOutcome] = []
    for line, oid, patch in patched_lines(tenant_id, lines, keys, loaded, touched, source):
        existing = loaded.get(oid)
        if isinstance(existing, Order):
            changed = bool(existing.revise(patch, source))
            if changed:
                touched[oid] = existing
            outcomes.append(OrderOutcome(line.external_order_id, oid, created=False, changed=changed))
        else:
            order = Order.place(tenant_id, line.external_order_id, patch, source, id=oid)
            loaded[oid] = touched[oid] = order
            outcomes.append(OrderOutcome(line.external_order_id, oid, created=True))
    return list(touched.values()), outcomes


def patched_lines(
    tenant_id: UUID,
    lines: Sequence[OrderLine],
    keys: BatchKeys,
    loaded: MutableMapping[UUID, Aggregate],
    touched: dict[UUID, Any],
    source: Source,
) -> Iterator[tuple[OrderLine, UUID, dict[str, Any]]]:
    """Each line with its order's id and the patch it applies to the order.

    The customer is settled first, as each line comes: one named by id, or the
    one of the line's address, registered (into ``loaded`` and ``touched``)
    the first time the batch meets it.
    """
    texts: dict[UUID, str] = {}  # a batch's orders share few customers: each id made text once
    for line, oid, named, by_address in zip(
        lines, keys.order_ids, keys.named_customers, keys.address_customers, strict=False
    ):
        customer_id = (
            named if named is not None else _customer_for(tenant_id, line, by_address, loaded, touched, source)
        )
        patch = dict(line.patch)
        patch["customer_id"] = texts.get(customer_id) or texts.setdefault(customer_id, str(customer_id))
        yield line, oid, patch


def _customer_for(
    tenant_id: UUID,
    line: OrderLine,
    customer_id: UUID | None,
    loaded: MutableMapping[UUID, Aggregate],
    touched: dict[UUID, Any],
    source: Source,
) -> UUID:
    if customer_id is None or line.delivery_address is None:
        # Validation guarantees an address when there is no customerId.
        raise PayloadRejectedError(
            400, {"error": "Validation failed", "details": "deliveryAddress or customerId is required"}
        )
    if not isinstance(loaded.get(customer_id), Customer):
        customer = Customer.register(
            tenant_id, line.delivery_address, source, name=line.customer_name, contact=line.customer_contact
        )
        loaded[customer_id] = touched[customer_id] = customer
    return customer_id


def _parse_uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None
