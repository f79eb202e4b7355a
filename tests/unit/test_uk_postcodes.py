"""Finding and normalising UK postcodes in free-text addresses."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infrastructure.geocoding.uk_postcodes import (
    extract_outcode,
    extract_postcode,
    normalise_postcode,
    postcode_area,
    postcode_sector,
)

#: What is looked for in an address, and the function that finds it.
EXTRACT: dict[str, Callable[[str], str | None]] = {"postcode": extract_postcode, "outcode": extract_outcode}

#: Addresses and what is found in each, by what is looked for.
FOUND: dict[str, list[tuple[str, str]]] = {
    # A full postcode is found in any case and spacing, and normalised.
    "postcode": [
        ("SW1A 1AA", "SW1A 1AA"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("sw1a1aa", "SW1A 1AA"),
        ("SW1A  1AA", "SW1A 1AA"),
        ("SW1A\t1AA", "SW1A 1AA"),
        ("  Sw1A 1aA  ", "SW1A 1AA"),
        ("10 High St, London SW1A 1AA, UK", "SW1A 1AA"),
        ("10 High St,London,SW1A1AA,United Kingdom", "SW1A 1AA"),
        ("(SW1A 1AA)", "SW1A 1AA"),
        ("Flat 3, 12 Leith Walk, Edinburgh EH6 8LT", "EH6 8LT"),
        ("M11AE", "M1 1AE"),
        ("M1 1AE Manchester", "M1 1AE"),
        ("B1 1AY", "B1 1AY"),
        ("cf101ep", "CF10 1EP"),
        ("EC1A 1BB", "EC1A 1BB"),
        ("W1A 0AX", "W1A 0AX"),
    ],
    # An outcode ending the address is the district.
    "outcode": [
        ("London SW1A", "SW1A"),
        ("london sw1a", "SW1A"),
        ("Manchester M1, UK", "M1"),
        ("Cardiff CF10 United Kingdom", "CF10"),
        ("Edinburgh, EH1.", "EH1"),
        ("Leeds LS1, England", "LS1"),
        ("SW1A", "SW1A"),
    ],
}

#: Addresses in which nothing is found, by what is looked for.
NOT_FOUND: dict[str, list[str]] = {
    # Text without a well-formed full postcode.
    "postcode": [
        "",
        "10 Downing Street, London",
        "1600 Amphitheatre Parkway, Mountain View, CA 94043, USA",
        "Unter den Linden 77, 10117 Berlin, Germany",
        "290 Bremner Blvd, Toronto ON M5V 3L9, Canada",
        "Order ABC12 3DEF",
        "SW1A 1AAB",
        "XSW1A 1AA",
        "SW1A 1CA",
        "SW1A\n1AA",
        "GIR 0AA",
    ],
    # An outcode that does not end the address, or that names premises.
    "outcode": [
        "London SW1A, near Victoria",
        "10 High Street, Unit B2",
        "Flat A1",
        "Services off the M25",
        "10 Downing Street, London",
        "Paris 75001, France",
    ],
}


@pytest.mark.parametrize(
    ("kind", "address", "found"),
    [
        pytest.param(kind, address, found, id=f"{kind} in {address!r}")
        for kind, rows in FOUND.items()
        for address, found in rows
    ],
)
def test_a_full_postcode_anywhere_or_an_outcode_ending_the_address_is_found_and_normalised(
    kind: str, address: str, found: str
) -> None:
    assert EXTRACT[kind](address) == found


@pytest.mark.parametrize(
    ("kind", "address"),
    [
        pytest.param(kind, address, id=f"no {kind} in {address!r}")
        for kind, rows in NOT_FOUND.items()
        for address in rows
    ],
)
def test_text_without_a_well_formed_postcode_or_a_final_outcode_has_none(kind: str, address: str) -> None:
    assert EXTRACT[kind](address) is None


def test_the_last_of_several_postcodes_wins() -> None:
    address = "Invoice to SW1A 1AA; deliver to 1 Princes St, Edinburgh EH2 2EQ"

    assert extract_postcode(address) == "EH2 2EQ"


def test_the_last_postcode_wins_even_when_written_without_spaces() -> None:
    assert extract_postcode("from m11ae to cf101ep") == "CF10 1EP"


def test_normalising_accepts_exactly_one_postcode_and_nothing_else() -> None:
    assert normalise_postcode(" sw1a1aa ") == "SW1A 1AA"
    assert normalise_postcode("SW1A 1AA UK") is None
    assert normalise_postcode("SW1A") is None


def test_area_and_sector_are_cut_from_the_normalised_postcode() -> None:
    assert postcode_area("SW1A 1AA") == "SW"
    assert postcode_area("B1 1AY") == "B"
    assert postcode_area("m1") == "M"
    assert postcode_sector("SW1A 1AA") == "SW1A 1"
    assert postcode_sector("M1 1AE") == "M1 1"
