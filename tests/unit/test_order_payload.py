"""The webhook payload contract on bytes, without HTTP or a store.

Checks run in order and the first failing one decides: invalid JSON (400) ->
payload shape (400) -> batch size (413) -> field validation, every problem of
every item (400) -> plannedDate (422).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from application.errors import PayloadRejectedError
from application.order_lines import OrderLine
from application.order_payload import parse_order_batch, parse_order_batch_with_warnings

ADDRESS = "10 High Street, London SW1A 1AA"


def order(**fields: Any) -> dict[str, Any]:
    """A valid order item; keyword arguments add, replace or (with ``...``) drop fields."""
    item: dict[str, Any] = {"externalOrderId": "WMS-ORD-001", "deliveryAddress": ADDRESS}
    for name, value in fields.items():
        if value is ...:
            item.pop(name, None)
        else:
            item[name] = value
    return item


def parse(payload: Any, max_items: int = 100) -> tuple[OrderLine, ...]:
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return parse_order_batch(body, max_items=max_items)


def rejection(payload: Any, max_items: int = 100) -> tuple[int, dict[str, Any]]:
    with pytest.raises(PayloadRejectedError) as caught:
        parse(payload, max_items)
    return caught.value.status, caught.value.body


def problems(payload: Any) -> list[dict[str, Any]]:
    status, body = rejection(payload)
    assert status == 400 and body["error"] == "Validation failed", body
    return list(body["details"])


def messages(payload: Any) -> list[str]:
    return [p["message"] for p in problems(payload)]


def planned_date_messages(payload: Any) -> list[str]:
    status, body = rejection(payload)
    assert status == 422, body
    assert body["error"] == "Invalid plannedDate"
    return list(body["fieldErrors"]["plannedDate"])


# ---------------------------------------------------------------- the documented examples


def test_the_documented_single_order_is_one_line() -> None:
    [line] = parse(
        {
            "externalOrderId": "WMS-ORD-001",
            "deliveryAddress": ADDRESS,
            "customerName": "Acme Ltd",
            "customerContact": "deliveries@acme.com",
            "totalWeight": 25.5,
            "palletCount": 1,
            "plannedDate": "2025-02-22",
        }
    )

    assert line.external_order_id == "WMS-ORD-001"
    assert line.delivery_address == ADDRESS
    assert line.customer_id is None
    assert (line.customer_name, line.customer_contact) == ("Acme Ltd", "deliveries@acme.com")
    assert line.patch == {
        "delivery_address": ADDRESS,
        "total_weight": 25.5,
        "pallet_count": 1,
        "planned_date": "2025-02-22",
    }


def test_the_documented_batch_keeps_input_order() -> None:
    lines = parse(
        [
            {
                "externalOrderId": "WMS-ORD-001",
                "deliveryAddress": ADDRESS,
                "customerName": "Acme Ltd",
                "totalWeight": 25.5,
            },
            {"externalOrderId": "WMS-ORD-002", "customerId": "clxx", "totalWeight": 10, "plannedDate": "2025-02-22"},
        ]
    )

    assert [line.external_order_id for line in lines] == ["WMS-ORD-001", "WMS-ORD-002"]
    assert lines[1].customer_id == "clxx"
    assert lines[1].patch == {"total_weight": 10.0, "planned_date": "2025-02-22"}


def test_a_single_object_and_a_one_element_array_are_equivalent() -> None:
    assert parse(order()) == parse([order()])


def test_an_empty_array_is_a_batch_of_zero() -> None:
    assert parse([]) == ()


# ---------------------------------------------------------------- JSON and shape


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"\xff\xfe", b"[1,]", b"NaN", b"{'a': 1}"])
def test_a_body_that_is_not_json_gets_400_invalid_json(body: bytes) -> None:
    assert rejection(body) == (400, {"error": "Invalid JSON"})


@pytest.mark.parametrize("document", ["an order", 42, 2.5, True, None])
def test_json_that_is_neither_an_object_nor_an_array_gets_400_invalid_payload_shape(document: Any) -> None:
    status, body = rejection(document)

    assert status == 400
    assert body["error"] == "Invalid payload shape"
    assert body["details"]


def test_an_array_with_items_that_are_not_objects_names_each_of_them() -> None:
    status, body = rejection([order(), "WMS-ORD-002", [order()], None])

    assert status == 400
    assert body["error"] == "Invalid payload shape"
    assert [d["index"] for d in body["details"]] == [1, 2, 3]
    assert all(d["message"] == "each order must be a JSON object" for d in body["details"])


# ---------------------------------------------------------------- the check order


def test_the_batch_size_is_judged_before_the_shape_as_documented() -> None:
    """The README's order: 413 (too many orders) comes before 400 Invalid payload shape."""
    status, body = rejection([1, 2, 3], max_items=2)

    assert (status, body["error"]) == (413, "Payload too large")
    assert rejection([order(), 2], max_items=2)[1]["error"] == "Invalid payload shape"


