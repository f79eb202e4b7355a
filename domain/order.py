"""The Order aggregate: one delivery order of one tenant, keyed by its external id."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import order_id
from domain.source import Source

FieldValue = str | float | int | list[str] | None


@dataclass(frozen=True)
class OrderField:
    """One field of an order: its name here, its name on the wire, its kind and meaning.

    Every list of order fields elsewhere (the read model's columns, the
    webhook's parser, the response bodies and their documentation) derives
    from ``FIELDS``, so a field is added or renamed in this one place.
    """

    name: str
    wire: str
    kind: type
    description: str
    #: A list of values (the special handling tags); else one value of ``kind``.
    many: bool = False


#: The fields of an order, in the order they are shown; the last two are the
#: coordinates a WMS may send (both or neither). The descriptions are the
#: contract's words for a WMS sending the field.
FIELDS: tuple[OrderField, ...] = (
    OrderField(
        "customer_id",
        "customerId",
        str,
        "Existing customer ID (required if no deliveryAddress). It must name a customer of this "
        "tenant: otherwise the whole batch gets 400 Customer not found (a rule about stored data, which a "
        "schema cannot state).",
    ),
    OrderField(
        "delivery_address",
        "deliveryAddress",
        str,
        "Full delivery address (required if no customerId). Used to create or find a customer and to geocode.",
    ),
    OrderField("total_weight", "totalWeight", float, "Order weight in kg."),
    OrderField("volume", "volume", float, "Volume in m³."),
    OrderField("pallet_count", "palletCount", int, "Number of pallets."),
    OrderField(
        "special_handling", "specialHandling", str, 'Array of strings (e.g. ["fragile", "timed_slot"]).', many=True
    ),
    OrderField(
        "planned_date",
        "plannedDate",
        str,
        "Delivery date in ISO format (YYYY-MM-DD). Orders appear in Planning for this date.",
    ),
    OrderField(
        "latitude",
        "latitude",
        float,
        "WGS84 latitude of the delivery, -90..90; with longitude (both or neither, else 400). The "
        "order's location is then these coordinates (status provided) and its address is not geocoded; a later "
        "new deliveryAddress without coordinates drops them and is geocoded.",
    ),
    OrderField(
        "longitude",
        "longitude",
        float,
        "WGS84 longitude of the delivery, -180..180; with latitude (both or neither, else 400).",
    ),
)
#: Coordinates the WMS may send with an order (both or neither): the order is
#: then located there instead of by the geocoder. Recorded only once given.
COORDINATES: tuple[str, str] = ("latitude", "longitude")
#: Order fields a WMS controls, in the order they are shown.
ORDER_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.name not in COORDINATES)
#: Field name -> wire name.
WIRE_NAME: dict[str, str] = {f.name: f.wire for f in FIELDS}


# What an order's events say, as pure functions. The ``Order`` aggregate records
# its events through these, and so does a batch that writes its orders' events
# as rows without an aggregate per order (``application.order_rows``): whichever
# way an event is recorded, the same function decides what it holds.


def placed_details(details: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    """The details a new order is created with: fields not given start empty."""
    get = details.get
    full: dict[str, FieldValue] = {}
    for name in ORDER_FIELDS:  # a plain loop: this runs for every order of every batch
        value = get(name)
        full[name] = list(value) if isinstance(value, list) else value
    full.update({name: details[name] for name in COORDINATES if details.get(name) is not None})
    return full


def revision(current: Mapping[str, FieldValue], patch: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    """The changes ``patch`` makes to an order holding ``current`` (empty: none).

    Present fields overwrite, absent keep, ``None`` clears; a field already
    holding the value is no change.
    """
    changes = {
        name: _copy(value)
        for name, value in patch.items()
        if (name in ORDER_FIELDS or name in COORDINATES) and current.get(name) != value
    }
    if "delivery_address" in changes and "latitude" not in patch and current.get("latitude") is not None:
        # Coordinates belong to the address they came with: a new address
        # without its own drops them, and the order is geocoded again.
        changes.update({name: None for name in COORDINATES})
    return changes


def revise_details(details: MutableMapping[str, FieldValue], changes: Mapping[str, FieldValue]) -> None:
    """Apply recorded ``changes`` to an order's ``details``."""
    details.update(changes)


class Order(Aggregate):
    """A delivery order. Present fields overwrite, absent keep, ``None`` clears."""

    TOPIC = "wms-intake:Order"

    class Event(Aggregate.Event):
        TOPIC = "wms-intake:Order.Event"

    class Created(Aggregate.Created):
        TOPIC = "wms-intake:OrderCreated"
        tenant_id: str
        external_order_id: str
        details: dict[str, FieldValue]
        source: dict[str, str | None]

    @staticmethod
    def create_id(tenant_id: str, external_order_id: str) -> UUID:
        return order_id(UUID(tenant_id), external_order_id)

    @classmethod
    def place(
        cls,
        tenant_id: UUID,
        external_order_id: str,
        details: Mapping[str, FieldValue],
        source: Source,
        id: UUID | None = None,  # the caller may hold it already (a batch computes every id first)
    ) -> Order:
        """A new order; fields not given start empty."""
        # _create with the id given skips the signature introspection of
        # cls(...), which was a third of the cost of a 1,000-order batch.
        return cls._create(
            cls.Created,
            id=id or order_id(tenant_id, external_order_id),
            tenant_id=str(tenant_id),
            external_order_id=external_order_id,
            details=placed_details(details),
            source=source.as_record(),
        )

    @event(Created)
    def __init__(
        self, tenant_id: str, external_order_id: str, details: dict[str, FieldValue], source: dict[str, str | None]
    ) -> None:
        self.tenant_id = tenant_id
        self.external_order_id = external_order_id
        self.details = dict(details)

    def revise(self, patch: Mapping[str, FieldValue], source: Source) -> bool:
        """Apply the fields present in ``patch``; record only what really changed.

        Returns whether anything changed: an update that changes nothing
        records no event.
        """
        changes = revision(self.details, patch)
        if not changes:
            return False
        self._record_update(changes=changes, source=source.as_record())
        return True

    @event("Updated", topic="wms-intake:OrderUpdated")
    def _record_update(self, changes: dict[str, FieldValue], source: dict[str, str | None]) -> None:
        revise_details(self.details, changes)


def _copy(value: FieldValue) -> FieldValue:
    # Lists are copied so a caller's later mutation can't alter recorded state.
    return list(value) if isinstance(value, list) else value
