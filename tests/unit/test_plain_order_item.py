"""The batch fast path's item rules accept only what ``OrderItem`` accepts, with the same values."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from application.order_field_rules import OrderItem, PlainOrderItem
from application.order_payload import _line_of, _validate_each, _validate_items, parse_order_batch

_NAMES = list(OrderItem.model_fields)
_TEXT = st.text(alphabet=st.sampled_from(["a", " ", "\x00", "\n", "é", "1", "\x1f"]), max_size=6)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**32),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([3.0, 0.0, -0.0, 2.5, 91.0, 1e300]),
    _TEXT,
    st.text(min_size=250, max_size=260),
    st.lists(_TEXT, max_size=3),
    st.lists(st.integers(), max_size=2),
)
_ITEMS = st.dictionaries(st.sampled_from([*_NAMES, "planedDate"]), _VALUES, max_size=8)


@settings(max_examples=600, deadline=None)
@given(_ITEMS)
def test_what_the_plain_rules_accept_order_item_accepts_alike(raw: dict[str, Any]) -> None:
    try:
        plain = PlainOrderItem.model_validate(raw)
    except ValidationError:
        return
    item = OrderItem.model_validate(raw)
    assert plain.__dict__ == item.__dict__
    assert plain.model_fields_set == item.model_fields_set


@settings(max_examples=300, deadline=None)
@given(st.lists(_ITEMS.map(lambda raw: {"externalOrderId": "x", "deliveryAddress": "1 Road", **raw}), max_size=4))
def test_the_one_call_path_gives_the_lines_or_the_refusal_of_the_item_by_item_path(
    raw_items: list[dict[str, Any]],
) -> None:
    try:
        expected = [_line_of(item) for item in _validate_each(raw_items, 0)]
    except Exception as refused:
        try:
            _validate_items(raw_items)
        except type(refused) as again:
            assert again.args == refused.args
            assert getattr(again, "body", None) == getattr(refused, "body", None)
        else:
            raise AssertionError("the one-call path accepted what the item-by-item path refused") from None
        return
    assert [_line_of(item) for item in _validate_items(raw_items)] == expected


def test_a_numeric_id_and_whole_float_pallets_still_parse() -> None:
    # The plain rules refuse both; the item-by-item path converts them.
    [line] = parse_order_batch(
        orjson.dumps([{"externalOrderId": 42, "deliveryAddress": "1 Road", "palletCount": 3.0}]), max_items=10
    )
    assert line.external_order_id == "42"
    assert line.patch["pallet_count"] == 3
