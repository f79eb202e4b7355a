"""The shapes of the service's responses, as pydantic models.

The presenters (``interfaces/http/presenters/``) build the bodies as plain
dicts (serialised with orjson); these models describe those bodies in the
OpenAPI document, which tests keep true by checking live responses and each
presenter's output against them. A body is closed
(``additionalProperties: false``): a field the server adds must be named here
first, so the document never lags the server. Every field named here is
required unless it has a default, and a nullable field says so. Error bodies
stay open: a route may add fields it documents (``ErrorBody``).
"""

from __future__ import annotations

from types import GenericAlias
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model

from domain.order import COORDINATES, FIELDS, OrderField


class Shape(BaseModel):
    """Base of the documented shapes: closed, every field required."""

    model_config = ConfigDict(extra="forbid")


Timestamp = Field(description="ISO 8601 UTC, e.g. 2025-02-22T09:30:00.000000Z")


EventPosition = Field(
    ge=1,
    description="the event-store position of this write (as X-Event-Position): "
    "pass it as ?after= to a list to read at least this state",
)


# ---------------------------------------------------------------- errors


class ErrorBody(Shape):
    """Every error: a short sentence, plus fields named by the route's documentation."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="a short sentence saying what is wrong")
    details: Any = Field(default=None, description="what exactly was wrong, when there is more to say")


class ValidationProblem(Shape):
    """One problem of one webhook item."""

    index: int
    externalOrderId: str | None = None
    field: str | None = None
    message: str


class WebhookValidationError(Shape):
    """400 of the webhook: ``Invalid JSON``, ``Invalid payload shape``,
    ``Validation failed`` (the problems of every item, the first 1,000 listed)
    or ``Customer not found``."""

    error: Literal["Invalid JSON", "Invalid payload shape", "Validation failed", "Customer not found"]
    details: list[ValidationProblem] | str | None = Field(
        default=None, description="the first 1,000 problems, in item order"
    )
    omitted: int | None = Field(default=None, description="how many more problems there were (only when over 1,000)")


class PlannedDateErrors(Shape):
    plannedDate: list[str] = Field(description="one message per bad item, naming its index and externalOrderId")


class InvalidPlannedDate(Shape):
    """422 of the webhook: a non-null ``plannedDate`` that is not a real ``YYYY-MM-DD`` date."""

    error: Literal["Invalid plannedDate"]
    fieldErrors: PlannedDateErrors
    omitted: int | None = Field(default=None, description="how many more bad items there were (only when over 1,000)")


class PayloadTooLarge(Shape):
    """413 of the webhook: the body is over the byte limit or holds too many orders."""

    error: Literal["Payload too large"]
    details: str
    maxBytes: int | None = None
    maxItems: int | None = None


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


class IgnoredField(Shape):
    """A field of one item that no order has: ignored (the documented contract ignores
    unknown fields), and reported so a misspelt name is noticed."""

    index: int
    externalOrderId: str | None
    field: str
    message: str


class WebhookAccepted(Shape):
    """200 of the webhook: one entry per input item, in input order."""

    accepted: Literal[True]
    processed: int = Field(ge=0)
    orders: list[OrderOutcome]
    warnings: list[IgnoredField] | None = Field(
        default=None, description="the fields that were ignored; present only when there are any"
    )


# ---------------------------------------------------------------- partial acceptance (?atomic=false)


class PartialOrderOutcome(OrderOutcome):
    index: int = Field(ge=0, description="the item's index in the request")


class RejectedItem(Shape):
    """One item a partial acceptance refused, with what it would have got alone."""

    index: int = Field(ge=0, description="the item's index in the request")
    externalOrderId: str | None = None
    status: Literal[400, 422] = Field(description="400 (validation, shape, unknown customer) or 422 (plannedDate)")
    error: Literal["Invalid payload shape", "Validation failed", "Customer not found", "Invalid plannedDate"]
    details: Any = None
    fieldErrors: PlannedDateErrors | None = None


class PartialAcceptance(Shape):
    """The answer to ``?atomic=false``: the stored orders and the refused items, each with its index."""

    accepted: bool = Field(description="true when at least one order was stored (or the batch was empty)")
    atomic: Literal[False]
    processed: int = Field(ge=0, description="orders stored")
    rejected: int = Field(ge=0, description="items refused")
    orders: list[PartialOrderOutcome]
    rejectedItems: list[RejectedItem]
    error: str | None = Field(default=None, description='"Every order was rejected" when nothing was stored')
    warnings: list[IgnoredField] | None = Field(
        default=None, description="the fields the stored orders had ignored; present only when there are any"
    )


class WebhookResult(RootModel[WebhookAccepted | PartialAcceptance]):
    """200 of the webhook: the documented body, or with ``?atomic=false`` a partial acceptance."""


class WebhookBadRequest(RootModel[WebhookValidationError | PartialAcceptance | ErrorBody]):
    """400 of the webhook: the documented errors, a partial batch with nothing valid, or a bad ``atomic``."""


class WebhookUnprocessable(RootModel[InvalidPlannedDate | PartialAcceptance | ErrorBody]):
    """422 of the webhook: an invalid plannedDate, a partial batch whose every item had one, or a reused Idempotency-Key."""


# ---------------------------------------------------------------- integrations


class WebhookConnected(Shape):
    webhookUrl: str
    secret: str = Field(description="the Bearer secret of the webhook; shown once")
    active: bool
    eventPosition: int = EventPosition


class NewSecret(Shape):
    secret: str = Field(description="the new secret; shown once; the old one stopped working")
    eventPosition: int = EventPosition
    previousSecretExpiresAt: str | None = Field(
        default=None, description="only with previousValidForSeconds > 0: until when the old secret keeps working"
    )


class WebhookActiveState(Shape):
    webhookUrl: str
    active: bool
    eventPosition: int = EventPosition


class RefusedCount(Shape):
    count: int = Field(ge=0)
    lastAt: str | None = Field(description="when the last one was refused (null: never)")


class RefusedRequests(Shape):
    """Requests refused with 401 since the webhook was connected, by reason."""

    wrongSecret: RefusedCount
    deactivated: RefusedCount


class WebhookStatus(Shape):
    webhookUrl: str
    active: bool
    connectedAt: str = Timestamp
    lastReceivedAt: str | None = Field(description="when the last accepted batch arrived (null: never)")
    refusedRequests: RefusedRequests | None = Field(
        default=None, description="401s by reason (a wrong or old secret; the webhook deactivated)"
    )
    previousSecretExpiresAt: str | None = Field(
        default=None, description="during a secret rotation: until when the previous secret works (else null)"
    )


class PullEndpointStatus(Shape):
    id: str
    url: str
    method: Literal["GET", "POST"]
    createdAt: str = Timestamp
    intervalMinutes: int | None = Field(default=None, description="null: pulled only on Sync now")
    lastSyncAt: str | None = Field(default=None, description="when the last attempt finished (null: never)")
    lastSyncStatus: Literal["ok", "failed"] | None = None
    lastError: Any = Field(default=None, description="why the last attempt failed (null after a success)")
    lastProcessed: int | None = Field(default=None, description="orders in the last successful pull")
    nextSyncAt: str | None = Field(default=None, description="when the schedule pulls next (null: no schedule)")


class PullEndpointAdded(Shape):
    id: str
    url: str
    method: Literal["GET", "POST"]
    intervalMinutes: int | None
    secret: str = Field(description="the Bearer secret the WMS will receive; shown once")
    eventPosition: int = EventPosition
    warnings: list[str] = Field(
        default_factory=list, description="present only when there are any (e.g. the host does not resolve yet)"
    )


class PullEndpointChanged(Shape):
    id: str
    url: str
    method: Literal["GET", "POST"]
    intervalMinutes: int | None
    nextSyncAt: str | None
    eventPosition: int = EventPosition


class PullEndpointList(Shape):
    pullEndpoints: list[PullEndpointStatus] = Field(description="oldest first; no secrets")


class IntegrationStatus(Shape):
    webhook: WebhookStatus | None = Field(description="null until the WMS webhook is connected")
    pullEndpoints: list[PullEndpointStatus]


class DeliveryEntry(Shape):
    """One batch received: accepted (200) or rejected (400/413/422) after authentication."""

    requestId: str = Field(description="the X-Request-Id of the response the batch got")
    channel: Literal["webhook", "pull", "api"]
    receivedAt: str = Timestamp
    status: int = Field(description="the HTTP status the batch got")
    processed: int = Field(ge=0)
    error: dict[str, Any] | None = Field(description="the error body a rejected batch got (null when accepted)")
    deliveryId: str | None = None
    endpointId: str | None = None
    warnings: list[IgnoredField] | None = Field(
        default=None, description="the fields an accepted batch had ignored; present only when there were any"
    )
    rejected: int | None = Field(default=None, description="partial acceptance only: items refused")
    rejectedItems: list[dict[str, Any]] | None = Field(
        default=None, description="partial acceptance only: the refused items (at most 100), as the caller got them"
    )
    secretUsed: Literal["current", "previous"] | None = Field(
        default=None, description="webhook deliveries: which secret opened it (previous: during a rotation)"
    )


class DeliveryLogPage(Shape):
    deliveries: list[DeliveryEntry] = Field(description="newest first")
    nextCursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


# ---------------------------------------------------------------- API keys


class ApiKeyIssued(Shape):
    id: str
    apiKey: str = Field(description="the Bearer key; shown once")
    role: Literal["admin", "planner", "auditor"]
    name: str | None = None
    eventPosition: int = EventPosition


class ApiKeyInfo(Shape):
    id: str
    name: str | None = Field(default=None, description="null for a key issued without a name")
    role: Literal["admin", "planner", "auditor"]
    createdAt: str = Timestamp
    revoked: bool
    lastUsedAt: str | None = Field(default=None, description="ISO 8601 UTC, exact to a minute; null: never used")


class ApiKeyList(Shape):
    apiKeys: list[ApiKeyInfo]


# ---------------------------------------------------------------- customers and orders


class CustomerBody(Shape):
    customerId: str
    name: str
    contact: str | None
    address: str | None
    createdAt: str = Timestamp


class CustomerCreated(CustomerBody):
    eventPosition: int = EventPosition


class CustomersPage(Shape):
    customers: list[CustomerBody]
    nextCursor: str | None


class Location(Shape):
    lat: float | None
    lon: float | None
    precision: str | None
    status: str = Field(
        description="pending, ok, failed or disabled (geocoding), or provided (the WMS sent latitude and longitude)"
    )
    reason: str | None = Field(
        default=None,
        description='why geocoding failed (status failed), e.g. "no postcode found", '
        '"postcode not in the offline data (Great Britain only)", "remote service error"',
    )


def _shown_type(field: OrderField) -> Any:
    # The kind is a value read from the field table, so the type is put together
    # at run time (``list[field.kind]`` would be read as a type expression).
    kind: Any = GenericAlias(list, (field.kind,)) if field.many else field.kind
    return kind | None


#: What an order field's type alone doesn't say about how it is shown.
_SHOWN_AS = {"planned_date": "YYYY-MM-DD"}

#: An order as shown: its fields (``domain.order.FIELDS``, the coordinates
#: being its ``location``), its customer's name, location and versions.
_ORDER_BODY_FIELDS: dict[str, Any] = {
    "orderId": (str, ...),
    "externalOrderId": (str, ...),
    **{
        f.wire: (_shown_type(f), Field(description=_SHOWN_AS[f.name]) if f.name in _SHOWN_AS else ...)
        for f in FIELDS
        if f.name not in COORDINATES
    },
    "customerName": (str | None, ...),
    "location": (Location | None, Field(description="null in an order shown as of a past version")),
    "createdAt": (str, Timestamp),
    "updatedAt": (str, Timestamp),
    "version": (int, Field(ge=1)),
}

if TYPE_CHECKING:
    # The fields come from the field table at run time; a type checker sees
    # the base, which is all the modules that name OrderBody rely on.
    class OrderBody(Shape): ...
else:
    OrderBody = create_model("OrderBody", __base__=Shape, **_ORDER_BODY_FIELDS)


class OrdersPage(Shape):
    orders: list[OrderBody]
    nextCursor: str | None


class PlannedDate(Shape):
    date: str = Field(description="YYYY-MM-DD")
    orders: int = Field(ge=1)


class PlannedDates(Shape):
    dates: list[PlannedDate] = Field(description="earliest first")
    undated: int = Field(ge=0, description="orders without a planned date")


class TenantSummary(Shape):
    tenantId: str
    name: str


# ---------------------------------------------------------------- the change feed


class OrderChange(Shape):
    """One change of one order, in commit order."""

    position: str = Field(description="the event store position of this change (pass as ?after= to resume after it)")
    type: Literal["OrderCreated", "OrderUpdated"]
    orderId: str
    externalOrderId: str
    version: int = Field(ge=1, description="the order's version after this change")
    timestamp: str = Timestamp
    changes: dict[str, Any] = Field(description="the fields this change set (wire names; null cleared one)")
    state: dict[str, Any] = Field(
        description="the order's fields after this change: orderId, externalOrderId, "
        + ", ".join(f.wire for f in FIELDS)
        + ", createdAt, updatedAt, version"
    )


class OrderChangesPage(Shape):
    changes: list[OrderChange] = Field(description="oldest first, each change exactly once")
    nextCursor: str = Field(description="pass as ?after= for the next page; store it to resume after a restart")


class EventSource(Shape):
    """Where a change came from."""

    channel: Literal["webhook", "pull", "api"]
    deliveryId: str | None = Field(default=None, description="the delivery (batch) that made the change")
    requestId: str | None = Field(default=None, description="the X-Request-Id of that request")
    apiKeyId: str | None = Field(default=None, description="the API key of the person who acted (channel api)")


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
    reason: str | None = None
