"""The webhook payload contract: bytes in, validated ``OrderLine``s out.

Webhook and pull share this parser, so a pulled batch is judged exactly as a
pushed one. Checks run in the documented order and the first failing step
decides the response: invalid JSON, payload shape, batch size, field
validation (every item, every problem), then ``plannedDate``. Customer
existence needs the store and is checked by the ``IngestOrders`` command.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Annotated, Any, Optional

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from application.errors import PayloadRejectedError
from application.history import WIRE_NAME
from application.order_lines import OrderLine
from application.problem_list import ProblemList
from domain.addresses import normalise_address

MAX_TEXT = 1000
MAX_ID = 255
MAX_TAGS = 50
MAX_TAG = 100

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_EXACT_FLOAT_LIMIT = 2.0**53


def _number_as_string(value: Any) -> Any:
    # WMS identifiers are sometimes sent as JSON numbers: accepted as their string.
    if isinstance(value, bool):
        return value  # left for the type check to refuse
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and abs(value) >= _EXACT_FLOAT_LIMIT:
        # Too large to be exact (the JSON parser made it a float): two WMS ids
        # would share one string. Left for the type check to refuse.
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return value


def reject_nul(value: str) -> str:
    """Refuse U+0000 in text: PostgreSQL text columns cannot hold it, so a stored
    one would stop the read models at that event."""
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "must not contain NUL characters")
    return value


NoNul = AfterValidator(reject_nul)


def _integral_float_as_int(value: Any) -> Any:
    # 3.0 pallets is 3 pallets; 2.5 stays a float and is refused.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The constraints come before the number conversion so that pydantic trims
# first and then counts (the other order let "   " through as "").
ExternalId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID),
    BeforeValidator(_number_as_string),
    NoNul,
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT), NoNul]
Quantity = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, BeforeValidator(_integral_float_as_int), Field(ge=0, le=2**31 - 1)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TAG), NoNul]


class OrderItem(BaseModel):
    """One order object as a WMS sends it. Unknown fields are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    externalOrderId: ExternalId
    deliveryAddress: Optional[Text] = None
    customerId: Optional[Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_ID), NoNul]] = None
    customerName: Optional[Text] = None
    customerContact: Optional[Text] = None
    totalWeight: Optional[Quantity] = None
    volume: Optional[Quantity] = None
    palletCount: Optional[Count] = None
    specialHandling: Optional[Annotated[list[Tag], Field(max_length=MAX_TAGS)]] = None
    plannedDate: Any = None
    latitude: Optional[Latitude] = None
    longitude: Optional[Longitude] = None


# Wire name -> Order field name, for the fields an item sets directly on the
# order (the customer is decided from customerId / deliveryAddress instead).
_ORDER_FIELD_OF = {wire: field for field, wire in WIRE_NAME.items() if field != "customer_id"}

_TYPE_WORDS = {
    "string_type": "must be a string",
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "list_type": "must be an array of strings",
    "finite_number": "must be a finite number",
    "greater_than_equal": "must not be negative",
    "less_than_equal": "is too large",
    "missing": "is required",
}


def parse_order_batch(body: bytes, *, max_items: int) -> tuple[OrderLine, ...]:
    """Parse and validate a webhook body; raise ``PayloadRejectedError`` with
    the exact response body on the first failing check."""
    return _parse(body, max_items=max_items)[0]


#: Warnings listed per batch at most (a batch of thousands of items, each with
#: the same stray field, would otherwise answer with thousands of lines).
MAX_WARNINGS = 100
_MAX_WARNED_NAME = 100


def parse_order_batch_with_warnings(
    body: bytes, *, max_items: int
) -> tuple[tuple[OrderLine, ...], tuple[dict[str, Any], ...]]:
    """``parse_order_batch``, plus one warning per field it ignored.

    Policy: the documented contract ignores unknown fields, so they never make
    a batch fail; they are reported, so a misspelt ``planedDate`` is noticed.
    """
    lines, raw_items = _parse(body, max_items=max_items)
    return lines, ignored_field_warnings(raw_items)


