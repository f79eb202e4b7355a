"""The dashboard in a real headless Chromium against a live server, on SQLite and PostgreSQL.

A new admin does what docs/contract.md describes, from the browser
only: sign in, Settings → Integrations → "Connect WMS" (the secret is read
off the page), a WMS posts orders with that secret, Planning shows them for
their date and on the map, the order's history shows every change and its
source, a regenerated secret locks the old one out, and "Pull from WMS" adds an
endpoint on a loopback WMS and syncs it with "Sync now". An auditor sees no
Settings page. No page makes a request anywhere but the service.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it),
driven by Playwright without a browser download. Screenshots of each page on
a laptop and a phone go to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Locator, Page, ViewportSize, async_playwright, expect

from interfaces.container import build_container
from interfaces.http.app import create_app
from tests.support.fake_wms import FakeWms
from tests.support.http import TenantKeys
from tests.support.settings import make_settings
from tests.support.waits import eventually

CHROMIUM = os.environ.get("WMS_INTAKE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--lang=en-GB",
]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "dashboard"
LAPTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 390, "height": 844}
DAY = "2025-02-22"
#: The browser logs every error status a page receives; the expected ones (a wrong key's 401, the
#: auditor's 403 page, a failed sync's 502) are not errors of the page.
EXPECTED_CONSOLE = re.compile(r"Failed to load resource: the server responded with a status of (4\d\d|502)")

expect.set_options(timeout=10_000)

#: A 1×1 PNG, the fake tile server's every tile.
ONE_PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a2d4b6a20000000049454e44ae426082"
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("WMS_INTAKE_TEST_BROWSER", "on") == "off" and not os.environ.get("CI"):
            pytest.skip("WMS_INTAKE_TEST_BROWSER=off")
        pytest.fail(f"Chromium is not at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@dataclass
class Watch:
    """Every URL the pages requested, and every script error or console error they logged."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"console: {message.text}")
                if message.type == "error" and not EXPECTED_CONSOLE.search(message.text)
                else None
            ),
        )
        return page

    def assert_clean(self) -> None:
        elsewhere = [
            url for url in self.requests if not url.startswith("data:") and urlsplit(url).hostname != "127.0.0.1"
        ]
        assert elsewhere == [], "a page requested something outside the service"
        assert self.errors == []


@dataclass
class Screenshots:
    """Named screenshots of the pages; a page still open when the test ends (it failed) is shot too."""

    store: str
    taken: list[Path] = field(default_factory=list)
    followed: list[Page] = field(default_factory=list)

    async def take(self, page: Page, name: str, *, full_page: bool = True) -> None:
        """The whole page, or (``full_page=False``, for pages a thousand rows long) what is in view."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.store}-{name}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)

    def follow(self, page: Page) -> Page:
        self.followed.append(page)
        return page

    async def take_open_pages(self) -> None:
        for number, page in enumerate(self.followed):
            if not page.is_closed():
                await self.take(page, f"failed-{number}")


@pytest.fixture
async def shots(browser: Browser, store: str) -> AsyncIterator[Screenshots]:
    taken = Screenshots(store)
    yield taken
    await taken.take_open_pages()


def origin_of(client: TestClient) -> str:
    return str(client.make_url("")).rstrip("/")


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def sign_in(page: Page, base: str, api_key: str) -> None:
    await page.goto(f"{base}/dashboard/")
    await page.get_by_label("API key").fill(api_key)
    await page.get_by_role("button", name="Sign in").click()


async def expect_menu_folds(page: Page) -> None:
    """On a phone the navigation hides behind "Menu", which opens it."""
    nav = page.locator("#site-header nav")
    await expect(nav).to_be_hidden()
    await page.get_by_role("button", name="Menu").click()
    await expect(nav).to_be_visible()
    await expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "true")


async def refresh_until(page: Page, rows: Locator, count: int) -> None:
    """Press the delivery log's Refresh until ``rows`` number ``count`` (its read model lags a little)."""
    for _ in range(25):
        if await rows.count() == count:
            return
        await page.get_by_role("button", name="Refresh").click()
        await page.wait_for_timeout(200)
    await expect(rows).to_have_count(count)


