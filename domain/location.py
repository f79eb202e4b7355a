"""The Location aggregate: where one tenant's address is, once it has been geocoded.

One aggregate per tenant and normalised address (a deterministic id), so an
address is geocoded once per tenant however many customers and orders use
it, and two processes geocoding the same address meet at the store's unique
key instead of recording two answers.
"""

from __future__ import annotations

import math
from typing import Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.addresses import normalise_address
from domain.errors import InvalidValueError, LocationAlreadyResolvedError
from domain.ids import location_id

LocationStatus = Literal["pending", "ok", "failed"]


class Location(Aggregate):
    """An address's coordinates, or why it could not be located.

    Policy: a location is resolved by its first ``Geocoded`` or by a
    permanent ``GeocodingFailed``; after that nothing more is recorded. A
    retryable failure (the service was down) leaves it open, so the address
    is tried again when it is next seen.
    """

    TOPIC = "wms-intake:Location"

    class Event(Aggregate.Event):
        TOPIC = "wms-intake:Location.Event"

    class Created(Aggregate.Created):
        TOPIC = "wms-intake:LocationCreated"
        tenant_id: str
        address: str
        normalised_address: str

    class Geocoded(Event):
        TOPIC = "wms-intake:Geocoded"
        lat: float
        lon: float
        precision: str
        provider: str
        matched_address: str

    class GeocodingFailed(Event):
        TOPIC = "wms-intake:GeocodingFailed"
        reason: str
        retryable: bool
        #: Which kind of failure (``GeocodingFailure`` of the application), to tell users
        #: why; optional, so failures stored before it existed still load.
        cause: str | None = None

    @staticmethod
    def create_id(tenant_id: str, normalised_address: str) -> UUID:
        return location_id(UUID(tenant_id), normalised_address)

    @staticmethod
    def id_for(tenant_id: UUID, address: str) -> UUID:
        return location_id(tenant_id, normalise_address(address))

    @classmethod
    def of_address(cls, tenant_id: UUID, address: str) -> Location:
        """A location to be found for ``address`` (as first seen) of ``tenant_id``."""
        normalised = normalise_address(address)
        if not normalised:
            raise InvalidValueError("a location needs a non-empty address")
        return cls._create(
            cls.Created,
            id=location_id(tenant_id, normalised),
            tenant_id=str(tenant_id),
            address=address,
            normalised_address=normalised,
        )

    @event(Created)
    def __init__(self, tenant_id: str, address: str, normalised_address: str) -> None:
        self.tenant_id = tenant_id
        self.address = address
        self.normalised_address = normalised_address
        self.status: LocationStatus = "pending"
        self.lat: float | None = None
        self.lon: float | None = None
        self.precision: str | None = None
        self.provider: str | None = None
        self.failure: str | None = None
        self.failure_cause: str | None = None
        self.retryable = False

    @property
    def needs_geocoding(self) -> bool:
        """Never tried, or only failed for a reason that may pass."""
        return self.status == "pending" or (self.status == "failed" and self.retryable)

    def geocoded(self, lat: float, lon: float, precision: str, provider: str, matched_address: str) -> None:
        """Record where the address is; coordinates must be a real WGS84 point."""
        self._require_open()
        if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
            raise InvalidValueError(f"latitude {lat!r} is not between -90 and 90")
        if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
            raise InvalidValueError(f"longitude {lon!r} is not between -180 and 180")
        if not precision.strip() or not provider.strip():
            raise InvalidValueError("a geocoding result names its precision and provider")
        self._record_geocoded(
            lat=float(lat),
            lon=float(lon),
            precision=precision.strip(),
            provider=provider.strip(),
            matched_address=matched_address,
        )

    def geocoding_failed(self, reason: str, retryable: bool, cause: str | None = None) -> None:
        """Record why the address could not be located; ``retryable`` keeps it open."""
        self._require_open()
        if not reason.strip():
            raise InvalidValueError("a geocoding failure needs a reason")
        self._record_failure(reason=reason.strip(), retryable=bool(retryable), cause=cause)

    def _require_open(self) -> None:
        if not self.needs_geocoding:
            raise LocationAlreadyResolvedError(f"the location of {self.normalised_address!r} is already {self.status}")

    @event(Geocoded)
    def _record_geocoded(self, lat: float, lon: float, precision: str, provider: str, matched_address: str) -> None:
        self.status = "ok"
        self.lat = lat
        self.lon = lon
        self.precision = precision
        self.provider = provider
        self.failure = None
        self.failure_cause = None
        self.retryable = False

    @event(GeocodingFailed)
    def _record_failure(self, reason: str, retryable: bool, cause: str | None = None) -> None:
        self.status = "failed"
        self.failure = reason
        self.retryable = retryable
        self.failure_cause = cause