def test_more_orders_than_allowed_gets_413_before_any_item_is_validated() -> None:
    status, body = rejection([{}, {}, {}], max_items=2)

    assert status == 413
    assert body["error"] == "Payload too large"
    assert body["maxItems"] == 2
    assert "3" in body["details"]


def test_exactly_the_allowed_number_of_orders_is_fine() -> None:
    assert len(parse([order(externalOrderId=str(i)) for i in range(5)], max_items=5)) == 5


def test_validation_errors_come_before_planned_date_errors() -> None:
    status, body = rejection([order(plannedDate="22/02/2025"), order(totalWeight=-1)])

    assert status == 400
    assert body["error"] == "Validation failed"
    assert [d["index"] for d in body["details"]] == [1]


# ---------------------------------------------------------------- field validation


def test_a_missing_external_order_id_is_required() -> None:
    [problem] = problems(order(externalOrderId=...))

    assert problem == {
        "index": 0,
        "externalOrderId": None,
        "field": "externalOrderId",
        "message": "externalOrderId is required",
    }


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_external_order_id_is_refused(blank: str) -> None:
    [problem] = problems(order(externalOrderId=blank))

    assert problem["field"] == "externalOrderId"
    assert problem["message"] == "externalOrderId must not be empty"


def test_an_over_long_external_order_id_is_refused_with_the_limit() -> None:
    [problem] = problems(order(externalOrderId="x" * 256))

    assert problem["message"] == "externalOrderId must be at most 255 characters"
    assert problem["externalOrderId"] == "x" * 255


def test_the_length_limit_counts_the_trimmed_external_order_id() -> None:
    [line] = parse(order(externalOrderId=f"  {'x' * 255}  "))

    assert line.external_order_id == "x" * 255


@pytest.mark.parametrize("value", [None, True, ["A"], {"id": "A"}])
def test_an_external_order_id_of_another_type_is_refused(value: Any) -> None:
    [problem] = problems(order(externalOrderId=value))

    assert problem["field"] == "externalOrderId"
    assert problem["externalOrderId"] is None


@pytest.mark.parametrize(
    ("number", "text"),
    [(12345, "12345"), (0, "0"), (-7, "-7"), (12345.0, "12345"), (12.5, "12.5"), (2**63 - 1, str(2**63 - 1))],
)
def test_a_numeric_external_order_id_is_accepted_as_its_string(number: Any, text: str) -> None:
    [line] = parse(order(externalOrderId=number))

    assert line.external_order_id == text


def test_a_numeric_external_order_id_too_large_to_be_exact_is_refused() -> None:
    # The JSON parser turns this into a float: 10**26 and 10**26 + 1 would be one order.
    body = b'{"externalOrderId": 100000000000000000000000001, "deliveryAddress": "10 High St"}'

    [problem] = problems(body)

    assert problem["field"] == "externalOrderId"
    assert problem["message"] == "externalOrderId must be a string"