async def settled_orders(client: TestClient, tenant: TenantKeys) -> list[dict[str, Any]]:
    """The day's orders (every page) once geocoding (asynchronous) has decided each one."""
    orders: list[dict[str, Any]] = []

    async def decided() -> bool:
        found: list[dict[str, Any]] = []
        cursor = ""
        while True:
            response = await client.get(
                f"/api/tenants/{tenant.tenant_id}/orders?plannedDate={DAY}&limit=1000{cursor}", headers=tenant.auth()
            )
            page = await response.json()
            found.extend(page["orders"])
            if not page["nextCursor"]:
                break
            cursor = f"&cursor={page['nextCursor']}"
        orders[:] = found
        return bool(orders) and all(o["location"]["status"] != "pending" for o in orders)

    await eventually(decided, within=10.0)
    return orders


async def test_a_new_admin_does_everything_the_documentation_describes_from_the_browser(
    client: TestClient, tenant: TenantKeys, browser: Browser, shots: Screenshots
) -> None:
    base = origin_of(client)
    hook_path = f"/api/integrations/wms/{tenant.tenant_id}"
    watch = Watch()
    context = await browser.new_context(viewport=LAPTOP, locale="en-GB", timezone_id="Europe/London")
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = shots.follow(watch.attach(await context.new_page()))

    # Sign in with the tenant's admin API key.
    await page.goto(f"{base}/dashboard/")
    await shots.take(page, "sign-in")
    await page.get_by_label("API key").fill(tenant.admin_key + "-wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("not accepted")
    await sign_in(page, base, tenant.admin_key)
    await page.wait_for_url(f"{base}/dashboard/integrations")
    cookie = next(c for c in await context.cookies() if c["name"] == "wms_intake_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # Settings → Integrations → "Connect WMS": the URL, and the secret shown once.
    await page.get_by_role("button", name="Connect WMS").click()
    await expect(page.get_by_text("you won't see this secret again")).to_be_visible()
    secret = (await page.locator("#webhook-secret").inner_text()).strip()
    assert secret.startswith("whs_")
    webhook_url = (await page.locator("#webhook-url").inner_text()).strip()
    assert webhook_url == f"{base}{hook_path}"
    await page.get_by_role("button", name="Copy secret").click()
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    curl = await page.locator("#curl-example").inner_text()
    assert f'curl -X POST "{webhook_url}"' in curl and f"Authorization: Bearer {secret}" in curl
    await shots.take(page, "integrations-connected")

    # The WMS posts orders with that secret (a batch, an update, and a refused batch).
    batch = [
        {
            "externalOrderId": "WMS-ORD-001",
            "deliveryAddress": "10 High Street, London SW1A 1AA",
            "customerName": "Acme Ltd",
            "totalWeight": 25.5,
            "volume": 1.25,
            "palletCount": 1,
            "specialHandling": ["fragile", "timed_slot"],
            "plannedDate": DAY,
        },
        {
            "externalOrderId": "WMS-ORD-002",
            "deliveryAddress": "1 Deansgate, Manchester M3 1AZ",
            "customerName": "Beta plc",
            "totalWeight": 10,
            "palletCount": 2,
            "plannedDate": DAY,
        },
    ]
    assert (await client.post(hook_path, json=batch, headers=bearer(secret))).status == 200
    update = {**batch[0], "totalWeight": 30}
    assert (await client.post(hook_path, json=update, headers=bearer(secret))).status == 200
    refused = {"externalOrderId": "WMS-ORD-003", "deliveryAddress": "2 Mill Lane", "plannedDate": "2025-02-30"}
    assert (await client.post(hook_path, json=refused, headers=bearer(secret))).status == 422

    # Back on the page: lastReceivedAt as local time and "ago", and the delivery log.
    await page.get_by_role("button", name="I've stored it").click()
    await expect(page.locator("#webhook-secret")).to_have_count(0)
    assert secret not in await page.content()

    async def received() -> bool:
        status = await client.get(f"/api/tenants/{tenant.tenant_id}/integrations", headers=tenant.auth())
        log = await client.get(f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries", headers=tenant.auth())
        return bool((await status.json())["webhook"]["lastReceivedAt"]) and len((await log.json())["deliveries"]) == 3

    await eventually(received)
    await page.reload()
    await expect(page.locator("#last-received")).to_contain_text(re.compile(r"\((just now|\d+ minutes? ago)\)"))
    await expect(page.locator("tr.delivery")).to_have_count(3)
    await expect(page.locator("tr.delivery.accepted")).to_have_count(2)
    rejected = page.locator("tr.delivery.rejected")
    await expect(rejected.locator("pre")).not_to_be_visible()
    await rejected.locator("summary").click()
    await expect(rejected.locator("pre")).to_contain_text("Invalid plannedDate")
    await expect(rejected.locator("pre")).to_contain_text("2025-02-30")
    await shots.take(page, "integrations-delivery-log")

    # Planning: the day's orders, totals and map.
    orders = await settled_orders(client, tenant)
    placed = [o for o in orders if o["location"]["status"] == "ok"]
    assert len(placed) == 2, "the offline UK geocoder places both postcodes"
    await page.get_by_role("link", name="Planning").click()
    await page.wait_for_load_state("networkidle")  # today's (empty) plan is shown first
    await page.get_by_label("Delivery date").fill(DAY)
    await page.get_by_role("button", name="Show orders").click()
    rows = page.locator("#orders-rows tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("WMS-ORD-001")
    await expect(rows.nth(0)).to_contain_text("Acme Ltd")
    await expect(rows.nth(0)).to_contain_text("10 High Street, London SW1A 1AA")
    await expect(rows.nth(0)).to_contain_text("timed_slot")
    await expect(rows.nth(1)).to_contain_text("Beta plc")
    await expect(page.locator("#total-orders")).to_have_text("2")
    await expect(page.locator("#total-weight")).to_have_text("40")
    await expect(page.locator("#total-volume")).to_have_text("1.25")
    await expect(page.locator("#total-pallets")).to_have_text("3")
    await expect(page.locator("#map.leaflet-container.no-tiles")).to_be_visible()
    await expect(page.locator(".leaflet-control-scale")).to_be_visible()
    await expect(page.locator(".leaflet-marker-icon.order-marker")).to_have_count(len(placed))
    for order in placed:
        await expect(page.locator(f'.order-marker[title*="{order["externalOrderId"]}"]')).to_have_count(1)
    await expect(page.locator("#map-summary")).to_contain_text(f"{len(placed)} of 2 orders on the map")
    assert await page.locator(".leaflet-tile").count() == 0
    assert page.url.endswith(f"/dashboard/planning?date={DAY}")
    await shots.take(page, "planning")

    # The order's page: current state, history with sources, and "as of" version 1.
    await rows.nth(0).get_by_role("link", name="WMS-ORD-001").click()
    await expect(page.locator("#order-title")).to_have_text("Order WMS-ORD-001")
    order_id = page.url.split("id=")[1]
    history = await client.get(f"/api/tenants/{tenant.tenant_id}/orders/{order_id}/history", headers=tenant.auth())
    events = (await history.json())["events"]
    timeline = page.locator("#history > li")
    await expect(timeline).to_have_count(len(events))
    await expect(timeline.nth(0)).to_contain_text("Version 1 · Created")
    await expect(timeline.nth(0)).to_contain_text("Webhook delivery")
    shown_ids = await page.locator("#history code.delivery-id").all_inner_texts()
    assert shown_ids == [e["source"]["deliveryId"] for e in events if e["source"].get("deliveryId")]
    updated = timeline.filter(has_text="Updated").filter(has_text="Weight (kg)")
    await expect(updated.locator("tr", has_text="Weight (kg)")).to_contain_text("25.5")
    await expect(updated.locator("tr", has_text="Weight (kg)")).to_contain_text("30")
    await expect(page.locator('#current-state dd[data-field="totalWeight"]')).to_have_text("30")
    await timeline.nth(0).get_by_role("button", name="Show as of version 1").click()
    await expect(page.locator("#as-of-state")).to_contain_text("As of: version 1")
    await expect(page.locator('#as-of-state dd[data-field="totalWeight"]')).to_have_text("25.5")
    await shots.take(page, "order")

    # Regenerate the secret (after a confirmation): the old one is refused at once.
    await page.get_by_role("link", name="Settings → Integrations").click()
    await page.get_by_role("button", name="Regenerate secret").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("stops working at once")
    await dialog.get_by_role("button", name="Regenerate secret").click()
    new_secret = (await page.locator("#webhook-secret").inner_text()).strip()
    assert new_secret.startswith("whs_") and new_secret != secret
    assert (await client.post(hook_path, json=update, headers=bearer(secret))).status == 401
    assert (await client.post(hook_path, json=update, headers=bearer(new_secret))).status == 200
    await page.get_by_role("button", name="I've stored it").click()

    # Deactivate (confirmed) and activate again.
    await page.get_by_role("button", name="Deactivate").click()
    await page.get_by_role("dialog").get_by_role("button", name="Deactivate").click()
    await expect(page.locator("#webhook-state")).to_have_text("Inactive")
    assert (await client.post(hook_path, json=update, headers=bearer(new_secret))).status == 401
    await page.get_by_role("button", name="Activate").click()
    await expect(page.locator("#webhook-state")).to_have_text("Active")
    assert (await client.post(hook_path, json=update, headers=bearer(new_secret))).status == 200

    # Pull from WMS: add an endpoint on a loopback WMS, read its secret, "Sync now".
    async with FakeWms() as wms:
        pulled = [
            {
                "externalOrderId": "PULL-001",
                "deliveryAddress": "5 Princes Street, Edinburgh EH2 2AN",
                "customerName": "Gamma Ltd",
                "totalWeight": 5,
                "plannedDate": DAY,
            }
        ]
        wms.serve_json("/orders", pulled)
        await page.get_by_label("WMS URL").fill(wms.url("/orders"))
        await page.get_by_label("Method").select_option("POST")
        await page.get_by_role("button", name="Add endpoint").click()
        await expect(page.locator("#pull-secret")).to_be_visible()
        pull_secret = (await page.locator("#pull-secret").inner_text()).strip()
        wms.require_secret("/orders", pull_secret)
        endpoint = page.locator("li.endpoint", has_text=wms.url("/orders"))
        await expect(endpoint).to_contain_text("POST")
        await page.get_by_role("button", name="I've stored it").click()
        await endpoint.get_by_role("button", name="Sync now").click()
        result = endpoint.locator(".sync-result")
        await expect(result).to_contain_text("Sync done: 1 order pulled (1 created, 0 updated)")
        seen = wms.requests_to("/orders")
        assert [r.method for r in seen] == ["POST"] and seen[0].headers["Authorization"] == f"Bearer {pull_secret}"
        await expect(endpoint.locator(".last-sync")).to_contain_text("OK · 1 order")
        await shots.take(page, "integrations-pull-synced")
        await refresh_until(page, page.locator("tr.delivery.accepted", has_text="pull"), 1)

        # A WMS answering garbage: the failure is shown inline, with its reason.
        wms.serve_bytes("/orders", b"this is not json")
        await endpoint.get_by_role("button", name="Sync now").click()
        await expect(endpoint.locator(".sync-result")).to_contain_text("Sync failed")
        await expect(endpoint.locator(".last-sync")).to_contain_text("Failed")
        await shots.take(page, "integrations-pull")

        await endpoint.get_by_role("button", name="Remove").click()
        await page.get_by_role("dialog").get_by_role("button", name="Remove").click()
        await expect(page.locator("li.endpoint")).to_have_count(0)

    # The same pages on a phone.
    await page.set_viewport_size(PHONE)
    for name, path in (
        ("phone-integrations", "/dashboard/integrations"),
        ("phone-planning", f"/dashboard/planning?date={DAY}"),
        ("phone-order", f"/dashboard/order?id={order_id}"),
    ):
        await page.goto(f"{base}{path}")
        await page.wait_for_load_state("networkidle")
        await shots.take(page, name)
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        await expect_menu_folds(page)

    # An auditor sees orders and their history, and no Settings page.
    auditor_key = await client.post(
        f"/api/tenants/{tenant.tenant_id}/api-keys", json={"role": "auditor"}, headers=tenant.auth()
    )
    auditor = await browser.new_context(viewport=LAPTOP, locale="en-GB", timezone_id="Europe/London")
    auditor_page = shots.follow(watch.attach(await auditor.new_page()))
    await sign_in(auditor_page, base, (await auditor_key.json())["apiKey"])
    await auditor_page.wait_for_url(f"{base}/dashboard/orders")
    nav = auditor_page.locator("#site-header nav")
    await expect(nav).to_contain_text("Orders")
    await expect(nav).not_to_contain_text("Settings")
    await expect(nav).not_to_contain_text("Planning")
    await expect(nav).not_to_contain_text("API keys")
    await auditor_page.get_by_label("External id contains").fill("ORD-001")
    await auditor_page.get_by_role("button", name="Show").click()
    await expect(auditor_page.locator("#list-rows tr.order-row")).to_have_count(1)
    await auditor_page.get_by_role("link", name="WMS-ORD-001").click()
    await expect(auditor_page.locator("#history > li")).to_have_count(len(events))
    await auditor_page.goto(f"{base}/dashboard/integrations")
    await expect(auditor_page.get_by_role("heading", level=1)).to_have_text("Not available for your role")
    await shots.take(auditor_page, "auditor-no-settings")
    await auditor.close()

    # Sign out: the session is gone, pages send the browser back to sign-in.
    await page.set_viewport_size(LAPTOP)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{base}/dashboard/")
    await page.goto(f"{base}/dashboard/planning")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert "next=%2Fdashboard%2Fplanning" in page.url
    await context.close()

    watch.assert_clean()
    assert len(shots.taken) == 11


# ---------------------------------------------------------------------- a busy tenant: map, lists, keys

#: Postcodes far enough apart to stay separate clusters on a map of Great Britain, and how many
#: orders go to each (London's thousand show the count's thousands separator).
SPREAD = {
    "10 Downing Street, London SW1A 1AA": 1000,
    "1 Deansgate, Manchester M3 1AZ": 40,
    "5 Princes Street, Edinburgh EH2 2AN": 30,
    "Quay Street, Cardiff CF10 1EP": 6,
    "Grey Street, Newcastle NE1 7RU": 20,
    "St Giles Street, Norwich NR2 1NH": 15,
    "Union Street, Aberdeen AB10 1AB": 12,
    "High Street, Inverness IV1 1QA": 8,
}
BELFAST = "1 Queen's Road, Belfast BT3 9EP"


def busy_day() -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    for address, count in SPREAD.items():
        city = address.split(", ")[1].split(" ")[0]
        for number in range(count):
            order: dict[str, Any] = {
                "externalOrderId": f"{city.upper()}-{number:04d}",
                "deliveryAddress": address,
                "customerName": f"{city} Stores",
                "plannedDate": DAY,
                "palletCount": 1,
            }
            # Every tenth order's weight is not known: the totals must say so, not count it as 0.
            if number % 10:
                order["totalWeight"] = 12.5
            orders.append(order)
    orders.append({"externalOrderId": "BELFAST-0001", "deliveryAddress": BELFAST, "plannedDate": DAY})
    # A misspelt plannedDate: accepted, the order has no date, and the 200 says what was ignored.
    orders.append({"externalOrderId": "TYPO-0001", "deliveryAddress": BELFAST, "planedDate": DAY})
    return orders


async def connect_webhook(client: TestClient, tenant: TenantKeys) -> str:
    response = await client.post(f"/api/tenants/{tenant.tenant_id}/integrations/wms/webhook", headers=tenant.auth())
    return str((await response.json())["secret"])


async def test_a_busy_tenant_s_map_orders_keys_and_warnings_in_the_browser(
    client: TestClient, tenant: TenantKeys, browser: Browser, shots: Screenshots
) -> None:
    base = origin_of(client)
    secret = await connect_webhook(client, tenant)
    orders = busy_day()
    response = await client.post(f"/api/integrations/wms/{tenant.tenant_id}", json=orders, headers=bearer(secret))
    assert response.status == 200
    accepted = await response.json()
    assert accepted["warnings"] == [
        {
            "index": len(orders) - 1,
            "externalOrderId": "TYPO-0001",
            "field": "planedDate",
            "message": "unknown field, ignored; did you mean plannedDate?",
        }
    ]
    planned = len(orders) - 1
    settled = await settled_orders(client, tenant)
    assert len(settled) == planned

    watch = Watch()
    context = await browser.new_context(viewport=LAPTOP, locale="en-GB", timezone_id="Europe/London")
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = shots.follow(watch.attach(await context.new_page()))
    await sign_in(page, base, tenant.admin_key)
    await page.wait_for_url(f"{base}/dashboard/integrations")
    await expect(page.locator("#tenant-name")).to_have_text("Acme Deliveries")

    # The delivery log shows what the batch had ignored.
    await refresh_until(page, page.locator("tr.delivery.with-warnings"), 1)
    warned = page.locator("tr.delivery.with-warnings")
    await expect(warned).to_contain_text("1 ignored field")
    await expect(warned.locator(".warnings")).to_contain_text("TYPO-0001")
    await expect(warned.locator(".warnings")).to_contain_text("planedDate")
    await expect(warned.locator(".warnings")).to_contain_text("did you mean plannedDate?")
    await warned.scroll_into_view_if_needed()
    await shots.take(page, "delivery-warnings")

    # Planning: the offline coastline, clusters with counts, the totals' unknowns, the failure's reason.
    await page.goto(f"{base}/dashboard/planning?date={DAY}")
    await expect(page.locator("#orders-rows tr")).to_have_count(planned)
    await expect(page.locator("#map.offline-base canvas")).to_have_count(1)
    await expect(page.locator(".leaflet-control-attribution")).to_contain_text("Natural Earth")
    assert await page.locator(".leaflet-tile").count() == 0
    clusters = page.locator(".order-cluster")
    await expect(clusters).to_have_count(len(SPREAD))
    counts = sorted(await clusters.all_inner_texts(), key=lambda text: int(text.replace(",", "")))
    assert counts == sorted((f"{n:,}" for n in SPREAD.values()), key=lambda text: int(text.replace(",", "")))
    await expect(page.locator("#map-summary")).to_contain_text(f"{planned - 1:,} of {planned:,} orders on the map")
    await expect(page.locator("#map-summary")).to_contain_text("1 could not be located")
    await expect(page.locator("#total-orders")).to_have_text(f"{planned:,}")
    unknown_weights = sum((n + 9) // 10 for n in SPREAD.values()) + 1
    await expect(page.locator("#total-weight-note")).to_have_text(f"{unknown_weights} of {planned:,} unknown")
    await expect(page.locator("#total-volume")).to_have_text("—")
    await expect(page.locator("#total-volume-note")).to_have_text(f"{planned:,} of {planned:,} unknown")
    belfast = page.locator("#orders-rows tr", has_text="BELFAST-0001")
    await expect(belfast.locator(".geocoding-failed .badge")).to_have_text("failed")
    await expect(belfast.locator(".geocoding-failed .reason")).to_have_text(
        "postcode not in the offline data (Great Britain only)"
    )
    dates = page.locator("#planned-dates .date-chip")
    await expect(dates).to_have_count(1)
    await expect(dates.first).to_contain_text(f"22 Feb 2025{planned:,} orders")
    await expect(dates.first).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#undated-orders")).to_have_text("1 order has no planned date")
    await page.locator("#map").evaluate("map => map.scrollIntoView({ block: 'center' })")
    await shots.take(page, "map-clusters", full_page=False)

    # Six orders on one spot: their cluster opens into a spider, each marker clickable.
    await clusters.filter(has_text=re.compile(r"^6$")).click()
    await expect(page.locator(".leaflet-marker-icon.order-marker")).to_have_count(6)
    await page.locator(".leaflet-marker-icon.order-marker").first.click()
    await expect(page.locator(".leaflet-popup")).to_contain_text("CARDIFF-")
    await page.locator("#map").evaluate("map => map.scrollIntoView({ block: 'center' })")
    await shots.take(page, "map-spiderfied", full_page=False)

    # A date with no orders: one line, not a blank map.
    await page.get_by_role("button", name="Next day").click()
    await expect(page.locator("#map-empty")).to_have_text(
        "No orders are planned for this date, so there is nothing to map."
    )
    await expect(page.locator("#map")).to_be_hidden()
    await expect(page.locator("#total-weight")).to_have_text("—")
    await shots.take(page, "planning-empty")
    await page.locator("#planned-dates .date-chip").first.click()
    await expect(page.locator("#map")).to_be_visible()

    # Orders: paged, searched by external id, filtered by "no planned date", each linking to its page.
    await page.get_by_role("link", name="Orders", exact=True).click()
    rows = page.locator("#list-rows tr.order-row")
    await expect(rows).to_have_count(25)
    await expect(page.locator("#list-summary")).to_have_text("orders 1–25")
    await expect(rows.first).to_contain_text("22 Feb 2025")
    await shots.take(page, "orders-list")
    await page.get_by_role("button", name="Next page →").click()
    await expect(page.locator("#page-number")).to_have_text("Page 2")
    await expect(page.locator("#list-summary")).to_have_text("orders 26–50")
    await page.get_by_label("Planned date").select_option("none")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("TYPO-0001")
    await expect(rows.first).to_contain_text("none")
    assert "plannedDate=none" in page.url
    await page.get_by_label("Planned date").select_option("any")
    await page.get_by_label("External id contains").fill("belfast")
    await page.get_by_role("button", name="Show").click()
    await expect(rows).to_have_count(1)
    await rows.first.get_by_role("link", name="BELFAST-0001").click()
    await expect(page.locator('#current-state dd[data-field="location"]')).to_contain_text(
        "geocoding failed · postcode not in the offline data (Great Britain only)"
    )
    await expect(page.locator('#current-state dd[data-field="plannedDate"]')).to_have_text("22 Feb 2025")
    cardiff_id = next(o["orderId"] for o in settled if o["externalOrderId"] == "CARDIFF-0001")
    await page.goto(f"{base}/dashboard/order?id={cardiff_id}")
    customer = page.locator("#history > li").first.locator("tr", has_text="Customer").locator(".customer-name")
    await expect(customer).to_have_text("Cardiff Stores")
    cardiff = next(o for o in settled if o["externalOrderId"] == "CARDIFF-0001")
    await expect(customer).to_have_attribute("title", f"customer {cardiff['customerId']}")
    await expect(page.locator('#current-state dd[data-field="totalWeight"]')).to_have_text("12.5")
    await shots.take(page, "order-names")

    # API keys: create one with a name and a role, shown once; its last use; revoke after a confirm.
    await page.get_by_role("link", name="API keys").click()
    keys = page.locator("#keys-rows tr.api-key")
    await expect(keys).to_have_count(1)
    await expect(keys.first).to_contain_text("you")
    await page.get_by_label("Name").fill("Planner tablet")
    await page.get_by_label("Role").select_option("planner")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.get_by_text("you won't see it again")).to_be_visible()
    new_key = (await page.locator("#new-api-key").inner_text()).strip()
    assert new_key.startswith("wik_")
    await page.get_by_role("button", name="Copy key").click()
    assert await page.evaluate("navigator.clipboard.readText()") == new_key
    tablet = keys.filter(has_text="Planner tablet")
    await expect(tablet).to_contain_text("planner")
    await expect(tablet.locator(".last-used")).to_have_text("never")
    await shots.take(page, "api-keys")
    await page.get_by_role("button", name="I've stored it").click()
    await expect(page.locator("#new-api-key")).to_have_count(0)
    assert new_key not in await page.content()
    used = await client.get(f"/api/tenants/{tenant.tenant_id}/orders?limit=1", headers=tenant.auth(new_key))
    assert used.status == 200
    await page.reload()
    await expect(tablet.locator(".last-used")).to_contain_text("(just now)")
    await tablet.get_by_role("button", name="Revoke Planner tablet").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("stops working at once")
    await dialog.get_by_role("button", name="Revoke key").click()
    await expect(tablet).to_contain_text("Revoked")
    await expect(tablet.get_by_role("button")).to_have_count(0)
    refused = await client.get(f"/api/tenants/{tenant.tenant_id}/orders?limit=1", headers=tenant.auth(new_key))
    assert refused.status == 401
    await shots.take(page, "api-keys-revoked")

    # The new pages on a phone: nothing wider than the screen, the menu folded.
    await page.set_viewport_size(PHONE)
    belfast_id = next(o["orderId"] for o in settled if o["externalOrderId"] == "BELFAST-0001")
    for name, path in (
        ("phone-api-keys", "/dashboard/api-keys"),
        ("phone-orders", "/dashboard/orders"),
        ("phone-map-clusters", f"/dashboard/planning?date={DAY}"),
        ("phone-order-history", f"/dashboard/order?id={cardiff_id}"),
        ("phone-order-failed", f"/dashboard/order?id={belfast_id}"),
        ("phone-delivery-warnings", "/dashboard/integrations"),
    ):
        await page.goto(f"{base}{path}")
        await page.wait_for_load_state("networkidle")
        if name == "phone-map-clusters":
            await page.locator("#map").scroll_into_view_if_needed()
        await shots.take(page, name, full_page=name != "phone-map-clusters")
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        await expect_menu_folds(page)
    # The history's change table stacks: each field's Before and After under its name.
    await page.goto(f"{base}/dashboard/order?id={cardiff_id}")
    first_change = page.locator("#history > li").first.locator("table.changes tbody tr").first
    label = await first_change.locator("th").bounding_box()
    after = await first_change.locator("td").last.bounding_box()
    assert label and after and after["y"] >= label["y"] + label["height"] - 1
    await context.close()

    watch.assert_clean()
    assert len(shots.taken) == 14


async def test_with_a_tile_server_configured_its_tiles_replace_the_offline_layer(
    database_url: str, aiohttp_client: Any, browser: Browser, shots: Screenshots
) -> None:
    tile_requests: list[str] = []

    async def tile(request: web.Request) -> web.Response:
        tile_requests.append(request.path)
        return web.Response(body=ONE_PIXEL_PNG, content_type="image/png")

    tiles = web.Application()
    tiles.router.add_get("/{z}/{x}/{y}.png", tile)
    tile_server = await aiohttp_client(tiles)
    tile_url = f"{origin_of(tile_server)}/{{z}}/{{x}}/{{y}}.png"
    container = build_container(make_settings(database_url, map_tile_url=tile_url, map_tile_attribution="© Test Tiles"))
    try:
        client = await aiohttp_client(create_app(container))
        created = container.use_cases.create_tenant("Tiles Ltd")
        tenant = TenantKeys(str(created.tenant_id), created.admin_api_key)
        secret = await connect_webhook(client, tenant)
        order = {"externalOrderId": "T-1", "deliveryAddress": "10 Downing Street, London SW1A 1AA", "plannedDate": DAY}
        assert (
            await client.post(f"/api/integrations/wms/{tenant.tenant_id}", json=order, headers=bearer(secret))
        ).status == 200
        await settled_orders(client, tenant)
        base = origin_of(client)
        watch = Watch()
        context = await browser.new_context(viewport=LAPTOP, locale="en-GB", timezone_id="Europe/London")
        page = shots.follow(watch.attach(await context.new_page()))
        await sign_in(page, base, tenant.admin_key)
        await page.wait_for_url(f"{base}/dashboard/integrations")
        await page.goto(f"{base}/dashboard/planning?date={DAY}")
        await expect(page.locator(".leaflet-marker-icon.order-marker")).to_have_count(1)
        await expect(page.locator(".leaflet-tile-loaded").first).to_be_visible()
        await expect(page.locator(".leaflet-control-attribution")).to_contain_text("© Test Tiles")
        await expect(page.locator(".leaflet-control-attribution")).not_to_contain_text("Natural Earth")
        assert await page.locator("#map canvas").count() == 0
        assert tile_requests, "the tiles came from the configured server"
        assert not any("world-atlas" in url for url in watch.requests)
        await context.close()
        assert watch.errors == []
    finally:
        container.close()
