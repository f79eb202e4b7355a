"""Every route of the service, in one table: what the router serves and what
``/api/openapi.json`` says about it.

Adding a route: append a ``Route`` to ``ROUTES`` (fields in ``openapi.Route``):
``Route(METHOD, path, handler, "operationName", summary=…, tag=…, roles=…,
request=<pydantic model>, query=(Query(…),), replies=tenant_api({200: Reply(…)}),
links={…})``, or the same through its tag's row maker (``_orders(…)``, ``_pull(…)``, …),
which fills in the tag and what the tag's routes share. ``add_routes`` registers each with aiohttp; ``openapi.py`` builds
the document from the same rows. Give new bodies an example in ``examples.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from aiohttp import web

from interfaces.http import response_schemas as rs
from interfaces.http.dashboard.routes import add_dashboard_routes
from interfaces.http.handlers import (
    api_keys,
    integrations,
    operations,
    order_changes,
    orders,
    pull_endpoints,
    tenants,
    webhook,
)
from interfaces.http.openapi import (
    ALL_ROLES,
    ROUTE_TABLE,
    SERVED,
    UNAUTHORIZED,
    UNAVAILABLE,
    Link,
    Query,
    Reply,
    Route,
    openapi_json,
    page_query,
    tenant_api,
)
from interfaces.http.paging import MAX_LIMIT
from interfaces.http.pull_schemas import AddPullEndpoint, ChangePullEndpoint
from interfaces.http.schema_rules import CALENDAR_DATE
from interfaces.http.schemas import CreateCustomer, IssueApiKey, RotateWebhookSecret, SetWebhookActive

TENANT = "/api/tenants/{tenantId}"
PULL = f"{TENANT}/integrations/wms/pull-endpoints"
SAME_TENANT = {"tenantId": "$request.path.tenantId"}


def _rows(tag: str, **shared: Any) -> Callable[..., Route]:
    """Rows of one tag, with what its routes share (a row may still say otherwise)."""
    return partial(Route, tag=tag, **shared)


ADMIN = ("admin",)
_integrations = _rows("integrations", roles=ADMIN)
_pull = _rows("pull from WMS", roles=ADMIN)
_api_keys = _rows("api keys", roles=ADMIN)
_customers = _rows("customers", roles=("admin", "planner"))
_orders = _rows("orders", roles=ALL_ROLES)
_tenants = _rows("tenants", roles=ALL_ROLES)
_operations = _rows("operations", security=None)


def _order_reads(orders: str, order: str, history: str) -> dict[str, Link]:
    """Links from a body holding ``orders: [{orderId, …}]`` to the order and its
    audit trail (``order`` and ``history`` say which ones); a link names one
    element, the first, as OpenAPI runtime expressions can't range over arrays."""
    order_id = {**SAME_TENANT, "orderId": f"$response.body#/{orders}/0/orderId"}
    return {"order": Link("getOrder", order_id, order), "orderHistory": Link("getOrderHistory", order_id, history)}


def _order_links(orders: str) -> dict[str, Link]:
    """Links from the webhook's success body to the reads of each order it names."""
    return {
        **_order_reads(
            orders, "the order each orderId names (here the first)", "the audit trail of each order (here the first)"
        ),
        "orderByExternalId": Link(
            "getOrderByExternalId",
            {**SAME_TENANT, "externalOrderId": f"$response.body#/{orders}/0/externalOrderId"},
            "each order by the WMS's reference (here the first)",
        ),
    }


