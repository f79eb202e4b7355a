"""What a geocoder answers: a located address, or why it could not be located."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Why an address could not be located, as codes stored on ``GeocodingFailed``
#: and the words users are shown for each.
NO_POSTCODE: Final = "no_postcode"
NOT_IN_OFFLINE_DATA: Final = "not_in_offline_data"
OFFLINE_DATA_UNREADABLE: Final = "offline_data_unreadable"
NOT_FOUND: Final = "not_found"
REMOTE_ERROR: Final = "remote_error"
FAILURE_REASONS: Final = {
    NO_POSTCODE: "no postcode found",
    NOT_IN_OFFLINE_DATA: "postcode not in the offline data (Great Britain only)",
    OFFLINE_DATA_UNREADABLE: "the offline postcode data could not be read",
    NOT_FOUND: "address not found by the geocoding service",
    REMOTE_ERROR: "remote service error",
}


def failure_reason(cause: str | None, detail: str) -> str:
    """What users are told: the words of a known cause, else the recorded detail
    (failures stored before causes existed)."""
    return FAILURE_REASONS.get(cause or "", detail)


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
    #: One of the codes above.
    cause: str = REMOTE_ERROR


GeocodeOutcome = GeocodeHit | GeocodeMiss
