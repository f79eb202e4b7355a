"""A throttle on failed dashboard sign-ins, per client address and per tenant (per process).

Only failures count: over ``WMS_INTAKE_SIGN_IN_FAILURES_PER_MINUTE`` failed
sign-ins in a minute from one address, or naming one tenant, a wrong key is
answered 429 with ``Retry-After`` instead of 401. The right key still signs
in: API keys are 256-bit random, so guessing is hopeless whatever the rate,
and the throttle exists to make a flood visible and cheap to refuse — never
to let someone lock an admin out by sending wrong keys in their tenant's name.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from uuid import UUID

from aiohttp import web

from application.dashboard_sessions import SignedIn
from application.errors import UnauthorizedError
from interfaces.http.errors import TooManyRequestsError
from interfaces.http.keys import CONTAINER
from interfaces.http.offload import offload

WINDOW_SECONDS = 60.0
#: Addresses and tenants tracked at most (the oldest are forgotten first).
MAX_TRACKED = 10_000


class SignInThrottle:
    def __init__(self, failures_per_window: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = failures_per_window
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def failed(self, keys: list[str]) -> int | None:
        """Count one failure against each key; seconds to wait if any is now over its limit."""
        now = self._clock()
        wait: float | None = None
        for key in keys:
            times = self._recent(key, now)
            times.append(now)
            self._failures.move_to_end(key)
            if len(times) > self.limit:
                left = times[0] + WINDOW_SECONDS - now
                wait = left if wait is None else max(wait, left)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)
        return None if wait is None else max(1, math.ceil(wait))

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            times = self._failures[key] = deque()
        while times and times[0] <= now - WINDOW_SECONDS:
            times.popleft()
        return times


SIGN_IN_THROTTLE = web.AppKey("sign_in_throttle", SignInThrottle)


def install_sign_in_throttle(app: web.Application, failures_per_minute: int) -> None:
    app[SIGN_IN_THROTTLE] = SignInThrottle(failures_per_minute)


async def throttled_sign_in(request: web.Request, api_key: str) -> SignedIn:
    """Sign in with ``api_key``: 401 for a wrong key, 429 + Retry-After once failures pile up."""
    try:
        return await offload(request, request.app[CONTAINER].sessions.sign_in, api_key)
    except UnauthorizedError:
        wait = request.app[SIGN_IN_THROTTLE].failed(_keys_of(request, api_key))
        if wait is not None:
            raise TooManyRequestsError(wait) from None
        raise


def _keys_of(request: web.Request, api_key: str) -> list[str]:
    keys = [f"address:{request.remote or 'unknown'}"]
    # An API key names its tenant (wik_<tenant>_<key id>_<secret>).
    parts = api_key.split("_", 3)
    if len(parts) == 4:
        with contextlib.suppress(ValueError):
            keys.append(f"tenant:{UUID(hex=parts[1])}")
    return keys
