"""The webhook's order item: the rule each field is checked by, and the words of each problem.

Webhook and pull share these rules (through ``application/order_payload.py``),
so a pulled batch is judged exactly as a pushed one. The order's own fields
are those of ``domain.order.FIELDS``, under their wire names; the item adds
its reference and the two fields that only found a customer.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
)
from pydantic_core import PydanticCustomError

from domain.addresses import normalise_address
from domain.order import FIELDS, WIRE_NAME

MAX_TEXT = 1000
MAX_ID = 255
MAX_TAGS = 50
MAX_TAG = 100

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_EXACT_FLOAT_LIMIT = 2.0**53


def number_as_string(value: Any) -> Any:
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
    BeforeValidator(number_as_string),
    NoNul,
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT), NoNul]
Quantity = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, BeforeValidator(_integral_float_as_int), Field(ge=0, le=2**31 - 1)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TAG), NoNul]


CustomerRef = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_ID), NoNul]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS)]

#: How each order field is checked, by its name in ``domain.order.FIELDS``.
#: ``plannedDate`` takes anything here: its own check comes after the others.
FIELD_RULES: dict[str, Any] = {
    "customer_id": CustomerRef,
    "delivery_address": Text,
    "total_weight": Quantity,
    "volume": Quantity,
    "pallet_count": Count,
    "special_handling": Tags,
    "planned_date": Any,
    "latitude": Latitude,
    "longitude": Longitude,
}
#: Fields that only found a customer (with ``deliveryAddress``): not fields of the order.
CUSTOMER_FIELDS = ("customerName", "customerContact")
#: Checked first, so their problems are listed first: where the order goes.
_FIRST = ("delivery_address", "customer_id")


class _Item(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def _item_model(name: str, external_id: Any, rules: dict[str, Any], text: Any, doc: str) -> type[BaseModel]:
    fields: dict[str, Any] = {"externalOrderId": (external_id, ...)}
    fields.update({WIRE_NAME[name]: (rules[name] | None, None) for name in _FIRST})
    fields.update({name: (text | None, None) for name in CUSTOMER_FIELDS})
    fields.update({f.wire: (rules[f.name] | None, None) for f in FIELDS if f.name not in _FIRST})
    return create_model(name, __base__=_Item, __doc__=doc, **fields)


OrderItem = _item_model(
    "OrderItem", ExternalId, FIELD_RULES, Text, "One order object as a WMS sends it. Unknown fields are ignored."
)

# The same rules without a Python function: a string holding NUL is refused by
# a pattern, and the numbers that OrderItem converts (an id sent as a number,
# 3.0 pallets) are refused. What this model accepts, OrderItem accepts with the
# same values. It runs entirely in pydantic's compiled core: a call per Python
# validator per field was most of the cost of validating a large batch.
# Anything it refuses is judged again by OrderItem, which alone words the problems.
_NOT_NUL = r"^[^\x00]*$"


def _plain_text(*, min_length: int = 0, max_length: int) -> Any:
    return Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=_NOT_NUL)
    ]


_PlainText = _plain_text(max_length=MAX_TEXT)
PlainOrderItem = _item_model(
    "PlainOrderItem",
    _plain_text(min_length=1, max_length=MAX_ID),
    {
        **FIELD_RULES,
        "customer_id": _plain_text(max_length=MAX_ID),
        "delivery_address": _PlainText,
        "pallet_count": Annotated[int, Field(ge=0, le=2**31 - 1)],
        "special_handling": Annotated[list[_plain_text(min_length=1, max_length=MAX_TAG)], Field(max_length=MAX_TAGS)],  # type: ignore[misc]  # a type built by a call, which mypy cannot follow
    },
    _PlainText,
    "OrderItem's rules in pydantic's compiled core alone: accepts a subset of what OrderItem accepts.",
)

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


_RANGES = {"latitude": (-90, 90), "longitude": (-180, 180)}


def coordinate_problem(raw: dict[str, Any], index: int, reference: str | None) -> dict[str, Any] | None:
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


def problems_of(error: ValidationError, index: int, reference: str | None) -> list[dict[str, Any]]:
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
        problems.append({"index": index, "externalOrderId": reference, "field": field, "message": f"{where} {words}"})
    return problems


def reference_of(raw: dict[str, Any]) -> str | None:
    value = raw.get("externalOrderId")
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        converted = number_as_string(value)
        return converted if isinstance(converted, str) else None
    if isinstance(value, str):
        return value[:MAX_ID]
    return None


def has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def has_address(value: Any) -> bool:
    # Punctuation alone (",,,") names no address and could found no customer.
    return isinstance(value, str) and bool(normalise_address(value))


def is_calendar_date(value: Any) -> bool:
    """A ``YYYY-MM-DD`` string naming a real calendar date (``2025-02-30`` is not)."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
