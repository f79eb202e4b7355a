"""The Integrations page shows the webhook's refused requests, by reason, in words."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, expect

from tests.browser.test_dashboard import Watch, bearer, browser, origin_of, sign_in  # noqa: F401
from tests.support.http import TenantKeys, Webhook
from tests.support.waits import eventually


async def test_the_integrations_page_says_how_many_requests_were_refused_and_when(
    client: TestClient,
    tenant: TenantKeys,
    webhook: Webhook,
    browser: Browser,  # noqa: F811
) -> None:
    order = orjson.dumps({"externalOrderId": "R-1", "deliveryAddress": "1 High St, York YO1 7HH"})
    for _ in range(3):
        response = await client.post(
            webhook.path, data=order, headers={**bearer("whs_old"), "Content-Type": "application/json"}
        )
        assert response.status == 401

    async def counted() -> Any:
        response = await client.get(f"/api/tenants/{tenant.tenant_id}/integrations", headers=tenant.auth())
        hook = (await response.json())["webhook"]
        return hook and hook["refusedRequests"]["wrongSecret"]["count"] == 3

    await eventually(counted)
    watch = Watch()
    page = watch.attach(await browser.new_page())
    await sign_in(page, origin_of(client), tenant.admin_key)
    await expect(page.get_by_label("API key")).to_have_count(0)  # signed in: the sign-in page is gone
    await page.goto(f"{origin_of(client)}/dashboard/integrations")
    refused = page.locator("#refused-requests [data-reason='wrongSecret']")
    await expect(refused).to_contain_text("3 requests refused with a wrong secret, last")
    await expect(refused.locator(".ago")).to_have_text("(just now)")
    await expect(page.locator("#refused-requests [data-reason='deactivated']")).to_have_count(0)
    await page.close()
    watch.assert_clean()
