"""Every route of the service, in one table."""

from __future__ import annotations

from aiohttp import web

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
from interfaces.http.openapi import SERVED, openapi_json

TENANT = "/api/tenants/{tenantId}"
PULL_ENDPOINTS = f"{TENANT}/integrations/wms/pull-endpoints"


def add_routes(app: web.Application) -> None:
    app[SERVED] = {}
    app.router.add_routes(
        [
            web.post("/api/integrations/wms/{tenantId}", webhook.receive_orders, name="webhook"),
            web.get(f"{TENANT}/integrations", integrations.integration_status),
            web.post(f"{TENANT}/integrations/wms/webhook", integrations.connect_webhook),
            web.patch(f"{TENANT}/integrations/wms/webhook", integrations.set_webhook_active),
            web.post(f"{TENANT}/integrations/wms/webhook/secret", integrations.regenerate_webhook_secret),
            web.delete(f"{TENANT}/integrations/wms/webhook/previous-secret", integrations.end_previous_webhook_secret),
            web.get(f"{TENANT}/integrations/wms/deliveries", integrations.list_deliveries),
            web.post(PULL_ENDPOINTS, pull_endpoints.add_endpoint),
            web.get(PULL_ENDPOINTS, pull_endpoints.list_endpoints),
            web.patch(f"{PULL_ENDPOINTS}/{{endpointId}}", pull_endpoints.change_endpoint),
            web.delete(f"{PULL_ENDPOINTS}/{{endpointId}}", pull_endpoints.remove_endpoint),
            web.post(f"{PULL_ENDPOINTS}/{{endpointId}}/secret", pull_endpoints.regenerate_secret),
            web.post(f"{PULL_ENDPOINTS}/{{endpointId}}/sync", pull_endpoints.sync_now),
            web.post(f"{TENANT}/api-keys", api_keys.issue_api_key),
            web.get(f"{TENANT}/api-keys", api_keys.list_api_keys),
            web.delete(f"{TENANT}/api-keys/{{keyId}}", api_keys.revoke_api_key),
            web.post(f"{TENANT}/customers", orders.create_customer),
            web.get(f"{TENANT}/customers", orders.list_customers),
            web.get(f"{TENANT}/customers/{{customerId}}", orders.get_customer),
            web.get(f"{TENANT}/orders", orders.list_orders),
            web.get(f"{TENANT}/orders/changes", order_changes.order_changes),
            web.get(f"{TENANT}/orders/by-external-id/{{externalOrderId}}", orders.get_order_by_external_id),
            web.get(f"{TENANT}/orders/{{orderId}}", orders.get_order),
            web.get(f"{TENANT}/orders/{{orderId}}/history", orders.order_history),
            web.get(TENANT, tenants.get_tenant),
            web.get(f"{TENANT}/planned-dates", orders.planned_dates),
            web.get("/", operations.root),
            web.get("/healthz", operations.healthz),
            web.get("/readyz", operations.readyz),
            web.get("/metrics", operations.metrics),
            web.get("/api/openapi.json", openapi_json),
        ]
    )
    add_dashboard_routes(app)
