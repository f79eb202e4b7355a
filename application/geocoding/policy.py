"""How patiently a retryable miss is tried again, and what was asked of whom."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from application.geocode_result import GeocodeHit, GeocodeOutcome


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a retryable miss is tried again."""

    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 300.0
    #: A Retry-After longer than this is capped (a misconfigured service must
    #: not park an address for days).
    max_retry_after: float = 3600.0
    #: How long a claim hides an address from other workers.
    lease_seconds: float = 120.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: jittered exponential
        backoff, never less than the service's Retry-After."""
        backoff = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        jittered = random.uniform(backoff / 2, backoff)
        asked = min(retry_after, self.max_retry_after) if retry_after else 0.0
        return max(jittered, asked)


class GeocodingStats:
    """Geocoding requests by provider and outcome, counted in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str]] = Counter()

    def count(self, provider: str, outcome: GeocodeOutcome) -> None:
        with self._lock:
            self._requests[(provider, outcome_label(outcome))] += 1

    def requests(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._requests)


def outcome_label(outcome: GeocodeOutcome) -> str:
    if isinstance(outcome, GeocodeHit):
        return "ok"
    if outcome.not_found:
        return "not_found"
    return "retryable_error" if outcome.retryable else "error"
