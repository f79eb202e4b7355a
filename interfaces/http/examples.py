"""An example of every request and response body of the OpenAPI document.

Keyed by the pydantic model (or the component name) that describes the body;
``openapi.py`` puts them on each media type as named ``examples``. The
webhook's examples are those of docs/contract.md. A test checks that
every body in the document has one and that each is valid against its schema.
"""

from __future__ import annotations

from typing import Any

from interfaces.http import pull_schemas as ps
from interfaces.http import response_schemas as rs
from interfaces.http import schemas as rq

TENANT_ID = "7a64c201-0818-43e6-bd71-536a33f9b60c"
ORDER_ID = "4d9f3a53-4ad5-5b0c-9a8e-54bb1f4f6e0b"
CUSTOMER_ID = "fb87e09a-bfc5-5fdd-853b-834841296088"
ENDPOINT_ID = "3f1c8b0e-58a2-4c8e-9d51-6c0b9f1e2a77"
REQUEST_ID = "c8355870185c4fd184f7b59f62f11709"
DELIVERY_ID = "03ecff2a-a561-4822-93f8-5ea4ee3ae68c"
WEBHOOK_URL = f"https://wms-intake.example/api/integrations/wms/{TENANT_ID}"
AT = "2025-02-20T09:30:00.000000Z"
LATER = "2025-02-21T14:05:12.250000Z"

ORDER = {
    "orderId": ORDER_ID,
    "externalOrderId": "WMS-ORD-001",
    "customerId": CUSTOMER_ID,
    "customerName": "Acme Ltd",
    "deliveryAddress": "10 High Street, London SW1A 1AA",
    "totalWeight": 25.5,
    "volume": None,
    "palletCount": 1,
    "specialHandling": ["fragile"],
    "plannedDate": "2025-02-22",
    "location": {"lat": 51.501, "lon": -0.1416, "precision": "postcode", "status": "ok"},
    "createdAt": AT,
    "updatedAt": LATER,
    "version": 2,
}
PULL_ENDPOINT = {
    "id": ENDPOINT_ID,
    "url": "https://wms.acme.example/orders",
    "method": "GET",
    "createdAt": AT,
    "intervalMinutes": 15,
    "lastSyncAt": LATER,
    "lastSyncStatus": "ok",
    "lastError": None,
    "lastProcessed": 2,
    "nextSyncAt": "2025-02-21T14:20:12.250000Z",
}
DOCUMENTED_SINGLE = {
    "externalOrderId": "WMS-ORD-001",
    "deliveryAddress": "10 High Street, London SW1A 1AA",
    "customerName": "Acme Ltd",
    "customerContact": "deliveries@acme.com",
    "totalWeight": 25.5,
    "palletCount": 1,
    "plannedDate": "2025-02-22",
}
DOCUMENTED_BATCH = [
    {
        "externalOrderId": "WMS-ORD-001",
        "deliveryAddress": "10 High Street, London SW1A 1AA",
        "customerName": "Acme Ltd",
        "totalWeight": 25.5,
    },
    {"externalOrderId": "WMS-ORD-002", "customerId": "clxx...", "totalWeight": 10, "plannedDate": "2025-02-22"},
]
DOCUMENTED_CURL = {
    "externalOrderId": "ORD-1",
    "deliveryAddress": "10 High St, London SW1A 1AA",
    "customerName": "Acme",
    "plannedDate": "2025-02-22",
}

#: The documented batch's second order, refused: the 400 the webhook answers for it.
_VALIDATION_FAILED = {
    "error": "Validation failed",
    "details": [
        {
            "index": 1,
            "externalOrderId": "WMS-ORD-002",
            "field": "deliveryAddress",
            "message": "deliveryAddress or customerId is required",
        }
    ],
}
#: The 422 for a date that is not a real calendar date.
_INVALID_PLANNED_DATE = {
    "error": "Invalid plannedDate",
    "fieldErrors": {
        "plannedDate": [
            "item 0 (externalOrderId 'WMS-ORD-001'): plannedDate must be a real calendar date in YYYY-MM-DD "
            "format, got '2025-02-30'"
        ]
    },
}
#: The same order refused alone in a partial acceptance.
_REFUSED = {"index": 1, "externalOrderId": "WMS-ORD-002", "status": 400, **_VALIDATION_FAILED}
PARTIAL = {
    "accepted": True,
    "atomic": False,
    "processed": 1,
    "rejected": 1,
    "orders": [{"index": 0, "externalOrderId": "WMS-ORD-001", "orderId": ORDER_ID, "created": True}],
    "rejectedItems": [_REFUSED],
}
NOTHING_STORED = {
    "accepted": False,
    "atomic": False,
    "processed": 0,
    "rejected": 1,
    "orders": [],
    "rejectedItems": [{**_REFUSED, "index": 0}],
    "error": "Every order was rejected",
}


