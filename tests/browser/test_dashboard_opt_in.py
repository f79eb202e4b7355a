"""The dashboard shows the opt-in features, in headless Chromium, on SQLite and PostgreSQL.

Settings → Integrations shows a secret rotation's window ("Previous secret …
expires") and ends it with "End now"; the delivery log opens a partial
acceptance to the items it refused; the order page says a location was
provided by the WMS.
"""

from __future__ import annotations

import re

import orjson
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, expect

from tests.browser.test_dashboard import LAPTOP, Screenshots, Watch, bearer, browser, origin_of, shots, sign_in
from tests.support.http import TenantKeys
from tests.support.waits import eventually

__all__ = ["browser", "shots"]  # fixtures shared with the main dashboard test

ADDRESS = "10 High Street, London SW1A 1AA"


async def test_rotation_window_partial_results_and_provided_locations_show_on_the_pages(
    client: TestClient, tenant: TenantKeys, browser: Browser, shots: Screenshots
) -> None:
    base = origin_of(client)
    api = f"/api/tenants/{tenant.tenant_id}"
    secret = (await (await client.post(f"{api}/integrations/wms/webhook", headers=tenant.auth())).json())["secret"]
    batch = [
        {"externalOrderId": "OPT-1", "deliveryAddress": ADDRESS, "latitude": 51.5007, "longitude": -0.1246},
        {"externalOrderId": "OPT-2", "deliveryAddress": ADDRESS, "plannedDate": "2025-02-30"},
    ]
    response = await client.post(
        f"/api/integrations/wms/{tenant.tenant_id}?atomic=false", data=orjson.dumps(batch), headers=bearer(secret)
    )
    assert response.status == 200
    order_id = (await response.json())["orders"][0]["orderId"]
    rotated = await client.post(
        f"{api}/integrations/wms/webhook/secret", json={"previousValidForSeconds": 3600}, headers=tenant.auth()
    )
    assert rotated.status == 200

    async def settled() -> bool:
        status = await (await client.get(f"{api}/integrations", headers=tenant.auth())).json()
        log = await (await client.get(f"{api}/integrations/wms/deliveries", headers=tenant.auth())).json()
        order = await client.get(f"{api}/orders/{order_id}", headers=tenant.auth())
        return (
            bool((status["webhook"] or {}).get("previousSecretExpiresAt"))
            and len(log["deliveries"]) == 1
            and order.status == 200
        )

    await eventually(settled)
    watch = Watch()
    context = await browser.new_context(viewport=LAPTOP, locale="en-GB", timezone_id="Europe/London")
    page = shots.follow(watch.attach(await context.new_page()))
    await sign_in(page, base, tenant.admin_key)
    await page.wait_for_url(f"{base}/dashboard/integrations")

    await expect(page.locator("#previous-secret")).to_contain_text("expires")
    await expect(page.locator("#previous-secret")).to_contain_text(re.compile(r"in (\d+ minutes|1 hour)"))
    partial = page.locator("tr.delivery.accepted details.partial")
    await expect(partial.locator("summary")).to_contain_text("1 stored, 1 rejected")
    await partial.locator("summary").click()
    await expect(partial.locator("pre")).to_contain_text("Invalid plannedDate")
    await shots.take(page, "integrations-rotation-and-partial")
    await page.get_by_role("button", name="End now").click()
    await expect(page.locator("#previous-secret")).to_have_count(0)
    assert (
        await client.post(
            f"/api/integrations/wms/{tenant.tenant_id}", data=orjson.dumps(batch[:1]), headers=bearer(secret)
        )
    ).status == 401

    await page.goto(f"{base}/dashboard/order?id={order_id}")
    await expect(page.locator('dd[data-field="location"]').first).to_contain_text("provided by the WMS")
    await shots.take(page, "order-provided-location")
    watch.assert_clean()
    await context.close()
