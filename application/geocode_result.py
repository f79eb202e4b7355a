"""What a geocoder answers: a located address, or why it could not be located."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class GeocodeHit:
    """Coordinates (WGS84) for an address.

    ``precision`` is how exact the point is, in the provider's own words:
    ``postcode``/``sector``/``district`` for the offline UK geocoder, the
    service's place type (``house``, ``street``, ``address``, ...) for remote ones.
    """

    lat: float
    lon: float
    precision: str
    provider: str
    matched_address: str


@dataclass(frozen=True)
class GeocodeMiss:
    """No coordinates. ``retryable``: asking again later may succeed (timeout,
    429, 5xx, unreachable); ``retry_after`` is the wait the service asked for,
    in seconds. ``not_found``: the service answered and found nothing."""

    provider: str
    reason: str
    retryable: bool = False
    retry_after: float | None = None
    not_found: bool = False


GeocodeOutcome = Union[GeocodeHit, GeocodeMiss]