def test_a_numeric_external_order_id_is_named_as_its_string_in_problems() -> None:
    [problem] = problems(order(externalOrderId=42, totalWeight=-1))

    assert problem["externalOrderId"] == "42"


def test_surrounding_spaces_of_an_external_order_id_are_trimmed() -> None:
    [line] = parse(order(externalOrderId="  WMS-ORD-001 "))

    assert line.external_order_id == "WMS-ORD-001"


@pytest.mark.parametrize(
    "item",
    [
        {"externalOrderId": "A"},
        {"externalOrderId": "A", "deliveryAddress": ""},
        {"externalOrderId": "A", "deliveryAddress": "   "},
        {"externalOrderId": "A", "deliveryAddress": ",,, ."},
        {"externalOrderId": "A", "deliveryAddress": None, "customerId": None},
        {"externalOrderId": "A", "customerId": "  "},
    ],
)
def test_neither_customer_id_nor_delivery_address_is_refused(item: dict[str, Any]) -> None:
    [problem] = problems(item)

    assert problem == {
        "index": 0,
        "externalOrderId": "A",
        "field": "deliveryAddress",
        "message": "deliveryAddress or customerId is required",
    }


def test_a_customer_id_alone_is_enough() -> None:
    [line] = parse({"externalOrderId": "A", "customerId": "c-1"})

    assert (line.customer_id, line.delivery_address) == ("c-1", None)
    assert line.patch == {}


def test_with_both_the_customer_id_decides_and_the_address_is_kept_for_the_order() -> None:
    [line] = parse(order(customerId="c-1"))

    assert line.customer_id == "c-1"
    assert line.patch["delivery_address"] == ADDRESS


