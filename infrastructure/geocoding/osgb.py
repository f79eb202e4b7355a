"""British National Grid (OSGB36 easting/northing) to WGS84 latitude/longitude.

Hand-written with the standard library's ``math`` only, following Ordnance
Survey's "A guide to coordinate systems in Great Britain":

1. inverse Transverse Mercator on the Airy 1830 ellipsoid (OS guide, Annex C)
   turns an easting/northing into an OSGB36 latitude/longitude;
2. a 7-parameter Helmert transformation (OS guide, section 6.6) moves that
   point from OSGB36 to WGS84 through earth-centred cartesian coordinates.

Policy: the Helmert step is accurate to a few metres (OS quote ~3.5 m RMS,
usually better than 2 m), which is far finer than a postcode unit, so the
centimetre-level OSTN15 grid shift is deliberately not used. Packages such as
``convertbng`` or ``pyproj`` are therefore not needed. Heights are taken as
zero on the OSGB36 ellipsoid; the resulting error in plan is below 1 cm.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

__all__ = ["LatLon", "grid_to_osgb36", "grid_to_wgs84", "osgb36_to_wgs84"]


class LatLon(NamedTuple):
    """A geodetic position in decimal degrees (north and east positive)."""

    lat: float
    lon: float


class _Ellipsoid(NamedTuple):
    a: float
    b: float

    @property
    def e2(self) -> float:
        return (self.a * self.a - self.b * self.b) / (self.a * self.a)


_AIRY_1830: Final = _Ellipsoid(a=6_377_563.396, b=6_356_256.909)
_WGS84: Final = _Ellipsoid(a=6_378_137.000, b=6_356_752.314_245)

# National Grid projection constants (OS guide, Table A.1).
_F0: Final = 0.999_601_2717
_LAT0: Final = math.radians(49.0)
_LON0: Final = math.radians(-2.0)
_E0: Final = 400_000.0
_N0: Final = -100_000.0

# OSGB36 -> WGS84 Helmert parameters: the OS guide publishes WGS84 -> OSGB36
# (tx -446.448 m, ty +125.157 m, tz -542.060 m, s +20.4894 ppm,
# rx -0.1502", ry -0.2470", rz -0.8421"); for such small rotations the reverse
# transformation is the same one with every sign flipped.
_TX: Final = 446.448
_TY: Final = -125.157
_TZ: Final = 542.060
_SCALE: Final = -20.4894e-6
_ARCSEC: Final = math.pi / (180.0 * 3600.0)
_RX: Final = 0.1502 * _ARCSEC
_RY: Final = 0.2470 * _ARCSEC
_RZ: Final = 0.8421 * _ARCSEC

# Iteration limits: the OS guide iterates until the northing residual is below
# 0.01 mm; the cartesian-to-geodetic loop stops at ~1e-12 rad (~6 micrometres).
_NORTHING_TOLERANCE_M: Final = 1e-5
_LATITUDE_TOLERANCE_RAD: Final = 1e-12
_MAX_ITERATIONS: Final = 50


def grid_to_wgs84(easting: float, northing: float) -> LatLon:
    """Convert a National Grid easting/northing (metres) to WGS84 degrees (~2 m)."""
    osgb36 = grid_to_osgb36(easting, northing)
    return osgb36_to_wgs84(osgb36.lat, osgb36.lon)


def grid_to_osgb36(easting: float, northing: float) -> LatLon:
    """Inverse Transverse Mercator: National Grid easting/northing to OSGB36 degrees.

    Exact to well under a millimetre inside Great Britain (OS guide, C.2).
    """
    ellipsoid = _AIRY_1830
    lat1 = _footpoint_latitude(northing, ellipsoid)
    sin_lat, cos_lat = math.sin(lat1), math.cos(lat1)
    tan_lat = math.tan(lat1)
    tan2, tan4, tan6 = tan_lat**2, tan_lat**4, tan_lat**6
    sec_lat = 1.0 / cos_lat

    one_minus = 1.0 - ellipsoid.e2 * sin_lat * sin_lat
    nu = ellipsoid.a * _F0 / math.sqrt(one_minus)
    rho = ellipsoid.a * _F0 * (1.0 - ellipsoid.e2) / one_minus**1.5
    eta2 = nu / rho - 1.0

    vii = tan_lat / (2.0 * rho * nu)
    viii = tan_lat / (24.0 * rho * nu**3) * (5.0 + 3.0 * tan2 + eta2 - 9.0 * tan2 * eta2)
    ix = tan_lat / (720.0 * rho * nu**5) * (61.0 + 90.0 * tan2 + 45.0 * tan4)
    x = sec_lat / nu
    xi = sec_lat / (6.0 * nu**3) * (nu / rho + 2.0 * tan2)
    xii = sec_lat / (120.0 * nu**5) * (5.0 + 28.0 * tan2 + 24.0 * tan4)
    xiia = sec_lat / (5040.0 * nu**7) * (61.0 + 662.0 * tan2 + 1320.0 * tan4 + 720.0 * tan6)

    de = easting - _E0
    lat = lat1 - vii * de**2 + viii * de**4 - ix * de**6
    lon = _LON0 + x * de - xi * de**3 + xii * de**5 - xiia * de**7
    return LatLon(math.degrees(lat), math.degrees(lon))


def osgb36_to_wgs84(lat: float, lon: float) -> LatLon:
    """Helmert-transform an OSGB36 latitude/longitude (degrees) to WGS84 degrees."""
    x, y, z = _to_cartesian(math.radians(lat), math.radians(lon), _AIRY_1830)
    x2, y2, z2 = _helmert_osgb36_to_wgs84(x, y, z)
    return _to_geodetic(x2, y2, z2, _WGS84)


def _footpoint_latitude(northing: float, ellipsoid: _Ellipsoid) -> float:
    """Latitude whose meridional arc equals the northing (OS guide, C.6-C.7)."""
    lat = (northing - _N0) / (ellipsoid.a * _F0) + _LAT0
    for _ in range(_MAX_ITERATIONS):
        residual = northing - _N0 - _meridional_arc(lat, ellipsoid)
        if abs(residual) < _NORTHING_TOLERANCE_M:
            return lat
        lat += residual / (ellipsoid.a * _F0)
    raise ArithmeticError(f"footpoint latitude did not converge for northing {northing}")


def _meridional_arc(lat: float, ellipsoid: _Ellipsoid) -> float:
    """Scaled meridional arc from the true origin to ``lat`` (OS guide, C.3)."""
    n = (ellipsoid.a - ellipsoid.b) / (ellipsoid.a + ellipsoid.b)
    n2, n3 = n * n, n * n * n
    d_lat, s_lat = lat - _LAT0, lat + _LAT0
    return (
        ellipsoid.b
        * _F0
        * (
            (1.0 + n + 1.25 * n2 + 1.25 * n3) * d_lat
            - (3.0 * n + 3.0 * n2 + 2.625 * n3) * math.sin(d_lat) * math.cos(s_lat)
            + (1.875 * n2 + 1.875 * n3) * math.sin(2.0 * d_lat) * math.cos(2.0 * s_lat)
            - (35.0 / 24.0) * n3 * math.sin(3.0 * d_lat) * math.cos(3.0 * s_lat)
        )
    )


def _to_cartesian(lat: float, lon: float, ellipsoid: _Ellipsoid) -> tuple[float, float, float]:
    """Geodetic (radians, zero height) to earth-centred cartesian metres (OS guide, B.1)."""
    sin_lat = math.sin(lat)
    nu = ellipsoid.a / math.sqrt(1.0 - ellipsoid.e2 * sin_lat * sin_lat)
    return (nu * math.cos(lat) * math.cos(lon), nu * math.cos(lat) * math.sin(lon), (1.0 - ellipsoid.e2) * nu * sin_lat)


def _helmert_osgb36_to_wgs84(x: float, y: float, z: float) -> tuple[float, float, float]:
    """Small-angle 7-parameter Helmert transformation (OS guide, 6.2)."""
    scale = 1.0 + _SCALE
    return (
        _TX + scale * x - _RZ * y + _RY * z,
        _TY + _RZ * x + scale * y - _RX * z,
        _TZ - _RY * x + _RX * y + scale * z,
    )


def _to_geodetic(x: float, y: float, z: float, ellipsoid: _Ellipsoid) -> LatLon:
    """Earth-centred cartesian metres to geodetic degrees by iteration (OS guide, B.2)."""
    e2 = ellipsoid.e2
    p = math.hypot(x, y)
    lat = math.atan2(z, p * (1.0 - e2))
    for _ in range(_MAX_ITERATIONS):
        sin_lat = math.sin(lat)
        nu = ellipsoid.a / math.sqrt(1.0 - e2 * sin_lat * sin_lat)
        next_lat = math.atan2(z + e2 * nu * sin_lat, p)
        if abs(next_lat - lat) < _LATITUDE_TOLERANCE_RAD:
            return LatLon(math.degrees(next_lat), math.degrees(math.atan2(y, x)))
        lat = next_lat
    raise ArithmeticError("cartesian to geodetic conversion did not converge")
