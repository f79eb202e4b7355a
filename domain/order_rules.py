"""What an order's events say: the rules of placing and revising an order, as pure functions.

The ``Order`` aggregate records its events through these, and so does a
batch that writes order events without building an aggregate per order:
whichever way an event is recorded, the same function decides what it holds.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

FieldValue = str | float | int | list[str] | None

#: Order fields a WMS controls, in the order they are shown.
ORDER_FIELDS: tuple[str, ...] = (
    "customer_id",
    "delivery_address",
    "total_weight",
    "volume",
    "pallet_count",
    "special_handling",
    "planned_date",
)
#: Coordinates the WMS may send with an order (both or neither): the order is
#: then located there instead of by the geocoder. Recorded only once given.
COORDINATES: tuple[str, str] = ("latitude", "longitude")


def placed_details(details: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    """The details a new order is created with: fields not given start empty."""
    get = details.get
    full: dict[str, FieldValue] = {}
    for name in ORDER_FIELDS:  # a plain loop: this runs for every order of every batch
        value = get(name)
        full[name] = list(value) if isinstance(value, list) else value
    full.update({name: details[name] for name in COORDINATES if details.get(name) is not None})
    return full


def revision(
    current: Mapping[str, FieldValue], patch: Mapping[str, FieldValue]
) -> dict[str, FieldValue]:
    """The changes ``patch`` makes to an order holding ``current`` (empty: none).

    Present fields overwrite, absent keep, ``None`` clears; a field already
    holding the value is no change.
    """
    changes = {
        name: _copy(value)
        for name, value in patch.items()
        if (name in ORDER_FIELDS or name in COORDINATES) and current.get(name) != value
    }
    if (
        "delivery_address" in changes
        and "latitude" not in patch
        and current.get("latitude") is not None
    ):
        # Coordinates belong to the address they came with: a new address
        # without its own drops them, and the order is geocoded again.
        changes.update({name: None for name in COORDINATES})
    return changes


def revise_details(
    details: MutableMapping[str, FieldValue], changes: Mapping[str, FieldValue]
) -> None:
    """Apply recorded ``changes`` to an order's ``details``."""
    details.update(changes)


def _copy(value: FieldValue) -> FieldValue:
    # Lists are copied so a caller's later mutation can't alter recorded state.
    return list(value) if isinstance(value, list) else value
