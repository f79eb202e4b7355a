"""Schemathesis hooks for the run against a live server (``test_schemathesis_run.py``).

Loaded by the schemathesis CLI through ``SCHEMATHESIS_HOOKS``; the test passes
the server, tenant and credentials in ``WMS_FUZZ_*`` environment variables.
Every hook here says why it exists. None of them hides a failure: they keep
the run's credentials valid and supply values that only the server can make
(so that valid requests are valid in fact, not only in shape).
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

import requests
import schemathesis

BASE = os.environ["WMS_FUZZ_URL"]
TENANT = os.environ["WMS_FUZZ_TENANT"]
ADMIN_KEY = os.environ["WMS_FUZZ_ADMIN_KEY"]
CUSTOMER_ID = os.environ["WMS_FUZZ_CUSTOMER_ID"]
CURSORS = {
    "listOrders": os.environ["WMS_FUZZ_ORDERS_CURSOR"],
    "listDeliveries": os.environ["WMS_FUZZ_DELIVERIES_CURSOR"],
    "listCustomers": os.environ["WMS_FUZZ_CUSTOMERS_CURSOR"],
}
#: A position the event store has reached (a seed write's X-Event-Position).
EVENT_POSITION = int(os.environ["WMS_FUZZ_EVENT_POSITION"])
MAX_POSITION = 2**63 - 1
API = f"{BASE}/api/tenants/{TENANT}"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
#: The webhook secret in force: the run may regenerate it (see ``after_call``).
WEBHOOK_SECRET = [os.environ["WMS_FUZZ_WEBHOOK_SECRET"]]

_TEXT_WITH_CONTENT = re.compile(r"[^\u0000]*[^\s\u0000][^\u0000]*")
_CURSOR = re.compile(r"[A-Za-z0-9_=-]+")  # non-empty: "" means the first page
_IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")


# ---------------------------------------------------------------- credentials


@schemathesis.auth(refresh_interval=None).apply_to(operation_id="receiveOrders")
class WebhookSecret:
    """The webhook's Bearer secret: the one in force now (the run rotates it)."""

    def get(self, case: Any, context: Any) -> str:
        return WEBHOOK_SECRET[0]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.auth(refresh_interval=None).apply_to(operation_id_regex="^(?!receiveOrders$)")
class AdminKey:
    """The tenant's admin API key for every other operation (all roles allowed)."""

    def get(self, case: Any, context: Any) -> str:
        return ADMIN_KEY

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# ---------------------------------------------------------------- values only the server makes


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Values that are valid only when the server made them, swapped in where
    the generated value is schema-valid (so an invalid one stays invalid):

    - an order's ``customerId`` must name a customer of the tenant (stored
      data; the schema says so in words) -> the seeded customer;
    - a paging ``cursor`` must be one the list made (the schema documents it as
      opaque) -> a real ``nextCursor`` of that list;
    - a read's ``after`` / ``X-Min-Event-Position`` must be a position the event
      store has reached (stored data; the description says so) -> a seed
      write's position, when the generated one is beyond it;
    - an ``Idempotency-Key`` names one request: the same key with another
      request is a documented 422 -> a fresh key for every generated request.
    """
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id == "receiveOrders":
        items = case.body if isinstance(case.body, list) else [case.body]
        for item in items:
            if isinstance(item, dict) and _has_content(item.get("customerId")):
                item["customerId"] = CUSTOMER_ID
    if operation_id in CURSORS and isinstance(case.query, dict):
        cursor = case.query.get("cursor")
        if isinstance(cursor, str) and _CURSOR.fullmatch(cursor) and len(cursor) <= 4096:
            # (an empty cursor is valid as it is: the first page)
            case.query["cursor"] = CURSORS[operation_id]
    if (
        isinstance(case.query, dict)
        and _beyond_the_store(case.query.get("after"))
        and operation_id != "listOrderChanges"
    ):
        case.query["after"] = EVENT_POSITION
    if isinstance(case.headers, dict):
        if _beyond_the_store(case.headers.get("X-Min-Event-Position")):
            case.headers["X-Min-Event-Position"] = str(EVENT_POSITION)
        key = case.headers.get("Idempotency-Key")
        if isinstance(key, str) and _IDEMPOTENCY_KEY.fullmatch(key):
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
    return case


def _beyond_the_store(value: Any) -> bool:
    """A schema-valid position (0..2**63-1) that the event store has not reached."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and EVENT_POSITION < value <= MAX_POSITION


@schemathesis.hook
def before_add_examples(context: Any, examples: list[Any]) -> None:
    """The document's examples go through the same swap (the documentation's
    batch example names customer "clxx...", which no tenant has)."""
    for case in examples:
        map_case(context, case)


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """asOfVersion and asOf are mutually exclusive: a rule across two query
    parameters that OpenAPI can't state (the operation's description says
    it, and the 400 names it), so requests with both are not generated."""
    if case.operation.definition.raw.get("operationId") != "getOrder" or not isinstance(case.query, dict):
        return True
    return not ("asOfVersion" in case.query and "asOf" in case.query)


def _has_content(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 255 and bool(_TEXT_WITH_CONTENT.fullmatch(value))


# ---------------------------------------------------------------- keeping the run's state usable


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    operation_id = case.operation.definition.raw.get("operationId")
    if response.status_code >= 300:
        return
    if operation_id == "regenerateWebhookSecret":
        # The old secret stopped working: the webhook is called with the new one.
        WEBHOOK_SECRET[0] = response.json()["secret"]
    elif operation_id == "setWebhookActive" and isinstance(case.body, dict) and case.body.get("active") is False:
        # A deactivated webhook answers 401 to everything after: switch it back
        # on, so the rest of the run still reaches the webhook's own checks.
        requests.patch(f"{API}/integrations/wms/webhook", json={"active": True}, headers=ADMIN, timeout=10)
