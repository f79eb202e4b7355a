"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from interfaces.container import Container
from interfaces.http.dashboard.sign_in_throttle import install_sign_in_throttle
from interfaces.http.handlers.order_changes import listen_for_saves
from interfaces.http.idempotency import idempotency_keys
from interfaces.http.keys import CONTAINER, METRICS, RATE_LIMITER
from interfaces.http.metrics import Metrics
from interfaces.http.middleware import observe
from interfaces.http.positions import event_position
from interfaces.http.rate_limit import TenantRateLimiter
from interfaces.http.routes import add_routes
from interfaces.http.security_headers import install_api_security_headers
from interfaces.log_redaction import quiet_server_logger

# Headers are bounded (aiohttp defaults: 8 KiB per line/field); the body limit
# is enforced by the webhook itself so it can answer with the documented 413.
BODY_HEADROOM = 1024


def create_app(container: Container, *, run_background: bool = True, owns_container: bool = False) -> web.Application:
    quiet_server_logger()
    app = web.Application(
        middlewares=[observe, event_position, idempotency_keys],
        client_max_size=container.settings.max_body_bytes + BODY_HEADROOM,
    )
    app[CONTAINER] = container
    app[METRICS] = Metrics()
    app[METRICS].count_batches_of(container.use_cases)
    app[RATE_LIMITER] = TenantRateLimiter(container.settings.rate_limit_per_second, container.settings.rate_limit_burst)
    add_routes(app)
    install_api_security_headers(app)
    install_sign_in_throttle(app, container.settings.sign_in_failures_per_minute)
    listen_for_saves(app, container.use_cases.on_saved)

    async def background(_: web.Application) -> AsyncIterator[None]:
        container.refusals.start()  # refused requests are counted wherever requests are served
        if run_background:
            container.start_background()
        yield
        if run_background:
            container.stop_background()
        if owns_container:
            container.close()

    async def outbound(_: web.Application) -> AsyncIterator[None]:
        yield
        # "Sync now" opened its client session on this loop: close it here.
        await container.pull_source.close()

    app.cleanup_ctx.append(background)
    app.cleanup_ctx.append(outbound)
    return app