def _one(value: Any, summary: str = "") -> dict[str, Any]:
    return {"summary": summary, "value": value} if summary else {"value": value}


#: body (model or component name) -> named examples
EXAMPLES: dict[object, dict[str, dict[str, Any]]] = {
    # ------------------------------------------------------------ requests
    "WebhookPayload": {
        "single": _one(DOCUMENTED_SINGLE, "a single order (the documentation's example)"),
        "batch": _one(DOCUMENTED_BATCH, "a batch (the documentation's example; customerId must exist)"),
        "curl": _one(DOCUMENTED_CURL, "the documentation's cURL example"),
    },
    rq.SetWebhookActive: {"deactivate": _one({"active": False}), "activate": _one({"active": True})},
    rq.IssueApiKey: {"planner": _one({"role": "planner"})},
    rq.RotateWebhookSecret: {
        "with a window": _one({"previousValidForSeconds": 3600}, "the old secret keeps working for an hour"),
        "at once": _one({"previousValidForSeconds": 0}, "the old secret stops working at once (as no body)"),
    },
    rq.CreateCustomer: {
        "customer": _one(
            {"name": "Acme Ltd", "address": "10 High Street, London SW1A 1AA", "contact": "deliveries@acme.com"}
        )
    },
    ps.AddPullEndpoint: {
        "scheduled": _one({"url": "https://wms.acme.example/orders", "method": "GET", "intervalMinutes": 15}),
        "on demand": _one({"url": "https://wms.acme.example/export", "method": "POST"}),
    },
    ps.ChangePullEndpoint: {
        "schedule": _one({"intervalMinutes": 5}),
        "stop the schedule": _one({"intervalMinutes": None}),
    },
    # ------------------------------------------------------------ errors
    rs.ErrorBody: {"error": _one({"error": "Order not found"})},
    rs.WebhookValidationError: {
        "validation": _one(_VALIDATION_FAILED),
        "customer": _one(
            {
                "error": "Customer not found",
                "details": [
                    {
                        "index": 1,
                        "externalOrderId": "WMS-ORD-002",
                        "field": "customerId",
                        "message": "customer clxx... not found",
                    }
                ],
            }
        ),
        "json": _one({"error": "Invalid JSON"}),
    },
    rs.InvalidPlannedDate: {"plannedDate": _one(_INVALID_PLANNED_DATE)},
    rs.PayloadTooLarge: {
        "items": _one(
            {
                "error": "Payload too large",
                "details": "a batch holds at most 10000 orders, got 10001",
                "maxItems": 10000,
            }
        )
    },
    rs.TooManyRequests: {"limited": _one({"error": "Too many requests", "retryAfter": 1})},
    # ------------------------------------------------------------ the webhook
    rs.WebhookAccepted: {
        "accepted": _one(
            {
                "accepted": True,
                "processed": 2,
                "orders": [
                    {"externalOrderId": "WMS-ORD-001", "orderId": ORDER_ID, "created": True},
                    {
                        "externalOrderId": "WMS-ORD-002",
                        "orderId": "9b2e61a0-7c1d-5f7e-8a43-2d6f0c9e1b55",
                        "created": False,
                    },
                ],
            }
        )
    },
    rs.WebhookResult: {
        "accepted": _one(
            {
                "accepted": True,
                "processed": 1,
                "orders": [{"externalOrderId": "WMS-ORD-001", "orderId": ORDER_ID, "created": True}],
            }
        ),
        "partial": _one(PARTIAL, "?atomic=false: one stored, one refused"),
    },
    rs.WebhookBadRequest: {
        "validation": _one(
            {
                "error": "Validation failed",
                "details": [
                    {
                        "index": 0,
                        "externalOrderId": "WMS-ORD-002",
                        "field": "deliveryAddress",
                        "message": "deliveryAddress or customerId is required",
                    }
                ],
            }
        ),
        "every item refused": _one(NOTHING_STORED, "?atomic=false: no item was valid"),
    },
    rs.WebhookUnprocessable: {"plannedDate": _one(_INVALID_PLANNED_DATE)},
    # ------------------------------------------------------------ integrations
    rs.WebhookConnected: {
        "connected": _one(
            {
                "webhookUrl": WEBHOOK_URL,
                "secret": "whs_QH55PLM2MFYcBb4H4CLrBfkmeSDQ2NpAt4B-DiZFHfQ",
                "active": True,
                "eventPosition": 41,
            }
        )
    },
    rs.NewSecret: {
        "secret": _one({"secret": "whs_Zk3Vq8yE0rT2nL5pW7bX1cA9dF4gH6jK0mN2qR8sU3w", "eventPosition": 57}),
        "with a window": _one(
            {
                "secret": "whs_Zk3Vq8yE0rT2nL5pW7bX1cA9dF4gH6jK0mN2qR8sU3w",
                "eventPosition": 57,
                "previousSecretExpiresAt": LATER,
            }
        ),
    },
    rs.WebhookActiveState: {"inactive": _one({"webhookUrl": WEBHOOK_URL, "active": False, "eventPosition": 58})},
    rs.IntegrationStatus: {
        "connected": _one(
            {
                "webhook": {"webhookUrl": WEBHOOK_URL, "active": True, "connectedAt": AT, "lastReceivedAt": LATER},
                "pullEndpoints": [PULL_ENDPOINT],
            }
        )
    },
    rs.DeliveryLogPage: {
        "page": _one(
            {
                "deliveries": [
                    {
                        "requestId": REQUEST_ID,
                        "channel": "webhook",
                        "receivedAt": LATER,
                        "status": 200,
                        "processed": 2,
                        "error": None,
                        "deliveryId": DELIVERY_ID,
                        "endpointId": None,
                    },
                    {
                        "requestId": "5a0f2b9c6e1d4c3b8a7f9e2d1c0b4a36",
                        "channel": "webhook",
                        "receivedAt": AT,
                        "status": 400,
                        "processed": 0,
                        "error": {
                            "error": "Validation failed",
                            "details": [
                                {
                                    "index": 0,
                                    "externalOrderId": "ORD-9",
                                    "field": "deliveryAddress",
                                    "message": "deliveryAddress or customerId is required",
                                }
                            ],
                        },
                        "deliveryId": "7d3b1e4a-9c2f-4b8e-a6d5-0f1e2c3b4a59",
                        "endpointId": None,
                    },
                ],
                "nextCursor": "WyIyMDI1LTAyLTIwVDA5OjMwOjAwLjAwMDAwMFoiLCI3ZDNiIl0",
            }
        )
    },
    rs.PullEndpointAdded: {
        "added": _one(
            {
                "id": ENDPOINT_ID,
                "url": "https://wms.acme.example/orders",
                "method": "GET",
                "intervalMinutes": 15,
                "secret": "wps_b7Jc2mQ9xV4tR1zL8nK3pW6yH0dF5gS2aE9uI4oT7qM",
                "eventPosition": 63,
            }
        )
    },
    rs.PullEndpointChanged: {
        "changed": _one(
            {
                "id": ENDPOINT_ID,
                "url": "https://wms.acme.example/orders",
                "method": "GET",
                "intervalMinutes": 5,
                "nextSyncAt": "2025-02-21T14:10:12.250000Z",
                "eventPosition": 64,
            }
        )
    },
    rs.PullEndpointList: {"list": _one({"pullEndpoints": [PULL_ENDPOINT]})},
    # ------------------------------------------------------------ API keys
    rs.ApiKeyIssued: {
        "issued": _one(
            {
                "id": "9f6357059365937e",
                "role": "planner",
                "apiKey": f"wik_{TENANT_ID.replace('-', '')}_9f6357059365937e_"
                "x2Lq8VnR4tYc7KpW1zB5mJ0dF3gH6sA9eU2oI4lN8rT",
                "eventPosition": 70,
            }
        )
    },
    rs.ApiKeyList: {
        "keys": _one(
            {
                "apiKeys": [
                    {"id": "0938fb40ab1734e6", "role": "admin", "createdAt": AT, "revoked": False},
                    {"id": "9f6357059365937e", "role": "planner", "createdAt": LATER, "revoked": True},
                ]
            }
        )
    },
    # ------------------------------------------------------------ customers and orders
    rs.CustomerBody: {
        "customer": _one(
            {
                "customerId": CUSTOMER_ID,
                "name": "Acme Ltd",
                "contact": "deliveries@acme.com",
                "address": "10 High Street, London SW1A 1AA",
                "createdAt": AT,
            }
        )
    },
    rs.CustomerCreated: {
        "created": _one(
            {
                "customerId": CUSTOMER_ID,
                "name": "Acme Ltd",
                "contact": "deliveries@acme.com",
                "address": "10 High Street, London SW1A 1AA",
                "createdAt": AT,
                "eventPosition": 72,
            }
        )
    },
    rs.CustomersPage: {
        "page": _one(
            {
                "customers": [
                    {
                        "customerId": CUSTOMER_ID,
                        "name": "Acme Ltd",
                        "contact": "deliveries@acme.com",
                        "address": "10 High Street, London SW1A 1AA",
                        "createdAt": AT,
                    }
                ],
                "nextCursor": None,
            }
        )
    },
    rs.TenantSummary: {"tenant": _one({"tenantId": TENANT_ID, "name": "Acme Logistics"})},
    rs.PlannedDates: {
        "dates": _one(
            {"dates": [{"date": "2025-02-22", "orders": 12}, {"date": "2025-02-23", "orders": 3}], "undated": 2}
        )
    },
    rs.OrderChangesPage: {
        "changes": _one(
            {
                "changes": [
                    {
                        "position": "118",
                        "type": "OrderUpdated",
                        "orderId": ORDER_ID,
                        "externalOrderId": "WMS-ORD-001",
                        "version": 2,
                        "timestamp": LATER,
                        "changes": {"palletCount": 1, "specialHandling": ["fragile"]},
                        # The order example as of this change: its fields, without
                        # what the read model adds (customer name, resolved location).
                        "state": {
                            **{k: v for k, v in ORDER.items() if k not in ("customerName", "location")},
                            "latitude": None,
                            "longitude": None,
                        },
                    }
                ],
                "nextCursor": "118",
            }
        )
    },
    rs.CustomerConflict: {"exists": _one({"error": "A customer with this address exists", "customerId": CUSTOMER_ID})},
    rs.OrderBody: {"order": _one(ORDER)},
    rs.OrdersPage: {"page": _one({"orders": [ORDER], "nextCursor": None})},
    rs.OrderHistory: {
        "history": _one(
            {
                "orderId": ORDER_ID,
                "events": [
                    {
                        "type": "OrderCreated",
                        "version": 1,
                        "timestamp": AT,
                        "changes": {
                            "externalOrderId": "WMS-ORD-001",
                            "customerId": CUSTOMER_ID,
                            "deliveryAddress": "10 High Street, London SW1A 1AA",
                            "totalWeight": 25.5,
                            "plannedDate": "2025-02-22",
                        },
                        "source": {"channel": "webhook", "deliveryId": DELIVERY_ID, "requestId": REQUEST_ID},
                    },
                    {
                        "type": "OrderUpdated",
                        "version": 2,
                        "timestamp": LATER,
                        "changes": {"palletCount": 1, "specialHandling": ["fragile"]},
                        "source": {
                            "channel": "pull",
                            "deliveryId": "e1a2b3c4-d5e6-4f70-8a9b-0c1d2e3f4a5b",
                            "requestId": "0f9e8d7c6b5a49382716f5e4d3c2b1a0",
                        },
                    },
                ],
            }
        )
    },
    # ------------------------------------------------------------ operations
    rs.Health: {"alive": _one({"status": "ok"})},
    rs.Readiness: {
        "ready": _one({"status": "ready", "database": "ok"}),
        "not ready": _one({"status": "unavailable", "database": "unreachable", "reason": "connection refused"}),
    },
}


def example_of(body: object) -> dict[str, dict[str, Any]] | None:
    """The named examples of a body (a model, or a ``$ref`` to a component)."""
    if isinstance(body, dict) and "$ref" in body:
        body = str(body["$ref"]).rsplit("/", 1)[-1]
    try:
        return EXAMPLES.get(body)
    except TypeError:  # an inline schema dict: examples are given on its Reply
        return None