def test_a_punctuation_only_address_is_kept_when_a_customer_id_decides() -> None:
    [line] = parse(order(customerId="c-1", deliveryAddress="-"))

    assert line.patch["delivery_address"] == "-"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("totalWeight", "25.5", "totalWeight must be a number"),
        ("totalWeight", True, "totalWeight must be a number"),
        ("totalWeight", [1], "totalWeight must be a number"),
        ("volume", "1", "volume must be a number"),
        ("volume", {"m3": 1}, "volume must be a number"),
        ("palletCount", "1", "palletCount must be a whole number"),
        ("palletCount", 2.5, "palletCount must be a whole number"),
        ("palletCount", False, "palletCount must be a whole number"),
        ("palletCount", 2**31, "palletCount is too large"),
        ("deliveryAddress", 10, "deliveryAddress must be a string"),
        ("customerName", 10, "customerName must be a string"),
        ("customerContact", ["a"], "customerContact must be a string"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_a_clear_message(field: str, value: Any, message: str) -> None:
    assert message in messages(order(customerId="c-1", **{field: value}))


@pytest.mark.parametrize(("field", "value"), [("totalWeight", -0.5), ("volume", -1), ("palletCount", -1)])
def test_a_negative_quantity_is_refused(field: str, value: float) -> None:
    [problem] = problems(order(**{field: value}))

    assert problem["field"] == field
    assert problem["message"] == f"{field} must not be negative"


@pytest.mark.parametrize(("field", "value"), [("totalWeight", 0), ("volume", 0.0), ("palletCount", 0)])
def test_zero_is_a_valid_quantity(field: str, value: float) -> None:
    [line] = parse(order(**{field: value}))

    assert list(line.patch.values()).count(0) == 1


def test_an_integral_float_pallet_count_is_accepted_as_a_whole_number() -> None:
    [line] = parse(order(palletCount=3.0))

    assert line.patch["pallet_count"] == 3
    assert type(line.patch["pallet_count"]) is int


def test_a_whole_number_weight_is_a_number() -> None:
    [line] = parse(order(totalWeight=10, volume=2))

    assert (line.patch["total_weight"], line.patch["volume"]) == (10, 2)


def test_the_documented_special_handling_array_is_accepted() -> None:
    [line] = parse(order(specialHandling=["fragile", "timed_slot"]))

    assert line.patch["special_handling"] == ["fragile", "timed_slot"]


def test_an_empty_special_handling_array_is_a_value() -> None:
    [line] = parse(order(specialHandling=[]))

    assert line.patch["special_handling"] == []


@pytest.mark.parametrize("value", ["fragile", 1, True, {"fragile": True}])
def test_special_handling_that_is_not_an_array_is_refused(value: Any) -> None:
    [problem] = problems(order(specialHandling=value))

    assert problem["field"] == "specialHandling"
    assert problem["message"] == "specialHandling must be an array of strings"


def test_each_bad_special_handling_entry_is_named() -> None:
    found = messages(order(specialHandling=["fragile", 7, None, ""]))

    assert found == [
        "specialHandling[1] must be a string",
        "specialHandling[2] must be a string",
        "specialHandling[3] must not be empty",
    ]


def test_special_handling_has_a_bounded_length() -> None:
    assert messages(order(specialHandling=[f"tag-{i}" for i in range(51)])) == [
        "specialHandling must have at most 50 entries"
    ]


def test_every_problem_of_every_item_is_listed_in_index_order() -> None:
    details = problems(
        [
            order(externalOrderId="A", totalWeight="heavy", palletCount=-1),
            order(externalOrderId="B"),
            {"externalOrderId": "C"},
            order(externalOrderId=..., volume=-2),
        ]
    )

    assert [(d["index"], d["field"]) for d in details] == [
        (0, "totalWeight"),
        (0, "palletCount"),
        (2, "deliveryAddress"),
        (3, "externalOrderId"),
        (3, "volume"),
    ]
    assert [d["externalOrderId"] for d in details] == ["A", "A", "C", None, None]
    assert all(set(d) == {"index", "externalOrderId", "field", "message"} for d in details)


def test_unknown_fields_are_ignored() -> None:
    [line] = parse(order(colour="red", notes={"gate": 4}, totalWeight=1))

    assert line.patch == {"delivery_address": ADDRESS, "total_weight": 1}


# ---------------------------------------------------------------- plannedDate


@pytest.mark.parametrize("date", ["2025-02-22", "2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31"])
def test_a_real_calendar_date_is_accepted(date: str) -> None:
    [line] = parse(order(plannedDate=date))

    assert line.patch["planned_date"] == date


@pytest.mark.parametrize(
    "value",
    [
        "2025-02-30",
        "2025-02-29",  # not a leap year
        "1900-02-29",  # divisible by 100, not by 400
        "2025-13-01",
        "2025-00-10",
        "22/02/2025",
        "20250222",
        "2025-2-22",
        "2025/02/22",
        " 2025-02-22",
        "2025-02-22 ",
        "2025-02-22\n",
        "2025-02-22T00:00:00",
        "2025-W08-6",
        "",
        "２０２５-02-22",  # full-width digits
        "٢٠٢٥-٠٢-٢٢",  # Arabic-Indic digits
        20250222,
        2025.0,
        True,
        False,
        [],
        ["2025-02-22"],
        {},
        {"date": "2025-02-22"},
    ],
)
def test_anything_else_non_null_gets_422_invalid_planned_date(value: Any) -> None:
    [message] = planned_date_messages(order(plannedDate=value))

    assert message.startswith("item 0 (externalOrderId 'WMS-ORD-001'): ")
    assert "YYYY-MM-DD" in message


def test_there_is_one_message_per_bad_item_naming_its_index_and_external_id() -> None:
    found = planned_date_messages(
        [
            order(externalOrderId="A", plannedDate="2025-02-22"),
            order(externalOrderId="B", plannedDate="22/02/2025"),
            order(externalOrderId="C"),
            order(externalOrderId=77, plannedDate=20250222),
        ]
    )

    assert len(found) == 2
    assert found[0].startswith("item 1 (externalOrderId 'B')")
    assert "'22/02/2025'" in found[0]
    assert found[1].startswith("item 3 (externalOrderId '77')")


def test_a_long_bad_planned_date_is_shown_shortened() -> None:
    [message] = planned_date_messages(order(plannedDate="x" * 5000))

    assert len(message) < 200


# ---------------------------------------------------------------- present / absent / null


def test_absent_fields_are_absent_from_the_patch() -> None:
    [line] = parse({"externalOrderId": "A", "customerId": "c-1"})

    assert line.patch == {}


def test_null_fields_clear_through_the_patch() -> None:
    [line] = parse(
        {
            "externalOrderId": "A",
            "customerId": "c-1",
            "deliveryAddress": None,
            "totalWeight": None,
            "volume": None,
            "palletCount": None,
            "specialHandling": None,
            "plannedDate": None,
        }
    )

    assert line.patch == {
        "delivery_address": None,
        "total_weight": None,
        "volume": None,
        "pallet_count": None,
        "special_handling": None,
        "planned_date": None,
    }


def test_an_empty_address_beside_a_customer_id_clears_like_null() -> None:
    [line] = parse({"externalOrderId": "A", "customerId": "c-1", "deliveryAddress": "  "})

    assert line.patch == {"delivery_address": None}
    assert line.delivery_address is None


def test_customer_name_and_contact_are_not_order_fields() -> None:
    [line] = parse(order(customerName="Acme", customerContact="N/A"))

    assert "customer_name" not in line.patch and "customerName" not in line.patch
    assert (line.customer_name, line.customer_contact) == ("Acme", "N/A")


def test_empty_customer_name_and_contact_mean_the_defaults() -> None:
    [line] = parse(order(customerName="", customerContact=None))

    assert (line.customer_name, line.customer_contact) == (None, None)


def test_text_is_trimmed() -> None:
    [line] = parse(order(deliveryAddress="  10 High St  ", specialHandling=[" fragile "]))

    assert line.delivery_address == "10 High St"
    assert line.patch["special_handling"] == ["fragile"]


# ---------------------------------------------------------------------- ignored fields


def test_fields_no_order_has_are_listed_as_warnings_in_input_order() -> None:
    body = orjson.dumps(
        [
            {"externalOrderId": "A", "customerId": "c", "planedDate": "2025-02-22"},
            {"externalOrderId": 42, "customerId": "c", "notes": "ring twice", "totalWieght": 3},
        ]
    )
    lines, warnings = parse_order_batch_with_warnings(body, max_items=10)
    assert [line.external_order_id for line in lines] == ["A", "42"]
    assert "planned_date" not in lines[0].patch
    assert warnings == (
        {
            "index": 0,
            "externalOrderId": "A",
            "field": "planedDate",
            "message": "unknown field, ignored; did you mean plannedDate?",
        },
        {"index": 1, "externalOrderId": "42", "field": "notes", "message": "unknown field, ignored"},
        {
            "index": 1,
            "externalOrderId": "42",
            "field": "totalWieght",
            "message": "unknown field, ignored; did you mean totalWeight?",
        },
    )


def test_a_batch_of_known_fields_has_no_warnings_and_a_refused_one_none_either() -> None:
    body = orjson.dumps({"externalOrderId": "A", "customerId": "c", "plannedDate": None})
    assert parse_order_batch_with_warnings(body, max_items=10)[1] == ()
    with pytest.raises(PayloadRejectedError):
        parse_order_batch_with_warnings(orjson.dumps({"externalOrderId": "A", "extra": 1}), max_items=10)


def test_a_very_long_unknown_field_name_is_cut_in_the_warning() -> None:
    body = orjson.dumps({"externalOrderId": "A", "customerId": "c", "x" * 5000: 1})
    [warning] = parse_order_batch_with_warnings(body, max_items=10)[1]
    assert warning["field"] == "x" * 100
