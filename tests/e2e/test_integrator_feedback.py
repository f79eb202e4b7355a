"""What the dashboard's pages and integrators are told, over real HTTP, on SQLite and PostgreSQL.

- A 200 of the webhook lists the fields it ignored (``warnings``), only when
  there are any; the delivery log keeps them.
- API keys have a name and a last use; the tenant's name can be read; the
  order list can be searched and filtered by "no planned date"; the dates
  with orders are listed with their counts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from aiohttp.test_utils import TestClient

from application.commands import Principal
from application.key_usage import KeyUsage
from domain.roles import Role
from infrastructure.key_usage import SqlKeyUsageStore
from interfaces.container import Container
from tests.support.http import TenantKeys, Webhook, accept_orders
from tests.support.waits import eventually


async def deliveries(client: TestClient, tenant: TenantKeys) -> list[dict[str, Any]]:
    response = await client.get(f"/api/tenants/{tenant.tenant_id}/integrations/wms/deliveries", headers=tenant.auth())
    return list((await response.json())["deliveries"])


# ---------------------------------------------------------------------- ignored fields


async def test_a_misspelt_field_is_accepted_and_named_in_the_warnings(client: TestClient, webhook: Webhook) -> None:
    batch = [
        {"externalOrderId": "W-1", "deliveryAddress": "10 High St, London SW1A 1AA", "plannedDate": "2025-02-22"},
        {
            "externalOrderId": "W-2",
            "deliveryAddress": "10 High St, London SW1A 1AA",
            "planedDate": "2025-02-22",
            "colour": "red",
        },
    ]
    body = await accept_orders(client, webhook, batch)
    assert body["accepted"] is True and body["processed"] == 2
    assert body["warnings"] == [
        {
            "index": 1,
            "externalOrderId": "W-2",
            "field": "planedDate",
            "message": "unknown field, ignored; did you mean plannedDate?",
        },
        {"index": 1, "externalOrderId": "W-2", "field": "colour", "message": "unknown field, ignored"},
    ]

    async def logged() -> list[dict[str, Any]]:
        return [d for d in await deliveries(client, webhook.tenant) if d.get("warnings")]

    [entry] = await eventually(logged)
    assert entry["requestId"] and entry["warnings"] == body["warnings"]


async def test_a_batch_without_unknown_fields_gets_the_documented_body_exactly(
    client: TestClient, webhook: Webhook
) -> None:
    body = await accept_orders(
        client, webhook, {"externalOrderId": "W-3", "deliveryAddress": "1 Deansgate, Manchester M3 1AZ"}
    )
    assert set(body) == {"accepted", "processed", "orders"}
    await eventually(lambda: _has_deliveries(client, webhook.tenant))
    assert all("warnings" not in d for d in await deliveries(client, webhook.tenant))


async def _has_deliveries(client: TestClient, tenant: TenantKeys) -> bool:
    return bool(await deliveries(client, tenant))


async def test_warnings_stop_at_one_hundred_however_many_items_have_them(client: TestClient, webhook: Webhook) -> None:
    batch = [
        {"externalOrderId": f"M-{i}", "deliveryAddress": "1 Deansgate, Manchester M3 1AZ", "extra": i}
        for i in range(150)
    ]
    body = await accept_orders(client, webhook, batch)
    assert body["processed"] == 150
    assert len(body["warnings"]) == 100 and body["warnings"][-1]["index"] == 99


# ---------------------------------------------------------------------- API keys and the tenant


async def test_a_key_is_issued_with_a_name_and_listed_with_its_last_use(client: TestClient, tenant: TenantKeys) -> None:
    base = f"/api/tenants/{tenant.tenant_id}/api-keys"
    issued = await client.post(base, json={"role": "planner", "name": "  Planner tablet "}, headers=tenant.auth())
    assert issued.status == 201
    key = await issued.json()
    assert key["name"] == "Planner tablet" and key["role"] == "planner"

    listed = {k["id"]: k for k in (await (await client.get(base, headers=tenant.auth())).json())["apiKeys"]}
    assert listed[key["id"]]["name"] == "Planner tablet"
    assert listed[key["id"]]["lastUsedAt"] is None

    used = await client.get(f"/api/tenants/{tenant.tenant_id}/orders", headers=tenant.auth(key["apiKey"]))
    assert used.status == 200
    listed = {k["id"]: k for k in (await (await client.get(base, headers=tenant.auth())).json())["apiKeys"]}
    last_used = datetime.fromisoformat(listed[key["id"]]["lastUsedAt"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - last_used) < timedelta(minutes=1)


async def test_a_blank_or_overlong_key_name_is_refused_and_issues_nothing(
    client: TestClient, tenant: TenantKeys
) -> None:
    base = f"/api/tenants/{tenant.tenant_id}/api-keys"
    before = (await (await client.get(base, headers=tenant.auth())).json())["apiKeys"]
    for name in ("   ", "x" * 101, 7):
        response = await client.post(base, json={"role": "auditor", "name": name}, headers=tenant.auth())
        assert response.status == 400, name
    after = (await (await client.get(base, headers=tenant.auth())).json())["apiKeys"]
    assert [k["id"] for k in after] == [k["id"] for k in before]


class SteppingClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def test_a_busy_key_writes_its_last_use_at_most_once_a_minute(container: Container) -> None:
    store = SqlKeyUsageStore(container.db)
    clock = SteppingClock()
    usage = KeyUsage(store, container.use_cases, clock)
    tenant = UUID(int=7)
    principal = Principal(tenant_id=tenant, key_id="k1", role=Role.ADMIN)
    first = clock.at

    usage.used(principal)
    clock.at = first + timedelta(seconds=59)
    assert not usage.due(principal)
    usage.used(principal)
    assert store.last_used(tenant) == {"k1": first}

    clock.at = first + timedelta(seconds=61)
    assert usage.due(principal)
    usage.used(principal)
    assert store.last_used(tenant) == {"k1": first + timedelta(seconds=61)}

    # Another process that wrote an older time never moves it back.
    store.record(tenant, "k1", first)
    assert store.last_used(tenant) == {"k1": first + timedelta(seconds=61)}


async def test_every_role_reads_its_own_tenants_name_and_no_other(
    client: TestClient, tenant: TenantKeys, make_tenant: Any
) -> None:
    auditor = await client.post(
        f"/api/tenants/{tenant.tenant_id}/api-keys", json={"role": "auditor"}, headers=tenant.auth()
    )
    auditor_key = (await auditor.json())["apiKey"]
    response = await client.get(f"/api/tenants/{tenant.tenant_id}", headers=tenant.auth(auditor_key))
    assert response.status == 200
    assert await response.json() == {"tenantId": tenant.tenant_id, "name": "Acme Deliveries"}
    other = make_tenant("Other Ltd")
    assert (await client.get(f"/api/tenants/{other.tenant_id}", headers=tenant.auth())).status == 404


# ---------------------------------------------------------------------- orders list and dates


async def accept_planned(client: TestClient, webhook: Webhook, planned: dict[str, str | None]) -> None:
    """The webhook accepts one order per external id, all to one address, each
    planned for its date (``None``: sent without a planned date)."""
    address = "1 Deansgate, Manchester M3 1AZ"
    orders = [
        {"externalOrderId": external_id, "deliveryAddress": address} | ({"plannedDate": date} if date else {})
        for external_id, date in planned.items()
    ]
    await accept_orders(client, webhook, orders)


async def test_orders_are_searched_by_external_id_and_filtered_by_no_planned_date(
    client: TestClient, webhook: Webhook
) -> None:
    tenant = webhook.tenant
    await accept_planned(
        client, webhook, {"ACME-100": "2025-02-22", "acme-101": None, "BETA_1": None, "BETAX1": "2025-02-23"}
    )
    base = f"/api/tenants/{tenant.tenant_id}/orders"

    async def ids(query: str) -> list[str]:
        response = await client.get(f"{base}?{query}", headers=tenant.auth())
        assert response.status == 200, await response.text()
        return [o["externalOrderId"] for o in (await response.json())["orders"]]

    await eventually(lambda: _count_is(ids, "", 4))
    assert await ids("search=acme-1") == ["ACME-100", "acme-101"]
    assert await ids("search=beta_") == ["BETA_1"], "an underscore is matched literally"
    assert await ids("search=%25") == []
    assert await ids("plannedDate=none") == ["BETA_1", "acme-101"]
    assert await ids("plannedDate=none&search=acme") == ["acme-101"]
    assert await ids("plannedDate=2025-02-23") == ["BETAX1"]
    for bad in ("plannedDate=never", "plannedDate=2025-02-30", "search=" + "x" * 256):
        assert (await client.get(f"{base}?{bad}", headers=tenant.auth())).status == 400, bad


async def _count_is(ids: Any, query: str, count: int) -> bool:
    return len(await ids(query)) == count


async def test_the_dates_with_orders_are_listed_with_their_counts(client: TestClient, webhook: Webhook) -> None:
    tenant = webhook.tenant
    await accept_planned(client, webhook, {"D-1": "2025-02-22", "D-2": "2025-02-22", "D-3": "2025-03-01", "D-4": None})
    base = f"/api/tenants/{tenant.tenant_id}/planned-dates"

    async def dates(query: str = "") -> dict[str, Any]:
        response = await client.get(f"{base}?{query}", headers=tenant.auth())
        assert response.status == 200
        return dict(await response.json())

    async def all_in() -> bool:
        return (await dates())["undated"] == 1 and len((await dates())["dates"]) == 2

    await eventually(all_in)
    assert await dates() == {
        "dates": [{"date": "2025-02-22", "orders": 2}, {"date": "2025-03-01", "orders": 1}],
        "undated": 1,
    }
    assert (await dates("since=2025-02-23"))["dates"] == [{"date": "2025-03-01", "orders": 1}]
    assert (await dates("limit=1"))["dates"] == [{"date": "2025-02-22", "orders": 2}]
    assert (await client.get(f"{base}?since=tomorrow", headers=tenant.auth())).status == 400
