"""National Grid -> OSGB36 -> WGS84 against published reference values."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infrastructure.geocoding.osgb import LatLon, grid_to_osgb36, grid_to_wgs84, osgb36_to_wgs84

ARCSECOND = 1.0 / 3600.0


def dms(degrees: int, minutes: int, seconds: float) -> float:
    return degrees + minutes / 60.0 + seconds / 3600.0


#: The grid reference of Caister water tower, the OS guide's worked example (easting, northing).
CAISTER = (651409.903, 313177.270)


#: Published examples, by what each shows: the conversion, the grid reference, the position
#: published for it, and how close the conversion must come to that position.
PUBLISHED: dict[str, tuple[Callable[[float, float], LatLon], tuple[float, float], LatLon, float]] = {
    # OS "A guide to coordinate systems in Great Britain", Annex C.2 (Caister water tower).
    "the OS worked example inverts to the published OSGB36 position": (
        grid_to_osgb36,
        CAISTER,
        LatLon(dms(52, 39, 27.2531), dms(1, 43, 4.5177)),
        0.0001 * ARCSECOND,
    ),
    # IOGP Guidance Note 7-2, Transverse Mercator: 50°30'N 0°30'E is E 577274.99 N 69740.50,
    # published to the centimetre, so the inverse is good to about 1e-7 degrees.
    "the EPSG guidance note example inverts to its whole half degrees": (
        grid_to_osgb36,
        (577274.99, 69740.50),
        LatLon(50.5, 0.5),
        2e-7,
    ),
    # Published for the same grid reference and the same OS Helmert parameters by
    # C. Veness' geodesy library (OsGridRef.toLatLon): 52°39'28.723"N, 001°42'57.787"E.
    "the worked example in WGS84 matches the published Helmert result": (
        grid_to_wgs84,
        CAISTER,
        LatLon(dms(52, 39, 28.723), dms(1, 42, 57.787)),
        0.002 * ARCSECOND,
    ),
}


@pytest.mark.parametrize(("convert", "grid", "expected", "tolerance"), PUBLISHED.values(), ids=PUBLISHED)
def test_published_worked_examples_convert_to_their_published_positions(
    convert: Callable[[float, float], LatLon], grid: tuple[float, float], expected: LatLon, tolerance: float
) -> None:
    position = convert(*grid)

    assert position.lat == pytest.approx(expected.lat, abs=tolerance)
    assert position.lon == pytest.approx(expected.lon, abs=tolerance)


def test_the_helmert_shift_moves_a_point_by_the_expected_hundred_metres_or_so() -> None:
    # OSGB36 and WGS84 differ by roughly 100-120 m across Great Britain; a sign
    # error in any parameter would make this several hundred metres.
    osgb36 = grid_to_osgb36(*CAISTER)
    wgs84 = osgb36_to_wgs84(osgb36.lat, osgb36.lon)

    assert (wgs84.lat - osgb36.lat) * 111_200 == pytest.approx(45.4, abs=0.5)
    assert (wgs84.lon - osgb36.lon) * 67_600 == pytest.approx(-126.4, abs=1.0)


@pytest.mark.parametrize(
    ("place", "easting", "northing", "lat", "lon"),
    [
        # Reference values: PROJ's independent implementation of the same chain
        # (inverse tmerc on Airy 1830, then the OS Helmert with position-vector
        # rotations); the grid references are the postcode units' Code-Point Open
        # positions: SW1A 1AA, EH1 1YZ, M1 1AE, CF10 1EP, ZE1 0AA, TR19 7AA.
        ("Buckingham Palace", 529090, 179645, 51.5010089, -0.1415876),
        ("Edinburgh Waverley", 325597, 673676, 55.9503323, -3.1930169),
        ("Manchester Piccadilly", 384756, 398553, 53.4834714, -2.2311842),
        ("Cardiff Central", 318200, 175860, 51.4757639, -3.1792086),
        ("Lerwick, far north-east of the grid", 447759, 1141280, 60.1532217, -1.1415954),
        ("Land's End, far west of the grid", 134340, 25043, 50.0660274, -5.7136392),
    ],
)
def test_grid_references_across_great_britain_convert_to_wgs84_within_a_centimetre(
    place: str, easting: int, northing: int, lat: float, lon: float
) -> None:
    position = grid_to_wgs84(easting, northing)

    assert position.lat == pytest.approx(lat, abs=1e-7), place
    assert position.lon == pytest.approx(lon, abs=1e-7), place
