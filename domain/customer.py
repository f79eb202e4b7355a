"""The Customer aggregate: who receives deliveries, found by normalised address."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.addresses import normalise_address
from domain.errors import InvalidValueError
from domain.ids import customer_id_for_address
from domain.source import Source

DEFAULT_CUSTOMER_NAME = "WMS Customer"
DEFAULT_CUSTOMER_CONTACT = "N/A"


class Customer(Aggregate):
    """A tenant's customer. Its id derives from the normalised address, so the
    same address always finds the same customer."""

    TOPIC = "wms-intake:Customer"

    class Event(Aggregate.Event):
        TOPIC = "wms-intake:Customer.Event"

    class Created(Aggregate.Created):
        TOPIC = "wms-intake:CustomerCreated"
        tenant_id: str
        name: str
        contact: str
        address: str
        normalised_address: str
        source: dict[str, str | None]

    @staticmethod
    def create_id(tenant_id: str, normalised_address: str) -> UUID:
        return customer_id_for_address(UUID(tenant_id), normalised_address)

    @classmethod
    def register(
        cls, tenant_id: UUID, address: str, source: Source, name: str | None = None, contact: str | None = None
    ) -> Customer:
        """A new customer at ``address``; name and contact take the documented defaults."""
        normalised = normalise_address(address)
        if not normalised:
            raise InvalidValueError("a customer needs a non-empty address")
        return cls._create(
            cls.Created,
            id=customer_id_for_address(tenant_id, normalised),
            tenant_id=str(tenant_id),
            name=name or DEFAULT_CUSTOMER_NAME,
            contact=contact or DEFAULT_CUSTOMER_CONTACT,
            address=address,
            normalised_address=normalised,
            source=source.as_record(),
        )

    @staticmethod
    def id_for(tenant_id: UUID, address: str) -> UUID:
        return customer_id_for_address(tenant_id, normalise_address(address))

    @event(Created)
    def __init__(
        self,
        tenant_id: str,
        name: str,
        contact: str,
        address: str,
        normalised_address: str,
        source: dict[str, str | None],
    ) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.contact = contact
        self.address = address
        self.normalised_address = normalised_address
