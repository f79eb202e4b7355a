"""Any sequence of batches leaves the read model exactly as a simple reference model says.

The reference model is the documentation, written as the shortest code that
could hold it: a batch with any invalid item changes nothing; otherwise items
apply in order, a new ``externalOrderId`` creates (``created: true``), a
known one updates, present fields overwrite, absent keep, ``null`` clears,
an update that changes nothing records nothing (the version stays), and an
address finds its tenant's customer whatever its case, punctuation or spacing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from application.errors import PayloadRejectedError
from application.read_models import OrderFilter
from interfaces.container import Container
from interfaces.http.presenters.deliveries import present_delivery
from interfaces.http.presenters.orders import present_order
from tests.support.intake import receive

NAMED = "<the tenant's named customer>"
ADDRESSES = [
    ["10 High Street, London SW1A 1AA", "10 high street london  sw1a 1aa.", "  10 HIGH STREET, LONDON SW1A 1AA "],
    ["2 Mill Lane, Leeds LS1 4AP", "2 mill lane; leeds ls1 4ap"],
    ["7 Church Road, York YO1 7HH"],
]
WIRE_FIELDS = ("deliveryAddress", "totalWeight", "volume", "palletCount", "specialHandling", "plannedDate")
POISONS = ("negative weight", "impossible date", "unknown customer", "missing id", "text pallets", "no address")


def normalised(address: str) -> str:
    return re.sub(r"[\s,;.]+", " ", unicodedata.normalize("NFKC", address).casefold()).strip()


# ---------------------------------------------------------------------- generated batches


optional = {
    "totalWeight": st.floats(min_value=0, max_value=5000, allow_nan=False).map(lambda v: round(v, 3)),
    "volume": st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda v: round(v, 3)),
    "palletCount": st.integers(min_value=0, max_value=40),
    "specialHandling": st.lists(st.sampled_from(["fragile", "timed_slot", "tail_lift"]), max_size=2, unique=True),
    "plannedDate": st.sampled_from(["2025-02-22", "2025-02-23", "2024-02-29"]),
}


@st.composite
def order_items(draw: st.DrawFn) -> tuple[dict[str, Any], str | None]:
    item: dict[str, Any] = {"externalOrderId": draw(st.sampled_from(["A", "B", "C", " C ", 7, "7"]))}
    if draw(st.integers(0, 4)) == 0:
        item["customerId"] = NAMED
        if draw(st.booleans()):
            item["deliveryAddress"] = draw(st.sampled_from([a for group in ADDRESSES for a in group]))
    else:
        item["deliveryAddress"] = draw(st.sampled_from([a for group in ADDRESSES for a in group]))
        if draw(st.booleans()):
            item["customerName"] = draw(st.sampled_from(["Acme Ltd", "Bolt plc"]))
    for name, values in optional.items():
        choice = draw(st.sampled_from(["absent", "value", "value", "null"]))
        if choice == "value":
            item[name] = draw(values)
        elif choice == "null":
            item[name] = None
    poison = draw(st.sampled_from([None] * 30 + list(POISONS)))
    if poison == "negative weight":
        item["totalWeight"] = -1.0
    elif poison == "impossible date":
        item["plannedDate"] = "2025-02-30"
    elif poison == "unknown customer":
        item["customerId"] = "4b0c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"
    elif poison == "missing id":
        del item["externalOrderId"]
    elif poison == "text pallets":
        item["palletCount"] = "three"
    elif poison == "no address":
        item.pop("deliveryAddress", None)
        item.pop("customerId", None)
    return item, poison


batches = st.lists(st.lists(order_items(), max_size=5), min_size=1, max_size=6)


# ---------------------------------------------------------------------- the reference model


@dataclass
class Reference:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)  # normalised address -> name
    deliveries: list[int] = field(default_factory=list)  # statuses, oldest first

    def apply(self, items: list[tuple[dict[str, Any], str | None]]) -> list[bool] | None:
        """The created flags of an accepted batch, or None when it is refused."""
        poisons = {poison for _, poison in items if poison}
        if poisons:
            # The documented order of checks: fields (400), then plannedDate
            # (422), then whether a named customer exists (400).
            field_errors = poisons - {"impossible date", "unknown customer"}
            self.deliveries.append(400 if field_errors or "impossible date" not in poisons else 422)
            return None
        created = []
        for item, _ in items:
            ext = str(item["externalOrderId"]).strip()
            if "customerId" in item:
                customer = NAMED
            else:
                customer = normalised(item["deliveryAddress"])
                self.customers.setdefault(customer, item.get("customerName") or "WMS Customer")
            patch = {name: item[name] for name in WIRE_FIELDS if name in item}
            if isinstance(patch.get("deliveryAddress"), str):
                patch["deliveryAddress"] = patch["deliveryAddress"].strip()
            patch["customer"] = customer
            existing = self.orders.get(ext)
            created.append(existing is None)
            if existing is None:
                self.orders[ext] = {**{name: None for name in WIRE_FIELDS}, **patch, "version": 1}
            elif any(existing[k] != v for k, v in patch.items()):
                existing.update(patch)
                existing["version"] += 1
        self.deliveries.append(200)
        return created


# ---------------------------------------------------------------------- the property


def send(container: Container, tenant_id: UUID, items: list[dict[str, Any]], n: int) -> list[bool] | None:
    # Every other batch of one order is sent as the order alone, not in a list.
    orders = items[0] if len(items) == 1 and n % 2 else items
    try:
        result = receive(container.use_cases, tenant_id, orders, f"property-{n}")
    except PayloadRejectedError:
        return None
    return [o.created for o in result.orders]


pytestmark = pytest.mark.settings(geocoder="none")


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=batches)
def test_any_sequence_of_batches_leaves_the_read_model_as_the_reference_model_says(
    container: Container, sequence: list[list[tuple[dict[str, Any], str | None]]]
) -> None:
    app = container.use_cases
    tenant = app.create_tenant("Property")
    tenant_id = str(tenant.tenant_id)
    from application.commands import Principal
    from domain.roles import Role

    named = app.create_customer(
        Principal(tenant.tenant_id, tenant.admin_key_id, Role.ADMIN), "Named Ltd", "1 Named Road", None
    )
    reference = Reference()
    for n, batch in enumerate(sequence):
        items = [
            {**item, "customerId": named.customer_id} if item.get("customerId") == NAMED else item for item, _ in batch
        ]
        got = send(container, tenant.tenant_id, items, n)
        want = reference.apply(batch)
        assert got == want, (n, batch)

    container.catch_up()
    shown = {
        o["externalOrderId"]: o
        for o in map(present_order, container.views["orders"].list_orders(tenant_id, OrderFilter(), 1000, None).items)
    }
    assert set(shown) == set(reference.orders)
    customer_of: dict[str, str] = {}
    for ext, want in reference.orders.items():
        order = shown[ext]
        assert {name: order[name] for name in WIRE_FIELDS} == {name: want[name] for name in WIRE_FIELDS}, ext
        assert order["version"] == want["version"], ext
        if want["customer"] == NAMED:
            assert (order["customerId"], order["customerName"]) == (named.customer_id, "Named Ltd")
        else:
            assert order["customerName"] == reference.customers[want["customer"]]
            # One customer per normalised address, a different one per address.
            assert customer_of.setdefault(want["customer"], order["customerId"]) == order["customerId"]
    assert len(set(customer_of.values())) == len(customer_of)
    logged = [present_delivery(d) for d in container.views["deliveries"].list_deliveries(tenant_id, 1000, None).items]
    assert [d["status"] for d in reversed(logged)] == reference.deliveries
