"""Finding and normalising UK postcodes in free-text addresses."""

from __future__ import annotations

import pytest

from infrastructure.geocoding.uk_postcodes import (
    extract_outcode,
    extract_postcode,
    normalise_postcode,
    postcode_area,
    postcode_sector,
)


@pytest.mark.parametrize(
    ("address", "postcode"),
    [
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
)
def test_a_full_postcode_is_found_in_any_case_and_spacing_and_normalised(address: str, postcode: str) -> None:
    assert extract_postcode(address) == postcode


def test_the_last_of_several_postcodes_wins() -> None:
    address = "Invoice to SW1A 1AA; deliver to 1 Princes St, Edinburgh EH2 2EQ"

    assert extract_postcode(address) == "EH2 2EQ"


def test_the_last_postcode_wins_even_when_written_without_spaces() -> None:
    assert extract_postcode("from m11ae to cf101ep") == "CF10 1EP"


@pytest.mark.parametrize(
    "address",
    [
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
)
def test_text_without_a_well_formed_full_postcode_has_none(address: str) -> None:
    assert extract_postcode(address) is None


@pytest.mark.parametrize(
    ("address", "outcode"),
    [
        ("London SW1A", "SW1A"),
        ("london sw1a", "SW1A"),
        ("Manchester M1, UK", "M1"),
        ("Cardiff CF10 United Kingdom", "CF10"),
        ("Edinburgh, EH1.", "EH1"),
        ("Leeds LS1, England", "LS1"),
        ("SW1A", "SW1A"),
    ],
)
def test_an_outcode_ending_the_address_is_the_district(address: str, outcode: str) -> None:
    assert extract_outcode(address) == outcode


@pytest.mark.parametrize(
    "address",
    [
        "London SW1A, near Victoria",
        "10 High Street, Unit B2",
        "Flat A1",
        "Services off the M25",
        "10 Downing Street, London",
        "Paris 75001, France",
    ],
)
def test_an_outcode_that_does_not_end_the_address_or_names_premises_is_ignored(address: str) -> None:
    assert extract_outcode(address) is None


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
