"""``GET /api/tenants/{t}/customers``: a WMS finds the customerId to send.

Paged by name, searchable by any part of the name or the address (any case),
for admins and planners; another tenant's customers never show.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.support.http import TenantKeys
from tests.support.waits import eventually

CUSTOMERS = [
    ("Bakery Brown", "1 Mill Lane, York YO1 7HH"),
    ("acme depot", "10 High Street, London SW1A 1AA"),
    ("Carter & Sons", "5 Dock Road, Leeds LS9 9ZZ"),
    ("100%_Fresh", "2 Market Sq, Hull HU1 1AA"),
]


async def create_customers(client: TestClient, tenant: TenantKeys) -> list[dict[str, Any]]:
    made = []
    for name, address in CUSTOMERS:
        response = await client.post(
            f"/api/tenants/{tenant.tenant_id}/customers", json={"name": name, "address": address}, headers=tenant.auth()
        )
        assert response.status == 201, await response.text()
        made.append(await response.json())
    return made


async def listed(client: TestClient, tenant: TenantKeys, query: str = "", key: str | None = None) -> Any:
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/customers{query}", headers=tenant.auth(key))
    return response.status, await response.json()


async def test_customers_are_listed_by_name_in_pages_and_found_by_name_or_address(
    client: TestClient, tenant: TenantKeys, make_tenant: Any
) -> None:
    made = await create_customers(client, tenant)
    other = make_tenant("Other Ltd")
    await client.post(
        f"/api/tenants/{other.tenant_id}/customers",
        json={"name": "Zed", "address": "9 Zed St, York YO1 7HH"},
        headers=other.auth(),
    )

    async def all_there() -> Any:
        status, body = await listed(client, tenant)
        return body if status == 200 and len(body["customers"]) == 4 else None

    body = await eventually(all_there)
    names = [c["name"] for c in body["customers"]]
    assert names == sorted(names) and "Zed" not in names
    assert body["nextCursor"] is None
    # What the 201 answered, less its write position (a list item has none).
    by_id = {c["customerId"]: {k: v for k, v in c.items() if k != "eventPosition"} for c in made}
    assert all(by_id[c["customerId"]] == c for c in body["customers"])

    status, first = await listed(client, tenant, "?limit=3")
    assert status == 200 and len(first["customers"]) == 3 and first["nextCursor"]
    status, rest = await listed(client, tenant, f"?limit=3&cursor={first['nextCursor']}")
    assert [c["name"] for c in first["customers"] + rest["customers"]] == names and rest["nextCursor"] is None

    status, found = await listed(client, tenant, "?q=ACME")
    assert [c["name"] for c in found["customers"]] == ["acme depot"]
    status, found = await listed(client, tenant, "?q=york")
    assert [c["name"] for c in found["customers"]] == ["Bakery Brown"]
    # LIKE's wildcards are searched for as themselves.
    status, found = await listed(client, tenant, "?q=0%25_")
    assert [c["name"] for c in found["customers"]] == ["100%_Fresh"]
    status, found = await listed(client, tenant, "?q=_")
    assert [c["name"] for c in found["customers"]] == ["100%_Fresh"]


async def test_listing_customers_is_for_admins_and_planners_and_a_bad_cursor_is_400(
    client: TestClient, tenant: TenantKeys
) -> None:
    keys = {}
    for role in ("planner", "auditor"):
        response = await client.post(
            f"/api/tenants/{tenant.tenant_id}/api-keys", json={"role": role}, headers=tenant.auth()
        )
        keys[role] = (await response.json())["apiKey"]
    assert (await listed(client, tenant, key=keys["planner"]))[0] == 200
    assert (await listed(client, tenant, key=keys["auditor"]))[0] == 403
    assert (await listed(client, tenant, "?cursor=nonsense"))[0] == 400
    assert (await listed(client, tenant, "?limit=0"))[0] == 400
