"""Typed application keys."""

from __future__ import annotations

from aiohttp import web

from interfaces.container import Container
from interfaces.http.metrics import Metrics
from interfaces.http.rate_limit import TenantRateLimiter

CONTAINER = web.AppKey("container", Container)
RATE_LIMITER = web.AppKey("rate_limiter", TenantRateLimiter)
METRICS = web.AppKey("metrics", Metrics)
