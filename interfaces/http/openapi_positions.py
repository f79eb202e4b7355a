"""Read your own writes, in the OpenAPI document.

Kept apart from the route table: ``openapi_document`` passes the document it
built through ``describe_event_positions``, which adds the position header to
every write's success responses, the ``after`` parameter and the
``X-Min-Event-Position`` header to the reads that wait for a position, and the
promise of the reads by id.
"""

from __future__ import annotations

from typing import Any

from interfaces.http.positions import AFTER_PARAMETER, MIN_POSITION_HEADER, POSITION_FIELD, POSITION_HEADER

TENANT = "/api/tenants/{tenantId}"
WRITE_METHODS = ("post", "patch", "put", "delete")

#: Reads that accept a position to wait for (lists; the others are consistent by id).
WAITING_READS = {
    f"{TENANT}/orders": "orders",
    f"{TENANT}/integrations/wms/deliveries": "deliveries",
    f"{TENANT}/integrations": "integrations",
    f"{TENANT}/integrations/wms/pull-endpoints": "pull endpoints",
}
#: Reads that reflect every earlier write without being told a position.
CONSISTENT_READS = (
    f"{TENANT}/orders/{{orderId}}",
    f"{TENANT}/orders/by-external-id/{{externalOrderId}}",
    f"{TENANT}/customers/{{customerId}}",
    f"{TENANT}/integrations",
    f"{TENANT}/integrations/wms/pull-endpoints",
    f"{TENANT}/api-keys",
)

POSITION_TEXT = (
    "the event-store position (notification id) of the last event this request stored; "
    "pass it as ?after= or X-Min-Event-Position to a list to read at least this state"
)
WAIT_TEXT = (
    "Lists may lag the writes by the read models' lag (usually milliseconds). With after (or the "
    "X-Min-Event-Position header; the higher of the two counts), the read first waits until the read "
    "model has reached that position, at most WMS_INTAKE_READ_WAIT_SECONDS (5 s), else 503 with "
    "Retry-After; a position the event store has not reached is a 400."
)
POSITION_ERROR_EXAMPLE = "the position is beyond the event store: pass the X-Event-Position of a write"
CONSISTENT_TEXT = (
    "Reflects every write acknowledged before this read, by any process of the service (it waits, "
    "bounded by WMS_INTAKE_READ_WAIT_SECONDS, for the read model to reach it; else 503)."
)


def describe_event_positions(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {})
    components.setdefault("headers", {})[POSITION_HEADER] = {
        "description": POSITION_TEXT,
        "schema": {"type": "integer", "minimum": 1},
    }
    for path, operations in document.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method in WRITE_METHODS:
                _position_header(operation)
            elif method == "get" and path in WAITING_READS:
                _waits_for_a_position(operation)
            if method == "get" and path in CONSISTENT_READS:
                operation["description"] = _joined(operation.get("description"), CONSISTENT_TEXT)
    return document


def _position_header(operation: dict[str, Any]) -> None:
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            response.setdefault("headers", {})[POSITION_HEADER] = {"$ref": f"#/components/headers/{POSITION_HEADER}"}


def _waits_for_a_position(operation: dict[str, Any]) -> None:
    position = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
    operation.setdefault("parameters", []).extend(
        [
            {
                "name": AFTER_PARAMETER,
                "in": "query",
                "required": False,
                "schema": position,
                "description": "answer only once the read model has reached this position "
                f"(the {POSITION_HEADER} or {POSITION_FIELD} of a write)",
            },
            {
                "name": MIN_POSITION_HEADER,
                "in": "header",
                "required": False,
                "schema": position,
                "description": f"the same as ?{AFTER_PARAMETER}= (the higher of the two counts)",
            },
        ]
    )
    responses = operation.setdefault("responses", {})
    responses.setdefault(
        "400",
        {
            "description": "after or X-Min-Event-Position is not a position of this event store",
            "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ErrorBody"},
                    "examples": {"position": {"value": {"error": POSITION_ERROR_EXAMPLE}}},
                }
            },
        },
    )
    if "503" in responses:
        responses["503"]["description"] = _joined(
            responses["503"].get("description"), "or the read model did not reach the position in time"
        )
    operation["description"] = _joined(operation.get("description"), WAIT_TEXT)


def _joined(first: str | None, second: str) -> str:
    return f"{first} {second}" if first else second
