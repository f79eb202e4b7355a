"""The shapes of the service's responses, as pydantic models.

The handlers build their bodies as plain dicts (serialised with orjson); these
models exist to describe those bodies in the OpenAPI document, which a test
keeps true by checking live responses against it. A body is closed
(``additionalProperties: false``): a field the server adds must be named here
first, so the document never lags the server. Every field named here is
required unless it has a default, and a nullable field says so. Error bodies
stay open: a route may add fields it documents (``ErrorBody``).
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field


class Shape(BaseModel):
    """Base of the documented shapes: closed, every field required."""

    model_config = ConfigDict(extra="forbid")


Timestamp = Field(description="ISO 8601 UTC, e.g. 2025-02-22T09:30:00.000000Z")


# ---------------------------------------------------------------- errors


class ErrorBody(Shape):
    """Every error: a short sentence, plus fields named by the route's documentation."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="a short sentence saying what is wrong")
    details: Any = Field(default=None, description="what exactly was wrong, when there is more to say")


class ValidationProblem(Shape):
    """One problem of one webhook item."""

    index: int
    externalOrderId: Optional[str] = None
    field: Optional[str] = None
    message: str


class WebhookValidationError(Shape):
    """400 of the webhook: ``Invalid JSON``, ``Invalid payload shape``,
    ``Validation failed`` (every problem of every item) or ``Customer not found``."""

    error: Literal["Invalid JSON", "Invalid payload shape", "Validation failed", "Customer not found"]
    details: Optional[list[ValidationProblem] | str] = None


class PlannedDateErrors(Shape):
    plannedDate: list[str] = Field(description="one message per bad item, naming its index and externalOrderId")


class InvalidPlannedDate(Shape):
    """422 of the webhook: a non-null ``plannedDate`` that is not a real ``YYYY-MM-DD`` date."""

    error: Literal["Invalid plannedDate"]
    fieldErrors: PlannedDateErrors


class PayloadTooLarge(Shape):
    """413 of the webhook: the body is over the byte limit or holds too many orders."""

    error: Literal["Payload too large"]
    details: str
    maxBytes: Optional[int] = None
    maxItems: Optional[int] = None


class TooManyRequests(Shape):
    error: Literal["Too many requests"]
    retryAfter: int = Field(description="seconds to wait, also sent as Retry-After")


class CustomerConflict(Shape):
    """409 of "create a customer": one exists at this address."""

    error: str
    customerId: str = Field(description="the existing customer at this address")


# ---------------------------------------------------------------- the webhook


class OrderOutcome(Shape):
    externalOrderId: str
    orderId: str = Field(description="the order's id (UUID)")
    created: bool = Field(description="true when this item created the order, false when it updated it")


class WebhookAccepted(Shape):
    """200 of the webhook: one entry per input item, in input order."""

    accepted: Literal[True]
    processed: int = Field(ge=0)
    orders: list[OrderOutcome]


# ---------------------------------------------------------------- integrations


class WebhookConnected(Shape):
    webhookUrl: str
    secret: str = Field(description="the Bearer secret of the webhook; shown once")
    active: bool


class NewSecret(Shape):
    secret: str = Field(description="the new secret; shown once; the old one stopped working")


class WebhookActiveState(Shape):
    webhookUrl: str
    active: bool


class WebhookStatus(Shape):
    webhookUrl: str
    active: bool
    connectedAt: str = Timestamp
    lastReceivedAt: Optional[str] = Field(description="when the last accepted batch arrived (null: never)")


class PullEndpointStatus(Shape):
    id: str
    url: str
    method: Literal["GET", "POST"]
    createdAt: str = Timestamp
    intervalMinutes: Optional[int] = Field(default=None, description="null: pulled only on Sync now")
    lastSyncAt: Optional[str] = Field(default=None, description="when the last attempt finished (null: never)")
    lastSyncStatus: Optional[Literal["ok", "failed"]] = None
    lastError: Any = Field(default=None, description="why the last attempt failed (null after a success)")
    lastProcessed: Optional[int] = Field(default=None, description="orders in the last successful pull")
    nextSyncAt: Optional[str] = Field(default=None, description="when the schedule pulls next (null: no schedule)")


