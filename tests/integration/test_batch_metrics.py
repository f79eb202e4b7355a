"""Orders are counted once, where a batch is stored, whatever brought it.

The webhook and "Sync now" are counted over HTTP in tests/e2e/test_operations.py;
here a scheduled pull, which no HTTP handler sees, is counted as well, and an
identical resend is "unchanged", not "updated".
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from application.timestamps import iso
from infrastructure.settings import Settings
from interfaces.container import build_container
from interfaces.http.metrics import Metrics
from tests.integration.test_pull_scheduler import (
    PULL_SETTINGS,
    START,
    ManualClock,
    admin_of,
    scheduler_for,
    statuses_when,
)
from tests.support.fake_wms import FakeWms

pytestmark = pytest.mark.settings(**PULL_SETTINGS)


@pytest.fixture
async def wms() -> AsyncIterator[FakeWms]:
    async with FakeWms() as fake:
        yield fake


def orders_counted(metrics: Metrics) -> dict[tuple[str, str], float]:
    return {
        (sample.labels["channel"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
        if sample.name == "wms_intake_orders_total"
    }


async def test_scheduled_pulls_are_counted_created_then_unchanged_on_an_identical_resend(
    settings: Settings, wms: FakeWms
) -> None:
    clock = ManualClock(START)
    container = build_container(settings, workers=[])
    metrics = Metrics()
    metrics.count_batches_of(container.use_cases)
    scheduler = scheduler_for(container, clock)
    try:
        container.start_background()
        scheduler.start()
        principal = admin_of(container)
        wms.serve_json(
            "/orders",
            [
                {"externalOrderId": "S-1", "deliveryAddress": "10 High Street, London SW1A 1AA"},
                {"externalOrderId": "S-2", "deliveryAddress": "10 High Street, London SW1A 1AA"},
            ],
        )
        container.pull.add_endpoint(principal, wms.url("/orders"), "GET", 1)
        for _ in range(2):
            now = iso(clock.advance(minutes=1))
            await statuses_when(container, principal, lambda entries: bool(entries) and entries[0]["lastSyncAt"] == now)
        counted = orders_counted(metrics)
        assert counted[("pull", "created")] == 2
        assert counted[("pull", "unchanged")] == 2
        assert counted[("pull", "updated")] == 0
        assert "_created" not in metrics.render().decode()
    finally:
        scheduler.stop()
        container.close()