def _endpoint_links() -> dict[str, Link]:
    endpoint = {**SAME_TENANT, "endpointId": "$response.body#/id"}
    return {
        "change": Link("changePullEndpoint", endpoint),
        "regenerateSecret": Link("regeneratePullEndpointSecret", endpoint),
        "sync": Link("syncPullEndpoint", endpoint),
        "remove": Link("removePullEndpoint", endpoint),
    }


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/api/integrations/wms/{tenantId}",
        webhook.receive_orders,
        "receiveOrders",
        summary="Receive orders from a WMS (the webhook)",
        tag="webhook",
        security="webhookSecret",
        description=(
            "A single order object or an array of order objects. Fail-fast and atomic: on any "
            "error nothing is created or updated and lastReceivedAt does not move. Checks, in "
            "order: 401, 413, 400 Invalid JSON, 400 Invalid payload shape, 400 Validation failed, "
            "422 Invalid plannedDate, 400 Customer not found. Every refusal after authentication "
            "is recorded in the delivery log under the response's X-Request-Id. A customerId must "
            "name a customer of this tenant; that is a rule about stored data, which the schema "
            "can't state, and its 400 says Customer not found. "
            "With ?atomic=false (partial acceptance, opt-in) the valid items are stored in one "
            "transaction and each invalid item is listed in rejectedItems with the status and error it "
            "would have got alone; 200 when at least one was stored (lastReceivedAt moves), else 400 (or "
            "422 when every refusal was a plannedDate) with the same body. Invalid JSON, a body that is "
            "neither an object nor an array, and the size limits still refuse the whole request."
        ),
        request={"$ref": "#/components/schemas/WebhookPayload"},
        query=(
            Query(
                "atomic",
                {"type": "string", "enum": ["true", "false"], "default": "true"},
                "false: partial acceptance (store the valid items, report the rest); "
                "true or absent: all or nothing, as documented",
            ),
        ),
        replies={
            200: Reply("every order created or updated (with ?atomic=false: the valid ones)", rs.WebhookResult),
            400: Reply(
                "invalid JSON, payload shape, a validation problem or an unknown customer "
                "(with ?atomic=false: every item refused, or a bad atomic value)",
                rs.WebhookBadRequest,
            ),
            401: UNAUTHORIZED,
            408: Reply(
                "the body did not arrive within the client timeout (WMS_INTAKE_CLIENT_TIMEOUT_SECONDS)",
                example={"error": "Request timeout", "details": "the body did not arrive within 60 seconds"},
            ),
            413: Reply("the body or the number of orders is over the limit", rs.PayloadTooLarge),
            415: Reply(
                "the body was sent with a Content-Type that is not JSON",
                example={"error": "Unsupported media type", "details": "send the orders as application/json"},
            ),
            422: Reply(
                "an invalid plannedDate (with ?atomic=false: every item refused for one)", rs.WebhookUnprocessable
            ),
            429: Reply("too many requests for this tenant", rs.TooManyRequests, headers=("Retry-After",)),
            503: UNAVAILABLE,
        },
        links=_order_links("orders"),
    ),
    _integrations(
        "GET",
        f"{TENANT}/integrations",
        integrations.integration_status,
        "getIntegrationStatus",
        summary="Integration status (Settings -> Integrations)",
        # 400: a Host that is not a host, when WMS_INTAKE_PUBLIC_URL is unset (the webhook URL).
        replies=tenant_api({200: Reply("the webhook and pull endpoints", rs.IntegrationStatus)}, bad_request=True),
    ),
    _integrations(
        "POST",
        f"{TENANT}/integrations/wms/webhook",
        integrations.connect_webhook,
        "connectWebhook",
        summary="Connect WMS: create the webhook (its secret is shown once)",
        replies=tenant_api(
            {
                201: Reply("connected", rs.WebhookConnected),
                409: Reply("the WMS webhook is already connected", example={"error": "WMS webhook already connected"}),
            },
            bad_request=True,
        ),
        links={
            "receiveOrders": Link("receiveOrders", SAME_TENANT, "the webhook URL; send the secret as its Bearer token"),
            "setActive": Link("setWebhookActive", SAME_TENANT),
            "regenerateSecret": Link("regenerateWebhookSecret", SAME_TENANT),
        },
    ),
    _integrations(
        "PATCH",
        f"{TENANT}/integrations/wms/webhook",
        integrations.set_webhook_active,
        "setWebhookActive",
        summary="Deactivate or reactivate the webhook",
        request=SetWebhookActive,
        replies=tenant_api({200: Reply("the webhook's state", rs.WebhookActiveState)}, bad_request=True),
    ),
    _integrations(
        "POST",
        f"{TENANT}/integrations/wms/webhook/secret",
        integrations.regenerate_webhook_secret,
        "regenerateWebhookSecret",
        summary="Regenerate the webhook secret (the old one stops working at once)",
        description=(
            "Without a body (or with previousValidForSeconds 0) the old secret stops working at once. "
            "With previousValidForSeconds N (at most 604800, seven days) the old secret keeps working "
            "for N seconds beside the new one (a rotation without downtime); the delivery log says which "
            "secret each delivery used. Deactivating the webhook or DELETE …/webhook/previous-secret ends "
            "the window early."
        ),
        request=RotateWebhookSecret,
        request_required=False,
        replies=tenant_api({200: Reply("the new secret, shown once", rs.NewSecret)}, bad_request=True),
        links={
            "receiveOrders": Link("receiveOrders", SAME_TENANT, "send the new secret as the Bearer token"),
            "endPreviousSecret": Link(
                "endPreviousWebhookSecret", SAME_TENANT, "end the previous secret's window early"
            ),
        },
    ),
    _integrations(
        "DELETE",
        f"{TENANT}/integrations/wms/webhook/previous-secret",
        integrations.end_previous_webhook_secret,
        "endPreviousWebhookSecret",
        summary="End a secret rotation's window early: the previous secret stops working now",
        replies=tenant_api({204: Reply("only the current secret works (also when there was no window)", None)}),
    ),
    _integrations(
        "GET",
        f"{TENANT}/integrations/wms/deliveries",
        integrations.list_deliveries,
        "listDeliveries",
        summary="The delivery log: accepted and rejected batches, newest first",
        query=page_query(50),
        replies=tenant_api({200: Reply("a page of deliveries", rs.DeliveryLogPage)}, bad_request=True),
    ),
    _pull(
        "POST",
        PULL,
        pull_endpoints.add_endpoint,
        "addPullEndpoint",
        summary="Pull from WMS: add a pull endpoint (its secret is shown once)",
        description=(
            "The service will call the URL with Authorization: Bearer <secret> and the given method; "
            "the WMS answers with the webhook's payload. With intervalMinutes it is also pulled on a "
            "schedule, first one interval after it is added."
        ),
        request=AddPullEndpoint,
        replies=tenant_api({201: Reply("added", rs.PullEndpointAdded)}, bad_request=True),
        links=_endpoint_links(),
    ),
    _pull(
        "GET",
        PULL,
        pull_endpoints.list_endpoints,
        "listPullEndpoints",
        summary="List pull endpoints with their sync status (no secrets)",
        replies=tenant_api({200: Reply("every pull endpoint", rs.PullEndpointList)}),
    ),
    _pull(
        "PATCH",
        f"{PULL}/{{endpointId}}",
        pull_endpoints.change_endpoint,
        "changePullEndpoint",
        summary="Change a pull endpoint's URL, method or schedule",
        description="Only the fields given change (at least one); intervalMinutes: null stops the schedule.",
        request=ChangePullEndpoint,
        replies=tenant_api({200: Reply("the endpoint as changed", rs.PullEndpointChanged)}, bad_request=True),
    ),
    _pull(
        "DELETE",
        f"{PULL}/{{endpointId}}",
        pull_endpoints.remove_endpoint,
        "removePullEndpoint",
        summary="Remove a pull endpoint (it is never pulled again)",
        replies=tenant_api({204: Reply("removed", None)}),
    ),
    _pull(
        "POST",
        f"{PULL}/{{endpointId}}/secret",
        pull_endpoints.regenerate_secret,
        "regeneratePullEndpointSecret",
        summary="Regenerate a pull endpoint's secret (the WMS must be given the new one)",
        replies=tenant_api({200: Reply("the new secret, shown once", rs.NewSecret)}),
    ),
    _pull(
        "POST",
        f"{PULL}/{{endpointId}}/sync",
        pull_endpoints.sync_now,
        "syncPullEndpoint",
        summary="Sync now: pull the WMS once and ingest what it returns",
        description=(
            "The pulled data goes through the webhook's checks and batch: 200 is the webhook's success "
            "body. 502 when the WMS could not be reached, timed out, answered non-2xx, sent too much, "
            "redirected to another origin or in a loop, sent data the webhook would refuse (a "
            "Content-Type it would answer 415 to included), echoed the pull secret, or when a later "
            "sync already stored newer data; details then hold exactly the webhook's error body "
            "(otherwise {reason, message, status?, retryAfter?}). A failed sync stores no order; every "
            "attempt shows in the integration status. One sync per endpoint at a time, across "
            "processes: 409 names the running one."
        ),
        replies=tenant_api(
            {
                200: Reply("every pulled order created or updated", rs.WebhookAccepted),
                409: Reply(
                    "a sync of this endpoint is running; syncId names it",
                    example={
                        "error": "A sync of this endpoint is running",
                        "syncId": "5b3e0c2a9d7f4e1a8c6b2d0f9e7a5c31",
                    },
                ),
                429: Reply(
                    "this process runs as many syncs as it may",
                    headers=("Retry-After",),
                    example={"error": "Too many syncs running", "retryAfter": 1},
                ),
                502: Reply(
                    "the pull failed; details say why",
                    example={
                        "error": "The WMS could not be reached",
                        "details": {"reason": "unreachable", "message": "cannot connect to https://wms.acme.example"},
                    },
                ),
            }
        ),
        links=_order_links("orders"),
    ),
    _api_keys(
        "POST",
        f"{TENANT}/api-keys",
        api_keys.issue_api_key,
        "issueApiKey",
        summary="Issue an API key (shown once)",
        request=IssueApiKey,
        replies=tenant_api({201: Reply("the new key", rs.ApiKeyIssued)}, bad_request=True),
        links={"revoke": Link("revokeApiKey", {**SAME_TENANT, "keyId": "$response.body#/id"})},
    ),
    _api_keys(
        "GET",
        f"{TENANT}/api-keys",
        api_keys.list_api_keys,
        "listApiKeys",
        summary="List API keys (no secrets)",
        replies=tenant_api({200: Reply("every key issued", rs.ApiKeyList)}),
    ),
    _api_keys(
        "DELETE",
        f"{TENANT}/api-keys/{{keyId}}",
        api_keys.revoke_api_key,
        "revokeApiKey",
        summary="Revoke an API key (it stops working at once)",
        replies=tenant_api({204: Reply("revoked", None)}),
    ),
    _customers(
        "POST",
        f"{TENANT}/customers",
        orders.create_customer,
        "createCustomer",
        summary="Create a customer",
        request=CreateCustomer,
        replies=tenant_api(
            {
                201: Reply("created", rs.CustomerCreated),
                409: Reply("a customer with this address exists (its customerId is in the body)", rs.CustomerConflict),
            },
            bad_request=True,
        ),
        links={"customer": Link("getCustomer", {**SAME_TENANT, "customerId": "$response.body#/customerId"})},
    ),
    _customers(
        "GET",
        f"{TENANT}/customers",
        orders.list_customers,
        "listCustomers",
        summary="Customers, by name (find a customerId for the webhook's payload)",
        query=(
            Query("q", {"type": "string"}, "only customers whose name or address contains this (any case)"),
            *page_query(100),
        ),
        replies=tenant_api({200: Reply("a page of customers, by name", rs.CustomersPage)}, bad_request=True),
    ),
    _customers(
        "GET",
        f"{TENANT}/customers/{{customerId}}",
        orders.get_customer,
        "getCustomer",
        summary="One customer",
        replies=tenant_api({200: Reply("the customer", rs.CustomerBody)}),
    ),
    _orders(
        "GET",
        f"{TENANT}/orders",
        orders.list_orders,
        "listOrders",
        summary="Orders for planning (all, or those of one plannedDate)",
        query=(
            Query(
                "plannedDate",
                {"anyOf": [{"type": "string", "format": "date", "pattern": CALENDAR_DATE}, {"const": "none"}]},
                'only orders planned for this date; "none": only orders without a planned date',
            ),
            Query(
                "search",
                {"type": "string", "maxLength": 255},
                "only orders whose externalOrderId contains this text (any case)",
            ),
            *page_query(100),
        ),
        replies=tenant_api({200: Reply("a page of orders, by externalOrderId", rs.OrdersPage)}, bad_request=True),
        links=_order_reads(
            "orders",
            "each order of the page (here the first)",
            "the audit trail of each order of the page (here the first)",
        ),
    ),
    _orders(
        "GET",
        f"{TENANT}/orders/changes",
        order_changes.order_changes,
        "listOrderChanges",
        summary="The change feed: the tenant's order changes in commit order, with long polling",
        description=(
            "Every change of every order of the tenant exactly once, oldest first, read from the event "
            "store (not from a read model): each with its position, the order's id, external id and new "
            "version, the fields it changed and the order's whole state after it. Start with after=0 (or "
            "no after), then pass each answer's nextCursor; it is the event store's position, so a consumer "
            "resumes exactly where it stopped. With wait=N (at most 30) an empty answer is held up to N "
            "seconds until a change arrives."
        ),
        query=(
            Query(
                "after",
                {"type": "string", "pattern": "^[0-9]{1,19}$", "default": "0"},
                "the nextCursor of the previous answer (0: from the beginning)",
            ),
            Query(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
                "most changes in one answer",
            ),
            Query(
                "wait",
                {"type": "integer", "minimum": 0, "maximum": 30, "default": 0},
                "seconds to wait for a change when there is none yet (long polling)",
            ),
        ),
        replies=tenant_api(
            {200: Reply("changes after the cursor (maybe none)", rs.OrderChangesPage)}, bad_request=True
        ),
        links=_order_reads(
            "changes",
            "the order each change names (here the first)",
            "the audit trail of each order changed (here the first)",
        ),
    ),
    _orders(
        "GET",
        f"{TENANT}/orders/by-external-id/{{externalOrderId}}",
        orders.get_order_by_external_id,
        "getOrderByExternalId",
        summary="One order, by the WMS's order reference",
        replies=tenant_api({200: Reply("the order", rs.OrderBody)}),
    ),
    _orders(
        "GET",
        f"{TENANT}/orders/{{orderId}}",
        orders.get_order,
        "getOrder",
        summary="One order, now or as it was at a version or a moment",
        description=(
            "asOfVersion and asOf are mutually exclusive (a rule across two parameters, which the "
            "schema can't state): give one, or neither for the order as it is now. Both get 400 "
            '"give asOfVersion or asOf, not both".'
        ),
        query=(
            Query(
                "asOfVersion",
                {"type": "integer", "minimum": 1, "maximum": 2**31},
                "the order as it was at this version (from its history); not with asOf",
            ),
            Query(
                "asOf",
                {"type": "string", "format": "date-time"},
                "the order as it was at this moment (ISO 8601); not with asOfVersion",
            ),
        ),
        replies=tenant_api({200: Reply("the order", rs.OrderBody)}, bad_request=True),
        links={
            "history": Link("getOrderHistory", {**SAME_TENANT, "orderId": "$response.body#/orderId"}),
            "customer": Link("getCustomer", {**SAME_TENANT, "customerId": "$response.body#/customerId"}),
        },
    ),
    _orders(
        "GET",
        f"{TENANT}/orders/{{orderId}}/history",
        orders.order_history,
        "getOrderHistory",
        summary="An order's audit trail: every event, oldest first, with its source",
        roles=("admin", "auditor"),
        replies=tenant_api({200: Reply("the history", rs.OrderHistory)}),
    ),
    _tenants(
        "GET",
        TENANT,
        tenants.get_tenant,
        "getTenant",
        summary="The caller's tenant: its id and name",
        replies=tenant_api({200: Reply("the tenant", rs.TenantSummary)}),
    ),
    _orders(
        "GET",
        f"{TENANT}/planned-dates",
        orders.planned_dates,
        "listPlannedDates",
        summary="The dates that have orders, earliest first, with how many each (and how many have none)",
        query=(
            Query(
                "since", {"type": "string", "format": "date", "pattern": CALENDAR_DATE}, "only dates from this one on"
            ),
            Query(
                "limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "dates listed at most (default 100)"
            ),
        ),
        replies=tenant_api({200: Reply("the dates", rs.PlannedDates)}, bad_request=True),
        links={"orders": Link("listOrders", SAME_TENANT, "the orders of each date (pass it as plannedDate)")},
    ),
    _operations(
        "GET",
        "/healthz",
        operations.healthz,
        "getHealth",
        summary="The process is alive",
        replies={200: Reply("alive", rs.Health)},
    ),
    _operations(
        "GET",
        "/readyz",
        operations.readyz,
        "getReadiness",
        summary="The database can be reached",
        replies={200: Reply("ready", rs.Readiness), 503: Reply("not ready", rs.Readiness, headers=("Retry-After",))},
    ),
    _operations(
        "GET",
        "/metrics",
        operations.metrics,
        "getMetrics",
        summary="Prometheus metrics (text format)",
        replies={
            200: Reply(
                "the metrics",
                {"type": "string"},
                media_type="text/plain",
                example="# TYPE wms_intake_orders_total counter\n"
                'wms_intake_orders_total{channel="webhook",outcome="created"} 2.0\n',
            )
        },
    ),
    _operations(
        "GET",
        "/api/openapi.json",
        openapi_json,
        "getOpenApiDocument",
        summary="This document",
        replies={
            200: Reply(
                "the OpenAPI 3.1 document",
                {"type": "object"},
                example={"openapi": "3.1.0", "info": {"title": "wms-intake", "version": "0.1.0"}, "paths": {}},
            )
        },
    ),
)


def add_routes(app: web.Application) -> None:
    app[SERVED] = {}
    app[ROUTE_TABLE] = ROUTES
    app.router.add_routes([web.route(route.method, route.path, route.handler) for route in ROUTES])
    # The service's address opens the dashboard: a page, not part of the API, so not in the table.
    app.router.add_get("/", operations.root)
    add_dashboard_routes(app)
