"""The embedded offline UK geocoder behind the application's ``Geocoder`` port."""

from __future__ import annotations

import asyncio

from application.geocode_result import GeocodeHit, GeocodeMiss, GeocodeOutcome
from infrastructure.geocoding.offline_uk import OfflineGeocodeHit, OfflineUkGeocoder


class OfflineUkAdapter:
    """Runs lookups in a thread: the first lookup in a postcode area parses its file."""

    provider = OfflineUkGeocoder.provider

    def __init__(self, geocoder: OfflineUkGeocoder) -> None:
        self._geocoder = geocoder

    async def geocode(self, address: str) -> GeocodeOutcome:
        found = await asyncio.to_thread(self._geocoder.geocode, address)
        if isinstance(found, OfflineGeocodeHit):
            return GeocodeHit(
                lat=found.lat,
                lon=found.lon,
                precision=found.precision,
                provider=self.provider,
                matched_address=found.matched,
            )
        return GeocodeMiss(
            provider=self.provider,
            reason=found.reason,
            retryable=found.retryable,
            not_found=not found.retryable,
            cause=found.cause,
        )

    async def aclose(self) -> None:
        """Nothing to release: the data is local."""
