"""Every route of the service, in one table: what the router serves and what
``/api/openapi.json`` says about it.

Adding a route: append a ``Route`` to ``ROUTES`` (fields in ``openapi.Route``):
``Route(METHOD, path, handler, "operationName", summary=…, tag=…, roles=…,
request=<pydantic model>, query=(Query(…),), replies=tenant_api({200: Reply(…)}),
links={…})``. ``add_routes`` registers each with aiohttp; ``openapi.py`` builds
the document from the same rows. Give new bodies an example in ``examples.py``.
"""

from __future__ import annotations

from aiohttp import web

from interfaces.http import response_schemas as rs
from interfaces.http.dashboard.routes import add_dashboard_routes
from interfaces.http.handlers import api_keys, integrations, operations, orders, pull_endpoints, webhook
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
from interfaces.http.pull_schemas import AddPullEndpoint, ChangePullEndpoint
from interfaces.http.schema_rules import CALENDAR_DATE
from interfaces.http.schemas import CreateCustomer, IssueApiKey, SetWebhookActive

TENANT = "/api/tenants/{tenantId}"
PULL = f"{TENANT}/integrations/wms/pull-endpoints"
SAME_TENANT = {"tenantId": "$request.path.tenantId"}


def _order_links(orders: str) -> dict[str, Link]:
    """Links from a body holding ``orders: [{orderId, externalOrderId}]`` (the
    webhook's success body) to the reads of each order; a link names one
    element, the first, as OpenAPI runtime expressions can't range over arrays."""
    return {
        "order": Link("getOrder", {**SAME_TENANT, "orderId": f"$response.body#/{orders}/0/orderId"},
                      "the order each orderId names (here the first)"),
        "orderHistory": Link("getOrderHistory",
                             {**SAME_TENANT, "orderId": f"$response.body#/{orders}/0/orderId"},
                             "the audit trail of each order (here the first)"),
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
        "POST", "/api/integrations/wms/{tenantId}", webhook.receive_orders, "receiveOrders",
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
            "can't state, and its 400 says Customer not found."
        ),
        request={"$ref": "#/components/schemas/WebhookPayload"},
        replies={
            200: Reply("every order created or updated", rs.WebhookAccepted),
            400: Reply("invalid JSON, payload shape, a validation problem or an unknown customer",
                       rs.WebhookValidationError),
            401: UNAUTHORIZED,
            408: Reply("the body did not arrive within the client timeout (WMS_INTAKE_CLIENT_TIMEOUT_SECONDS)",
                       example={"error": "Request timeout", "details": "the body did not arrive within 60 seconds"}),
            413: Reply("the body or the number of orders is over the limit", rs.PayloadTooLarge),
            415: Reply("the body was sent with a Content-Type that is not JSON", example={
                "error": "Unsupported media type", "details": "send the orders as application/json"}),
            422: Reply("an invalid plannedDate", rs.InvalidPlannedDate),
            429: Reply("too many requests for this tenant", rs.TooManyRequests, headers=("Retry-After",)),
            503: UNAVAILABLE,
        },
        links=_order_links("orders"),
    ),
    Route(
        "GET", f"{TENANT}/integrations", integrations.integration_status, "getIntegrationStatus",
        summary="Integration status (Settings -> Integrations)",
        tag="integrations",
        roles=("admin",),
        replies=tenant_api({200: Reply("the webhook and pull endpoints", rs.IntegrationStatus)}),
    ),
    Route(
        "POST", f"{TENANT}/integrations/wms/webhook", integrations.connect_webhook, "connectWebhook",
        summary="Connect WMS: create the webhook (its secret is shown once)",
        tag="integrations",
        roles=("admin",),
        replies=tenant_api(
            {201: Reply("connected", rs.WebhookConnected),
             409: Reply("the WMS webhook is already connected",
                        example={"error": "WMS webhook already connected"})},
        ),
        links={
            "receiveOrders": Link("receiveOrders", SAME_TENANT,
                                  "the webhook URL; send the secret as its Bearer token"),
            "setActive": Link("setWebhookActive", SAME_TENANT),
            "regenerateSecret": Link("regenerateWebhookSecret", SAME_TENANT),
        },
    ),
    Route(
        "PATCH", f"{TENANT}/integrations/wms/webhook", integrations.set_webhook_active, "setWebhookActive",
        summary="Deactivate or reactivate the webhook",
        tag="integrations",
        roles=("admin",),
        request=SetWebhookActive,
        replies=tenant_api({200: Reply("the webhook's state", rs.WebhookActiveState)}, bad_request=True),
    ),
    Route(
        "POST", f"{TENANT}/integrations/wms/webhook/secret", integrations.regenerate_webhook_secret,
        "regenerateWebhookSecret",
        summary="Regenerate the webhook secret (the old one stops working at once)",
        tag="integrations",
        roles=("admin",),
        replies=tenant_api({200: Reply("the new secret, shown once", rs.NewSecret)}),
        links={"receiveOrders": Link("receiveOrders", SAME_TENANT, "send the new secret as the Bearer token")},
    ),
    Route(
        "GET", f"{TENANT}/integrations/wms/deliveries", integrations.list_deliveries, "listDeliveries",
        summary="The delivery log: accepted and rejected batches, newest first",
        tag="integrations",
        roles=("admin",),
        query=page_query(50),
        replies=tenant_api({200: Reply("a page of deliveries", rs.DeliveryLogPage)}, bad_request=True),
    ),
    Route(
        "POST", PULL, pull_endpoints.add_endpoint, "addPullEndpoint",
        summary="Pull from WMS: add a pull endpoint (its secret is shown once)",
        tag="pull from WMS",
        roles=("admin",),
        description=(
            "The service will call the URL with Authorization: Bearer <secret> and the given method; "
            "the WMS answers with the webhook's payload. With intervalMinutes it is also pulled on a "
            "schedule, first one interval after it is added."
        ),
        request=AddPullEndpoint,
        replies=tenant_api({201: Reply("added", rs.PullEndpointAdded)}, bad_request=True),
        links=_endpoint_links(),
    ),
    Route(
        "GET", PULL, pull_endpoints.list_endpoints, "listPullEndpoints",
        summary="List pull endpoints with their sync status (no secrets)",
        tag="pull from WMS",
        roles=("admin",),
        replies=tenant_api({200: Reply("every pull endpoint", rs.PullEndpointList)}),
    ),
    Route(
        "PATCH", f"{PULL}/{{endpointId}}", pull_endpoints.change_endpoint, "changePullEndpoint",
        summary="Change a pull endpoint's URL, method or schedule",
        tag="pull from WMS",
        roles=("admin",),
        description="Only the fields given change (at least one); intervalMinutes: null stops the schedule.",
        request=ChangePullEndpoint,
        replies=tenant_api({200: Reply("the endpoint as changed", rs.PullEndpointChanged)}, bad_request=True),
    ),
    Route(
        "DELETE", f"{PULL}/{{endpointId}}", pull_endpoints.remove_endpoint, "removePullEndpoint",
        summary="Remove a pull endpoint (it is never pulled again)",
        tag="pull from WMS",
        roles=("admin",),
        replies=tenant_api({204: Reply("removed", None)}),
    ),
    Route(
        "POST", f"{PULL}/{{endpointId}}/secret", pull_endpoints.regenerate_secret, "regeneratePullEndpointSecret",
        summary="Regenerate a pull endpoint's secret (the WMS must be given the new one)",
        tag="pull from WMS",
        roles=("admin",),
        replies=tenant_api({200: Reply("the new secret, shown once", rs.NewSecret)}),
    ),
    Route(
        "POST", f"{PULL}/{{endpointId}}/sync", pull_endpoints.sync_now, "syncPullEndpoint",
        summary="Sync now: pull the WMS once and ingest what it returns",
        tag="pull from WMS",
        roles=("admin",),
        description=(
            "The pulled data goes through the webhook's checks and batch: 200 is the webhook's success "
            "body. 502 when the WMS could not be reached, timed out, answered non-2xx, sent too much, "
            "redirected to another host, or sent data the webhook would refuse; details then hold "
            "exactly the webhook's error body (otherwise {reason, message, status?}). A failed sync "
            "stores no order; every attempt shows in the integration status."
        ),
        replies=tenant_api(
            {200: Reply("every pulled order created or updated", rs.WebhookAccepted),
             502: Reply("the pull failed; details say why", example={
                 "error": "The WMS could not be reached",
                 "details": {"reason": "unreachable", "message": "cannot connect to https://wms.acme.example"}})},
        ),
        links=_order_links("orders"),
    ),
    Route(
        "POST", f"{TENANT}/api-keys", api_keys.issue_api_key, "issueApiKey",
        summary="Issue an API key (shown once)",
        tag="api keys",
        roles=("admin",),
        request=IssueApiKey,
        replies=tenant_api({201: Reply("the new key", rs.ApiKeyIssued)}, bad_request=True),
        links={"revoke": Link("revokeApiKey", {**SAME_TENANT, "keyId": "$response.body#/id"})},
    ),
    Route(
        "GET", f"{TENANT}/api-keys", api_keys.list_api_keys, "listApiKeys",
        summary="List API keys (no secrets)",
        tag="api keys",
        roles=("admin",),
        replies=tenant_api({200: Reply("every key issued", rs.ApiKeyList)}),
    ),
    Route(
        "DELETE", f"{TENANT}/api-keys/{{keyId}}", api_keys.revoke_api_key, "revokeApiKey",
        summary="Revoke an API key (it stops working at once)",
        tag="api keys",
        roles=("admin",),
        replies=tenant_api({204: Reply("revoked", None)}),
    ),
    Route(
        "POST", f"{TENANT}/customers", orders.create_customer, "createCustomer",
        summary="Create a customer",
        tag="customers",
        roles=("admin", "planner"),
        request=CreateCustomer,
        replies=tenant_api(
            {201: Reply("created", rs.CustomerBody),
             409: Reply("a customer with this address exists (its customerId is in the body)", rs.CustomerConflict)},
            bad_request=True,
        ),
        links={"customer": Link("getCustomer", {**SAME_TENANT, "customerId": "$response.body#/customerId"})},
    ),
    Route(
        "GET", f"{TENANT}/customers/{{customerId}}", orders.get_customer, "getCustomer",
        summary="One customer",
        tag="customers",
        roles=("admin", "planner"),
        replies=tenant_api({200: Reply("the customer", rs.CustomerBody)}),
    ),
    Route(
        "GET", f"{TENANT}/orders", orders.list_orders, "listOrders",
        summary="Orders for planning (all, or those of one plannedDate)",
        tag="orders",
        roles=ALL_ROLES,
        query=(
            Query("plannedDate", {"type": "string", "format": "date", "pattern": CALENDAR_DATE},
                  "only orders planned for this date"),
            *page_query(100),
        ),
        replies=tenant_api({200: Reply("a page of orders, by externalOrderId", rs.OrdersPage)},
                           bad_request=True),
    ),
    Route(
        "GET", f"{TENANT}/orders/by-external-id/{{externalOrderId}}", orders.get_order_by_external_id,
        "getOrderByExternalId",
        summary="One order, by the WMS's order reference",
        tag="orders",
        roles=ALL_ROLES,
        replies=tenant_api({200: Reply("the order", rs.OrderBody)}),
    ),
    Route(
        "GET", f"{TENANT}/orders/{{orderId}}", orders.get_order, "getOrder",
        summary="One order, now or as it was at a version or a moment",
        tag="orders",
        roles=ALL_ROLES,
        description=(
            "asOfVersion and asOf are mutually exclusive (a rule across two parameters, which the "
            "schema can't state): give one, or neither for the order as it is now. Both get 400 "
            "\"give asOfVersion or asOf, not both\"."
        ),
        query=(
            Query("asOfVersion", {"type": "integer", "minimum": 1, "maximum": 2**31},
                  "the order as it was at this version (from its history); not with asOf"),
            Query("asOf", {"type": "string", "format": "date-time"},
                  "the order as it was at this moment (ISO 8601); not with asOfVersion"),
        ),
        replies=tenant_api({200: Reply("the order", rs.OrderBody)}, bad_request=True),
        links={
            "history": Link("getOrderHistory", {**SAME_TENANT, "orderId": "$response.body#/orderId"}),
            "customer": Link("getCustomer", {**SAME_TENANT, "customerId": "$response.body#/customerId"}),
        },
    ),
    Route(
        "GET", f"{TENANT}/orders/{{orderId}}/history", orders.order_history, "getOrderHistory",
        summary="An order's audit trail: every event, oldest first, with its source",
        tag="orders",
        roles=("admin", "auditor"),
        replies=tenant_api({200: Reply("the history", rs.OrderHistory)}),
    ),
    Route(
        "GET", "/healthz", operations.healthz, "getHealth",
        summary="The process is alive",
        tag="operations",
        security=None,
        replies={200: Reply("alive", rs.Health)},
    ),
    Route(
        "GET", "/readyz", operations.readyz, "getReadiness",
        summary="The database can be reached",
        tag="operations",
        security=None,
        replies={200: Reply("ready", rs.Readiness),
                 503: Reply("not ready", rs.Readiness, headers=("Retry-After",))},
    ),
    Route(
        "GET", "/metrics", operations.metrics, "getMetrics",
        summary="Prometheus metrics (text format)",
        tag="operations",
        security=None,
        replies={200: Reply("the metrics", {"type": "string"}, media_type="text/plain",
                            example="# TYPE wms_intake_orders_total counter\n"
                                    'wms_intake_orders_total{channel="webhook",outcome="created"} 2.0\n')},
    ),
    Route(
        "GET", "/api/openapi.json", openapi_json, "getOpenApiDocument",
        summary="This document",
        tag="operations",
        security=None,
        replies={200: Reply("the OpenAPI 3.1 document", {"type": "object"},
                            example={"openapi": "3.1.0", "info": {"title": "wms-intake", "version": "0.1.0"},
                                     "paths": {}})},
    ),
)


def add_routes(app: web.Application) -> None:
    app[SERVED] = {}
    app[ROUTE_TABLE] = ROUTES
    app.router.add_routes([web.route(route.method, route.path, route.handler) for route in ROUTES])
    add_dashboard_routes(app)