class PullEndpointAdded(Shape):
    id: str
    url: str
    method: Literal["GET", "POST"]
    intervalMinutes: Optional[int]
    secret: str = Field(description="the Bearer secret the WMS will receive; shown once")


class PullEndpointChanged(Shape):
    id: str
    url: str
    method: Literal["GET", "POST"]
    intervalMinutes: Optional[int]
    nextSyncAt: Optional[str]


class PullEndpointList(Shape):
    pullEndpoints: list[PullEndpointStatus] = Field(description="oldest first; no secrets")


class IntegrationStatus(Shape):
    webhook: Optional[WebhookStatus] = Field(description="null until the WMS webhook is connected")
    pullEndpoints: list[PullEndpointStatus]


class DeliveryEntry(Shape):
    """One batch received: accepted (200) or rejected (400/413/422) after authentication."""

    requestId: str = Field(description="the X-Request-Id of the response the batch got")
    channel: Literal["webhook", "pull", "api"]
    receivedAt: str = Timestamp
    status: int = Field(description="the HTTP status the batch got")
    processed: int = Field(ge=0)
    error: Optional[dict[str, Any]] = Field(description="the error body a rejected batch got (null when accepted)")
    deliveryId: Optional[str] = None
    endpointId: Optional[str] = None


class DeliveryLogPage(Shape):
    deliveries: list[DeliveryEntry] = Field(description="newest first")
    nextCursor: Optional[str] = Field(description="pass as ?cursor= for the next page; null on the last page")


# ---------------------------------------------------------------- API keys


class ApiKeyIssued(Shape):
    id: str
    apiKey: str = Field(description="the Bearer key; shown once")
    role: Literal["admin", "planner", "auditor"]


class ApiKeyInfo(Shape):
    id: str
    role: Literal["admin", "planner", "auditor"]
    createdAt: str = Timestamp
    revoked: bool


class ApiKeyList(Shape):
    apiKeys: list[ApiKeyInfo]


# ---------------------------------------------------------------- customers and orders


class CustomerBody(Shape):
    customerId: str
    name: str
    contact: Optional[str]
    address: Optional[str]
    createdAt: str = Timestamp


class Location(Shape):
    lat: Optional[float]
    lon: Optional[float]
    precision: Optional[str]
    status: str = Field(description="pending, ok, failed or disabled")


class OrderBody(Shape):
    orderId: str
    externalOrderId: str
    customerId: Optional[str]
    customerName: Optional[str]
    deliveryAddress: Optional[str]
    totalWeight: Optional[float]
    volume: Optional[float]
    palletCount: Optional[int]
    specialHandling: Optional[list[str]]
    plannedDate: Optional[str] = Field(description="YYYY-MM-DD")
    location: Optional[Location] = Field(description="null in an order shown as of a past version")
    createdAt: str = Timestamp
    updatedAt: str = Timestamp
    version: int = Field(ge=1)


class OrdersPage(Shape):
    orders: list[OrderBody]
    nextCursor: Optional[str]


class EventSource(Shape):
    """Where a change came from."""

    channel: Literal["webhook", "pull", "api"]
    deliveryId: Optional[str] = Field(default=None, description="the delivery (batch) that made the change")
    requestId: Optional[str] = Field(default=None, description="the X-Request-Id of that request")
    apiKeyId: Optional[str] = Field(default=None, description="the API key of the person who acted (channel api)")


class HistoryEvent(Shape):
    type: str = Field(description="OrderCreated, OrderUpdated, ...")
    version: int = Field(ge=1)
    timestamp: str = Timestamp
    changes: dict[str, Any] = Field(description="the fields this event set, by their wire names")
    source: EventSource


class OrderHistory(Shape):
    orderId: str
    events: list[HistoryEvent] = Field(description="oldest first")


# ---------------------------------------------------------------- operations


class Health(Shape):
    status: Literal["ok"]


class Readiness(Shape):
    status: Literal["ready", "unavailable"]
    database: Literal["ok", "unreachable"]
    reason: Optional[str] = None