def ignored_field_warnings(items: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """``{index, externalOrderId, field, message}`` for each field no order has, in input order."""
    known = OrderItem.model_fields.keys()
    warnings: list[dict[str, Any]] = []
    for index, raw in enumerate(items):
        if not isinstance(raw, dict):  # refused on its own in a partial acceptance
            continue
        for name in raw:
            if name in known:
                continue
            if len(warnings) == MAX_WARNINGS:
                return tuple(warnings)
            shown = name[:_MAX_WARNED_NAME]
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            hint = f"; did you mean {close[0]}?" if close else ""
            warnings.append(
                {
                    "index": index,
                    "externalOrderId": _reference_of(raw),
                    "field": shown,
                    "message": f"unknown field, ignored{hint}",
                }
            )
    return tuple(warnings)


def _parse(body: bytes, *, max_items: int) -> tuple[tuple[OrderLine, ...], list[dict[str, Any]]]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise PayloadRejectedError(400, {"error": "Invalid JSON"}) from None
    # The item count is judged before the items' shape (the documented order:
    # 413 for too many orders, then 400 for an item that is not an object).
    count = len(document) if isinstance(document, list) else 1
    if count > max_items:
        raise PayloadRejectedError(
            413,
            {
                "error": "Payload too large",
                "details": f"a batch holds at most {max_items} orders, got {count}",
                "maxItems": max_items,
            },
        )
    raw_items = _items_of(document)
    items = _validate_items(raw_items)
    _check_planned_dates(raw_items)
    return tuple(_line_of(item) for item in items), raw_items


def parse_order_batch_partially(
    body: bytes, *, max_items: int
) -> tuple[tuple[tuple[int, OrderLine], ...], tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
    """Parse a body for partial acceptance: the valid items with their index,
    a rejection per invalid item (its status, error and problems), and the
    warnings of the fields ignored in the valid ones.

    What concerns the body as a whole still refuses it whole, as in the
    all-or-nothing mode: not JSON, neither an object nor an array, too many
    items. Each item is judged by the same checks in the same order, alone.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise PayloadRejectedError(400, {"error": "Invalid JSON"}) from None
    if not isinstance(document, (dict, list)):
        _items_of(document)  # raises the documented shape error
    raw_items: list[Any] = [document] if isinstance(document, dict) else document
    if len(raw_items) > max_items:
        raise PayloadRejectedError(
            413,
            {
                "error": "Payload too large",
                "details": f"a batch holds at most {max_items} orders, got {len(raw_items)}",
                "maxItems": max_items,
            },
        )
    lines: list[tuple[int, OrderLine]] = []
    rejected: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            rejected.append(
                {"index": index, "externalOrderId": None, "status": 400, "error": "Invalid payload shape",
                 "details": [{"index": index, "message": "each order must be a JSON object"}]}
            )
            continue
        try:
            [item] = _validate_items([raw], index)
            _check_planned_dates([raw], index)
        except PayloadRejectedError as refused:
            rejected.append({"index": index, "externalOrderId": _reference_of(raw), "status": refused.status, **refused.body})
            continue
        lines.append((index, _line_of(item)))
    kept = {index for index, _ in lines}
    warnings = tuple(w for w in ignored_field_warnings(raw_items) if w["index"] in kept)
    return tuple(lines), tuple(rejected), warnings


def _items_of(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        not_objects = ProblemList()
        for i, item in enumerate(document):
            if not isinstance(item, dict):
                not_objects.add({"index": i, "message": "each order must be a JSON object"})
        if not not_objects:
            return document
        raise PayloadRejectedError(400, not_objects.body("Invalid payload shape"))
    raise PayloadRejectedError(
        400,
        {
            "error": "Invalid payload shape",
            "details": "expected an order object or an array of order objects",
        },
    )


def _validate_items(raw_items: list[dict[str, Any]], start: int = 0) -> list[OrderItem]:
    items: list[OrderItem] = []
    # Found in item order (within an item: its fields, then the address rule).
    problems = ProblemList()
    for index, raw in enumerate(raw_items, start):
        reference = _reference_of(raw)
        try:
            item = OrderItem.model_validate(raw)
        except ValidationError as error:
            if problems.full:
                problems.skip(error.error_count())
            else:
                for problem in _problems_of(error, index, reference):
                    problems.add(problem)
            item = None
        pair = _coordinate_problem(raw, index, reference)
        if pair is not None:
            problems.add(pair)
            item = None
        if not _has_text(raw.get("customerId")) and not _has_address(raw.get("deliveryAddress")):
            problems.add(
                {
                    "index": index,
                    "externalOrderId": reference,
                    "field": "deliveryAddress",
                    "message": "deliveryAddress or customerId is required",
                }
            )
        elif item is not None:
            items.append(item)
    if problems:
        raise PayloadRejectedError(400, problems.body("Validation failed"))
    return items


_RANGES = {"latitude": (-90, 90), "longitude": (-180, 180)}


def _coordinate_problem(raw: dict[str, Any], index: int, reference: str | None) -> dict[str, Any] | None:
    """Coordinates come as a pair: both numbers, or neither (both absent or both null)."""
    lat, lon = raw.get("latitude"), raw.get("longitude")
    if (lat is None) == (lon is None) and ("latitude" in raw) == ("longitude" in raw):
        return None
    missing = "longitude" if lat is not None else "latitude"
    return {
        "index": index,
        "externalOrderId": reference,
        "field": missing,
        "message": "latitude and longitude must be given together (both or neither)",
    }


def _problems_of(error: ValidationError, index: int, reference: str | None) -> list[dict[str, Any]]:
    problems = []
    for e in error.errors(include_url=False, include_input=False):
        loc = e["loc"]
        field = str(loc[0]) if loc else "order"
        where = field + "".join(f"[{part}]" for part in loc[1:])
        if field in _RANGES and e["type"] in ("greater_than_equal", "less_than_equal"):
            words = f"must be between {_RANGES[field][0]} and {_RANGES[field][1]}"
        elif e["type"] in ("string_too_short", "too_short"):
            words = "must not be empty"
        elif e["type"] == "string_too_long":
            words = f"must be at most {e['ctx']['max_length']} characters"
        elif e["type"] == "too_long":
            words = f"must have at most {e['ctx']['max_length']} entries"
        else:
            words = _TYPE_WORDS.get(e["type"], e["msg"])
        problems.append(
            {"index": index, "externalOrderId": reference, "field": field, "message": f"{where} {words}"}
        )
    return problems


def _reference_of(raw: dict[str, Any]) -> str | None:
    value = raw.get("externalOrderId")
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        converted = _number_as_string(value)
        return converted if isinstance(converted, str) else None
    if isinstance(value, str):
        return value[:MAX_ID]
    return None


def _has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _has_address(value: Any) -> bool:
    # Punctuation alone (",,,") names no address and could found no customer.
    return isinstance(value, str) and bool(normalise_address(value))


def _check_planned_dates(raw_items: list[dict[str, Any]], start: int = 0) -> None:
    messages = ProblemList()
    for index, raw in enumerate(raw_items, start):
        value = raw.get("plannedDate")
        if value is None or is_calendar_date(value):
            continue
        if messages.full:
            messages.skip(1)
            continue
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        messages.add(
            f"item {index} (externalOrderId {_reference_of(raw)!r}): plannedDate must be a "
            f"real calendar date in YYYY-MM-DD format, got {shown}"
        )
    if messages:
        body: dict[str, Any] = {"error": "Invalid plannedDate", "fieldErrors": {"plannedDate": messages.listed}}
        if messages.omitted:
            body["omitted"] = messages.omitted
        raise PayloadRejectedError(422, body)


def is_calendar_date(value: Any) -> bool:
    """A ``YYYY-MM-DD`` string naming a real calendar date (``2025-02-30`` is not)."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _line_of(item: OrderItem) -> OrderLine:
    given = item.model_fields_set
    patch = {
        _ORDER_FIELD_OF[name]: _value_of(getattr(item, name))
        for name in given
        if name in _ORDER_FIELD_OF
    }
    return OrderLine(
        external_order_id=item.externalOrderId,
        customer_id=item.customerId or None,
        delivery_address=item.deliveryAddress or None,
        customer_name=item.customerName or None,
        customer_contact=item.customerContact or None,
        patch=patch,
    )


def _value_of(value: Any) -> Any:
    # Empty strings are "no value" for optional text, like null.
    if isinstance(value, str) and not value:
        return None
    return value
