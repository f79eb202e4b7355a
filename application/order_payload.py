"""The webhook payload contract: bytes in, validated ``OrderLine``s out.

Webhook and pull share this parser, so a pulled batch is judged exactly as a
pushed one. Checks run in the documented order and the first failing step
decides the response: invalid JSON, payload shape, batch size, field
validation (every item, every problem), then ``plannedDate``. Customer
existence needs the store and is checked by the ``IngestOrders`` command.
The rule of each field is in ``application/order_field_rules.py``.
"""

from __future__ import annotations

import difflib
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from application.errors import PayloadRejectedError
from application.order_field_rules import (
    MAX_ID,
    MAX_TAG,
    MAX_TAGS,
    MAX_TEXT,
    NoNul,
    OrderItem,
    PlainOrderItem,
    coordinate_problem,
    has_address,
    has_text,
    is_calendar_date,
    number_as_string,
    problems_of,
    reference_of,
)
from application.order_lines import OrderLine
from application.problem_list import ProblemList
from domain.order import FIELDS

# Re-exported: the HTTP schemas and the OpenAPI document use these limits and rules.
__all__ = [
    "MAX_ID",
    "MAX_TAG",
    "MAX_TAGS",
    "MAX_TEXT",
    "NoNul",
    "OrderItem",
    "is_calendar_date",
    "number_as_string",
    "parse_order_batch",
    "parse_order_batch_partially",
    "parse_order_batch_with_warnings",
]

# Wire name -> Order field name, for the fields an item sets directly on the
# order (the customer is decided from customerId / deliveryAddress instead).
_ORDER_FIELD_OF = {f.wire: f.name for f in FIELDS if f.name != "customer_id"}
_ITEMS: TypeAdapter[list[BaseModel]] = TypeAdapter(list[PlainOrderItem])  # type: ignore[valid-type]  # the item model is built at run time from the field table


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
                    "externalOrderId": reference_of(raw),
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
                {
                    "index": index,
                    "externalOrderId": None,
                    "status": 400,
                    "error": "Invalid payload shape",
                    "details": [{"index": index, "message": "each order must be a JSON object"}],
                }
            )
            continue
        try:
            [item] = _validate_items([raw], index)
            _check_planned_dates([raw], index)
        except PayloadRejectedError as refused:
            rejected.append(
                {"index": index, "externalOrderId": reference_of(raw), "status": refused.status, **refused.body}
            )
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
        400, {"error": "Invalid payload shape", "details": "expected an order object or an array of order objects"}
    )


def _validate_items(raw_items: list[dict[str, Any]], start: int = 0) -> list[BaseModel]:
    # The usual batch is valid: one validator call for the whole list runs the
    # loop over the items in pydantic's compiled core, by rules that accept a
    # subset of what OrderItem accepts, with the same values. Otherwise the
    # items are judged one by one by OrderItem, which finds every problem in
    # the documented order with the documented words.
    try:
        items: list[BaseModel] = _ITEMS.validate_python(raw_items)
    except ValidationError:
        return _validate_each(raw_items, start)
    for raw in raw_items:
        if coordinate_problem(raw, start, None) is not None or (
            not has_text(raw.get("customerId")) and not has_address(raw.get("deliveryAddress"))
        ):
            return _validate_each(raw_items, start)
    return items


def _validate_each(raw_items: list[dict[str, Any]], start: int) -> list[BaseModel]:
    items: list[BaseModel] = []
    # Found in item order (within an item: its fields, then the address rule).
    problems = ProblemList()
    for index, raw in enumerate(raw_items, start):
        reference = reference_of(raw)
        try:
            item = OrderItem.model_validate(raw)
        except ValidationError as error:
            if problems.full:
                problems.skip(error.error_count())
            else:
                for problem in problems_of(error, index, reference):
                    problems.add(problem)
            item = None
        pair = coordinate_problem(raw, index, reference)
        if pair is not None:
            problems.add(pair)
            item = None
        if not has_text(raw.get("customerId")) and not has_address(raw.get("deliveryAddress")):
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
            f"item {index} (externalOrderId {reference_of(raw)!r}): plannedDate must be a "
            f"real calendar date in YYYY-MM-DD format, got {shown}"
        )
    if messages:
        body: dict[str, Any] = {"error": "Invalid plannedDate", "fieldErrors": {"plannedDate": messages.listed}}
        if messages.omitted:
            body["omitted"] = messages.omitted
        raise PayloadRejectedError(422, body)


def _line_of(item: BaseModel) -> OrderLine:
    values = item.__dict__
    patch: dict[str, Any] = {}
    for name in item.model_fields_set:
        field = _ORDER_FIELD_OF.get(name)
        if field is not None:
            value = values[name]
            # Empty strings are "no value" for optional text, like null.
            patch[field] = None if value == "" else value
    return OrderLine(
        external_order_id=values["externalOrderId"],
        customer_id=values["customerId"] or None,
        delivery_address=values["deliveryAddress"] or None,
        customer_name=values["customerName"] or None,
        customer_contact=values["customerContact"] or None,
        patch=patch,
    )
