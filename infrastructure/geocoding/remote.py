"""Remote geocoding services (Nominatim, Photon, Pelias) through geopy's async adapter.

Policies:

* One request at a time per ``rate_per_second`` slot, per process (public
  Nominatim allows 1 request/s). A ``Retry-After`` from the service pauses
  every request of this process (up to a minute), not just the one that got it.
* Nothing is retried here. Each call answers once, classifying failures
  narrowly: timeouts, 408, 429, 5xx and unreachable services are retryable
  (with the service's ``Retry-After``, if any); a refused query, bad
  credentials, a quota or an answer we cannot read are not. The processor
  owns retries and the fallback. geopy's own ``AsyncRateLimiter`` is not
  used: it retries every error and swallows exceptions by default.
* ``base_url`` points at a self-hosted service (scheme, host, port and an
  optional path prefix); the public Nominatim and Photon are the defaults.
  Pelias has no public default.
* The API key (Pelias sends it as a query parameter) never appears in a
  recorded reason or a log line: geopy logs request URLs at debug level, so
  the ``geopy`` logger gets a filter that masks it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from geopy.adapters import AdapterHTTPError, AioHTTPAdapter, get_retry_after
from geopy.exc import GeocoderRateLimited, GeocoderServiceError, GeocoderTimedOut, GeocoderUnavailable, GeopyError
from geopy.geocoders import Nominatim, Pelias, Photon
from geopy.geocoders.base import Geocoder as GeopyGeocoder

from application.geocode_result import NOT_FOUND, REMOTE_ERROR, GeocodeHit, GeocodeMiss, GeocodeOutcome

DEFAULT_DOMAINS: Mapping[str, str | None] = {
    "nominatim": "nominatim.openstreetmap.org",
    "photon": "photon.komoot.io",
    "pelias": None,
}
UNKNOWN_PRECISION = "unknown"
# The in-process pause after a Retry-After is capped: longer waits are kept
# by the queue's schedule for that address, not by requests held in memory.
MAX_PAUSE_SECONDS = 60.0
_MASK = "***"


class GeocoderConfigurationError(ValueError):
    """The remote geocoder settings cannot work (unknown provider, no URL for Pelias)."""


class AsyncRateLimiter:
    """Spaces request starts at least ``1 / rate_per_second`` apart, in this process.

    A slot is reserved before sleeping, so concurrent callers queue fairly
    without a lock; ``pause`` (a Retry-After) holds back every caller,
    including those already waiting for their slot.
    """

    def __init__(
        self,
        rate_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise GeocoderConfigurationError("the geocoder rate must be positive")
        self.interval = 1.0 / rate_per_second
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self.paused_until = 0.0

    async def acquire(self) -> None:
        now = self._clock()
        start = max(now, self._next_slot)
        self._next_slot = start + self.interval
        if start > now:
            await self._sleep(start - now)
        while (hold := self.paused_until - self._clock()) > 0:
            await self._sleep(hold)

    def pause(self, seconds: float) -> None:
        """No request starts for ``seconds`` from now."""
        self.paused_until = max(self.paused_until, self._clock() + seconds)


class RemoteGeocoder:
    """The ``Geocoder`` port over one remote service."""

    def __init__(
        self,
        provider: str,
        *,
        base_url: str | None,
        user_agent: str,
        api_key: str | None = None,
        rate_per_second: float = 1.0,
        timeout_seconds: float = 10.0,
        limiter: AsyncRateLimiter | None = None,
    ) -> None:
        if provider not in DEFAULT_DOMAINS:
            raise GeocoderConfigurationError(f"unknown geocoding service {provider!r}")
        scheme, domain = _scheme_and_domain(provider, base_url)
        self.provider = provider
        self._api_key = api_key or None
        self.limiter = limiter or AsyncRateLimiter(rate_per_second)
        common: dict[str, Any] = {
            "domain": domain,
            "scheme": scheme,
            "user_agent": user_agent,
            # geopy hands the timeout to aiohttp untouched.
            "timeout": aiohttp.ClientTimeout(total=timeout_seconds),
            "adapter_factory": AioHTTPAdapter,
        }
        self._geopy: GeopyGeocoder
        if provider == "nominatim":
            self._geopy = Nominatim(**common)
        elif provider == "photon":
            self._geopy = Photon(**common)
        else:
            self._geopy = Pelias(api_key=self._api_key, **common)
        self._log_filter = _MaskSecret(self._api_key) if self._api_key else None
        if self._log_filter is not None:
            logging.getLogger("geopy").addFilter(self._log_filter)

    async def geocode(self, address: str) -> GeocodeOutcome:
        await self.limiter.acquire()
        try:
            found = await self._geopy.geocode(address, exactly_one=True)
        except GeopyError as error:
            return self._miss_of(error)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            # geopy parses answers with bare indexing: a 200 of the wrong shape lands here.
            return self._miss(f"unexpected answer ({type(error).__name__})", retryable=False)
        if found is None:
            return self._miss("no match", retryable=False, not_found=True)
        return self._hit_of(found)

    async def aclose(self) -> None:
        await self._geopy.adapter.__aexit__(None, None, None)
        if self._log_filter is not None:
            logging.getLogger("geopy").removeFilter(self._log_filter)

    # ---------------------------------------------------------------- answers

    def _hit_of(self, found: Any) -> GeocodeOutcome:
        lat, lon = found.latitude, found.longitude
        if lat is None or lon is None:
            return self._miss("answer without coordinates", retryable=False)
        return GeocodeHit(
            lat=float(lat),
            lon=float(lon),
            precision=_precision(self.provider, found.raw),
            provider=self.provider,
            matched_address=_pelias_label(found.raw) or str(found.address or ""),
        )

    def _miss_of(self, error: GeopyError) -> GeocodeMiss:
        status = _http_status(error)
        retry_after = _retry_after(error)
        if retry_after:
            self.limiter.pause(min(retry_after, MAX_PAUSE_SECONDS))
        if isinstance(error, GeocoderRateLimited):
            return self._miss("rate limited (429)", retryable=True, retry_after=retry_after)
        if isinstance(error, GeocoderTimedOut):
            detail = f"HTTP {status}" if status else "timed out"
            return self._miss(f"timed out or unavailable ({detail})", True, retry_after)
        if isinstance(error, GeocoderUnavailable):
            return self._miss(f"unreachable ({error})", retryable=True, retry_after=retry_after)
        if status is not None:
            return self._miss(f"HTTP {status}", retryable=status >= 500, retry_after=retry_after)
        if isinstance(error, GeocoderServiceError):
            return self._miss(f"service error ({error})", retryable=False)
        return self._miss(f"{type(error).__name__} ({error})", retryable=False)

    def _miss(
        self, reason: str, retryable: bool, retry_after: float | None = None, not_found: bool = False
    ) -> GeocodeMiss:
        return GeocodeMiss(
            provider=self.provider,
            reason=self._masked(reason),
            retryable=retryable,
            retry_after=retry_after,
            not_found=not_found,
            cause=NOT_FOUND if not_found else REMOTE_ERROR,
        )

    def _masked(self, text: str) -> str:
        return text.replace(self._api_key, _MASK) if self._api_key else text


def _scheme_and_domain(provider: str, base_url: str | None) -> tuple[str, str]:
    """geopy wants a scheme and a "domain" (host[:port][/path prefix])."""
    if not base_url:
        default = DEFAULT_DOMAINS[provider]
        if default is None:
            raise GeocoderConfigurationError(f"{provider} has no public service: set WMS_INTAKE_GEOCODER_URL")
        return "https", default
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GeocoderConfigurationError(
            "WMS_INTAKE_GEOCODER_URL must be an http(s) URL, e.g. https://nominatim.example.com"
        )
    return parts.scheme, parts.netloc + parts.path.rstrip("/")


def _precision(provider: str, raw: Any) -> str:
    """The service's own word for what the point stands for."""
    if not isinstance(raw, Mapping):
        return UNKNOWN_PRECISION
    if provider == "nominatim":
        value = raw.get("addresstype") or raw.get("type") or raw.get("class")
    else:
        properties = raw.get("properties")
        key = "type" if provider == "photon" else "layer"
        value = properties.get(key) if isinstance(properties, Mapping) else None
    return str(value) if value else UNKNOWN_PRECISION


def _pelias_label(raw: Any) -> str | None:
    """Pelias's full label ("10 High Street, London, England"); geopy keeps only the name."""
    properties = raw.get("properties") if isinstance(raw, Mapping) else None
    label = properties.get("label") if isinstance(properties, Mapping) else None
    return label if isinstance(label, str) and label else None


def _http_status(error: BaseException) -> int | None:
    cause = error.__cause__
    return cause.status_code if isinstance(cause, AdapterHTTPError) else None


def _retry_after(error: BaseException) -> float | None:
    if isinstance(error, GeocoderRateLimited) and error.retry_after is not None:
        return float(error.retry_after)
    cause = error.__cause__
    if isinstance(cause, AdapterHTTPError) and cause.headers:
        seconds = get_retry_after(cause.headers)
        return float(seconds) if seconds is not None else None
    return None


class _MaskSecret(logging.Filter):
    """Masks the API key in geopy's log records (it logs request URLs)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, _MASK), None
        return True
