"""Presenters of the settings pages' resources (integrations, deliveries, pull
endpoints, keys, the tenant, the session) and of health: a typed value in,
the documented wire body out (checked against its schema too)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from application.access.api_keys import ApiKeyRow, TenantSummary
from application.commands import IssuedApiKey, Principal
from application.key_usage import UsedApiKey
from application.paging import Page
from application.ports.refusals import RefusalTally
from application.read_models import DeliveryRow, IntegrationStatus, PullEndpointRow, WebhookRow
from domain.roles import Role
from interfaces.http import response_schemas as rs
from interfaces.http.dashboard.pages import pages_for
from interfaces.http.presenters.deliveries import present_deliveries_page
from interfaces.http.presenters.integrations import (
    present_integration_status,
    present_new_webhook_secret,
    present_webhook_active,
    present_webhook_connected,
)
from interfaces.http.presenters.keys import present_issued_key, present_key_list, present_used_key_list
from interfaces.http.presenters.operations import present_health, present_ready, present_unready
from interfaces.http.presenters.pull import present_pull_endpoints
from interfaces.http.presenters.sessions import present_session
from interfaces.http.presenters.tenants import present_tenant

STAMP = "2025-02-22T09:30:00.000000Z"
URL = "https://intake.example/api/integrations/wms/t-1"
ENDPOINT = PullEndpointRow("e-1", "https://wms.example/orders", "GET", 15, STAMP, None, None, None, None, STAMP)


def delivery(**partial: Any) -> DeliveryRow:
    return replace(DeliveryRow("d-1", "r-1", "webhook", STAMP, 200, 3, None, None, "current"), **partial)


def test_a_delivery_shows_refused_items_and_warnings_only_when_it_has_them() -> None:
    (plain,) = present_deliveries_page(Page([delivery()], None))["deliveries"]
    assert plain == {
        "deliveryId": "d-1",
        "requestId": "r-1",
        "channel": "webhook",
        "receivedAt": STAMP,
        "status": 200,
        "processed": 3,
        "error": None,
        "endpointId": None,
        "secretUsed": "current",
    }
    warning = {"index": 0, "externalOrderId": "A", "field": "x", "message": "unknown field, ignored"}
    refused = {"index": 1, "externalOrderId": "B", "status": 400, "error": "Validation failed"}
    page = present_deliveries_page(Page([delivery(rejected=1, rejected_items=[refused], warnings=[warning])], "older"))
    (partial,) = page["deliveries"]
    assert (partial["rejected"], partial["rejectedItems"], partial["warnings"]) == (1, [refused], [warning])
    assert page["nextCursor"] == "older"
    rs.DeliveryLogPage.model_validate(page)


def test_the_integration_status_shows_the_webhook_its_refusals_and_the_pull_endpoints() -> None:
    assert present_integration_status(IntegrationStatus(URL, None, [])) == {"webhook": None, "pullEndpoints": []}
    refused = {"wrongSecret": {"count": 2, "lastAt": STAMP}, "deactivated": {"count": 0, "lastAt": None}}
    tallies = {"wrongSecret": RefusalTally(2, STAMP), "deactivated": RefusalTally(0, None)}
    status = IntegrationStatus(URL, WebhookRow(True, STAMP, None, None), [ENDPOINT], tallies)
    body = present_integration_status(status)
    assert body["webhook"] == {
        "webhookUrl": URL,
        "active": True,
        "connectedAt": STAMP,
        "lastReceivedAt": None,
        "previousSecretExpiresAt": None,
        "refusedRequests": refused,
    }
    assert body["pullEndpoints"] == present_pull_endpoints([ENDPOINT])["pullEndpoints"]
    rs.IntegrationStatus.model_validate(body)


def test_a_pull_endpoint_shows_its_schedule_and_last_sync_never_a_secret() -> None:
    body = present_pull_endpoints([ENDPOINT])
    assert body == {
        "pullEndpoints": [
            {
                "id": "e-1",
                "url": "https://wms.example/orders",
                "method": "GET",
                "intervalMinutes": 15,
                "createdAt": STAMP,
                "lastSyncAt": None,
                "lastSyncStatus": None,
                "lastError": None,
                "lastProcessed": None,
                "nextSyncAt": STAMP,
            }
        ]
    }
    rs.PullEndpointList.model_validate(body)


def test_the_webhook_answers_name_its_url_and_a_new_secret_once() -> None:
    connected = present_webhook_connected(URL, "s3cret")
    assert connected == {"webhookUrl": URL, "secret": "s3cret", "active": True}
    rs.WebhookConnected.model_validate({**connected, "eventPosition": 1})
    assert present_new_webhook_secret("new", None) == {"secret": "new"}
    until = datetime(2025, 2, 22, 10, tzinfo=UTC)
    rotated = present_new_webhook_secret("new", until)
    assert rotated == {"secret": "new", "previousSecretExpiresAt": "2025-02-22T10:00:00.000000Z"}
    rs.NewSecret.model_validate({**rotated, "eventPosition": 1})
    assert present_webhook_active(URL, False) == {"webhookUrl": URL, "active": False}


def test_keys_are_shown_with_the_documented_names_and_the_secret_only_when_issued() -> None:
    issued = present_issued_key(IssuedApiKey("k-1", "wms_abc", Role.PLANNER, "Night shift"))
    assert issued == {"id": "k-1", "apiKey": "wms_abc", "role": "planner", "name": "Night shift"}
    rs.ApiKeyIssued.model_validate({**issued, "eventPosition": 1})
    used = present_used_key_list([UsedApiKey(ApiKeyRow("k-1", None, Role.ADMIN, STAMP, False), None)])
    listed = present_key_list([ApiKeyRow("k-2", "x", Role.AUDITOR, STAMP, True)])
    assert [sorted(k) for k in used["apiKeys"] + listed["apiKeys"]] == [
        ["createdAt", "id", "lastUsedAt", "name", "revoked", "role"],
        ["createdAt", "id", "name", "revoked", "role"],
    ]
    assert used["apiKeys"][0] == {
        "id": "k-1",
        "name": None,
        "role": "admin",
        "createdAt": STAMP,
        "revoked": False,
        "lastUsedAt": None,
    }
    assert listed["apiKeys"][0] == {"id": "k-2", "name": "x", "role": "auditor", "createdAt": STAMP, "revoked": True}
    rs.ApiKeyList.model_validate(used)
    rs.ApiKeyList.model_validate(listed)


def test_the_tenant_the_session_and_health() -> None:
    tenant = present_tenant(TenantSummary(UUID(int=1), "Acme"))
    assert tenant == {"tenantId": str(UUID(int=1)), "name": "Acme"}
    rs.TenantSummary.model_validate(tenant)
    principal = Principal(UUID(int=7), "k-1", Role.AUDITOR)
    session = present_session(principal, "csrf", "/dashboard/orders", pages_for(principal), "https://tiles", "©")
    assert (session["tenantId"], session["keyId"], session["role"], session["csrfToken"]) == (
        str(UUID(int=7)),
        "k-1",
        "auditor",
        "csrf",
    )
    assert session["permissions"] == sorted(session["permissions"]) and session["pages"]
    assert session["map"] == {"tileUrl": "https://tiles", "attribution": "©"}
    rs.Health.model_validate(present_health())
    rs.Readiness.model_validate(present_ready())
    assert present_unready(TimeoutError()) == {
        "status": "unavailable",
        "database": "unreachable",
        "reason": "TimeoutError",
    }
