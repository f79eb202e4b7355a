"""The Order aggregate alone: placing, and the merge semantics of revising.

Fields present in an item overwrite, absent fields keep their value,
``null`` clears, and an update that changes nothing records no event.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.ids import order_id
from domain.order import ORDER_FIELDS, Order
from domain.source import Source

TENANT = UUID("0b6a3f2e-1c1d-4f7e-9b0a-6d1f0a2b3c4d")
WEBHOOK = Source(channel="webhook", delivery_id="delivery-1", request_id="request-1")
PULL = Source(channel="pull", delivery_id="delivery-2", request_id="request-2")


def placed(**details: Any) -> Order:
    """A placed order whose creation event has already been collected."""
    order = Order.place(TENANT, "WMS-ORD-001", details, WEBHOOK)
    order.collect_events()
    return order


def test_a_placed_order_has_every_field_and_absent_ones_start_empty() -> None:
    order = Order.place(TENANT, "WMS-ORD-001", {"total_weight": 25.5, "pallet_count": 1}, WEBHOOK)

    assert set(order.details) == set(ORDER_FIELDS)
    assert order.details["total_weight"] == 25.5
    assert order.details["pallet_count"] == 1
    assert order.details["planned_date"] is None
    assert order.details["special_handling"] is None
    assert order.tenant_id == str(TENANT)
    assert order.external_order_id == "WMS-ORD-001"
    assert order.version == 1


def test_placing_records_one_created_event_with_the_full_details_and_its_source() -> None:
    order = Order.place(TENANT, "WMS-ORD-001", {"planned_date": "2025-02-22"}, WEBHOOK)

    [created] = order.collect_events()
    assert isinstance(created, Order.Created)
    assert created.details["planned_date"] == "2025-02-22"
    assert set(created.details) == set(ORDER_FIELDS)
    assert created.source == {
        "channel": "webhook",
        "deliveryId": "delivery-1",
        "requestId": "request-1",
        "apiKeyId": None,
    }


def test_the_order_id_is_the_deterministic_id_of_tenant_and_external_id() -> None:
    order = Order.place(TENANT, "WMS-ORD-001", {}, WEBHOOK)

    assert order.id == order_id(TENANT, "WMS-ORD-001")
    assert order.id == Order.create_id(str(TENANT), "WMS-ORD-001")


def test_unknown_detail_names_are_not_stored() -> None:
    order = Order.place(TENANT, "WMS-ORD-001", {"colour": "red"}, WEBHOOK)  # type: ignore[dict-item]  # an unknown field on purpose

    assert "colour" not in order.details


def test_a_later_change_to_the_callers_list_does_not_alter_the_order() -> None:
    handling = ["fragile"]
    order = Order.place(TENANT, "WMS-ORD-001", {"special_handling": handling}, WEBHOOK)
    handling.append("timed_slot")
    patch_list = ["heavy"]
    order.revise({"special_handling": patch_list}, WEBHOOK)
    patch_list.append("cold")

    assert order.details["special_handling"] == ["heavy"]


def test_present_fields_overwrite() -> None:
    order = placed(total_weight=25.5, planned_date="2025-02-22")

    assert order.revise({"total_weight": 30.0}, PULL) is True

    assert order.details["total_weight"] == 30.0


def test_absent_fields_keep_their_value() -> None:
    order = placed(total_weight=25.5, planned_date="2025-02-22", special_handling=["fragile"])

    order.revise({"total_weight": 30.0}, PULL)

    assert order.details["planned_date"] == "2025-02-22"
    assert order.details["special_handling"] == ["fragile"]


def test_none_clears_an_optional_field() -> None:
    order = placed(total_weight=25.5, planned_date="2025-02-22")

    assert order.revise({"planned_date": None}, PULL) is True

    assert order.details["planned_date"] is None
    assert order.details["total_weight"] == 25.5


def test_an_update_that_changes_nothing_records_no_event() -> None:
    order = placed(total_weight=25.5, planned_date="2025-02-22", special_handling=["fragile"])

    changed = order.revise({"total_weight": 25.5, "planned_date": "2025-02-22", "special_handling": ["fragile"]}, PULL)

    assert changed is False
    assert order.collect_events() == []
    assert order.version == 1


def test_clearing_an_already_empty_field_records_no_event() -> None:
    order = placed(total_weight=25.5)

    assert order.revise({"volume": None}, PULL) is False
    assert order.collect_events() == []


def test_an_empty_patch_records_no_event() -> None:
    order = placed(total_weight=25.5)

    assert order.revise({}, PULL) is False
    assert order.collect_events() == []


def test_the_updated_event_carries_only_the_fields_that_changed_and_its_source() -> None:
    order = placed(total_weight=25.5, volume=1.5, planned_date="2025-02-22")

    order.revise({"total_weight": 25.5, "volume": 2.0, "planned_date": None}, PULL)

    [updated] = order.collect_events()
    assert type(updated).__name__ == "Updated"
    assert updated.changes == {"volume": 2.0, "planned_date": None}  # type: ignore[attr-defined]  # an event attribute the base class does not declare
    assert updated.source == {  # type: ignore[attr-defined]  # an event attribute the base class does not declare
        "channel": "pull",
        "deliveryId": "delivery-2",
        "requestId": "request-2",
        "apiKeyId": None,
    }
    assert updated.originator_version == 2
    assert order.version == 2


def test_names_that_are_not_order_fields_are_ignored_by_revise() -> None:
    order = placed(total_weight=25.5)

    assert order.revise({"externalOrderId": "other", "colour": "red"}, PULL) is False  # type: ignore[dict-item]  # an unknown field on purpose
    assert "colour" not in order.details


def test_a_special_handling_list_in_another_order_is_a_change() -> None:
    order = placed(special_handling=["fragile", "timed_slot"])

    assert order.revise({"special_handling": ["timed_slot", "fragile"]}, PULL) is True
    assert order.details["special_handling"] == ["timed_slot", "fragile"]


@pytest.mark.parametrize(
    ("before", "after", "changes"),
    [
        (3, 3.0, False),  # the same quantity written differently is no change
        (25.5, 25.50, False),
        (None, 0, True),  # zero is a value, not an absence
        (0, None, True),
    ],
)
def test_numeric_equality_decides_whether_a_weight_changed(
    before: float | None, after: float | None, changes: bool
) -> None:
    order = placed(total_weight=before)

    assert order.revise({"total_weight": after}, PULL) is changes


def test_successive_revisions_advance_the_version_once_per_effective_change() -> None:
    order = placed(total_weight=1.0)

    order.revise({"total_weight": 2.0}, PULL)
    order.revise({"total_weight": 2.0}, PULL)
    order.revise({"total_weight": 3.0}, PULL)

    events = order.collect_events()
    assert [e.originator_version for e in events] == [2, 3]
    assert order.version == 3
    assert order.details["total_weight"] == 3.0


def test_a_new_address_without_coordinates_drops_them_and_the_same_address_keeps_them() -> None:
    order = placed(delivery_address="1 A St", latitude=51.5, longitude=-0.1)
    assert order.revise({"delivery_address": "1 A St"}, WEBHOOK) is False
    assert order.revise({"delivery_address": "2 B St"}, WEBHOOK) is True
    [event] = order.collect_events()
    assert event.changes == {"delivery_address": "2 B St", "latitude": None, "longitude": None}
    order = placed(delivery_address="1 A St", latitude=51.5, longitude=-0.1)
    order.revise({"delivery_address": "2 B St", "latitude": 52.0, "longitude": -1.0}, WEBHOOK)
    assert (order.details["latitude"], order.details["longitude"]) == (52.0, -1.0)
