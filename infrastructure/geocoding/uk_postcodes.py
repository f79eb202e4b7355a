"""Find and normalise UK postcodes in free-text addresses.

Policies:

* A full (unit) postcode is an outward code (``A9``, ``A99``, ``A9A``, ``AA9``,
  ``AA99``, ``AA9A``) followed by an inward code (a digit and two letters), in
  any letter case, with any run of spaces or tabs between the halves or none
  at all ("sw1a1aa", "SW1A  1AA"). It may sit anywhere in the text but must
  not be glued to other letters or digits. A line break never joins the two
  halves, so separate address lines cannot fuse into one postcode.
* When an address holds several postcodes the LAST one wins: addresses are
  written general-to-specific towards the end, and earlier matches are more
  often reference numbers or a previous address.
* Inward-code letters follow Royal Mail's rule (never C, I, K, M, O or V), which
  removes many false matches in free text and loses no real postcode.
* An outward code on its own ("London SW1A") is only believed at the very end
  of the address, optionally followed by a UK country name, and not right after
  a premises or road word ("Unit B2", "off the M25"); elsewhere a bare "B2" or
  "M1" is far more likely a flat number or a motorway than a district.
* The non-geographic Girobank code GIR 0AA is not recognised.
* Normalised form is upper case "OUTWARD INWARD" with one space, e.g. "SW1A 1AA".
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["extract_outcode", "extract_postcode", "normalise_postcode", "postcode_area", "postcode_sector"]

_OUTWARD: Final = r"[A-Z]{1,2}[0-9][A-Z0-9]?"
_INWARD: Final = r"[0-9][ABD-HJLNP-UW-Z]{2}"
# re.ASCII keeps IGNORECASE from matching look-alikes such as the Kelvin sign.
_FLAGS: Final = re.ASCII | re.IGNORECASE

_FULL_POSTCODE: Final = re.compile(
    rf"(?<![A-Z0-9])(?P<outward>{_OUTWARD})[ \t]*(?P<inward>{_INWARD})(?![A-Z0-9])", _FLAGS
)
_WHOLE_POSTCODE: Final = re.compile(rf"(?P<outward>{_OUTWARD})\s*(?P<inward>{_INWARD})", _FLAGS)

_TRAILING_COUNTRY: Final = (
    r"(?:U\.?K\.?|G\.?B\.?|United[ \t]+Kingdom|Great[ \t]+Britain|Britain"
    r"|England|Scotland|Wales)"
)
_OUTCODE_AT_END: Final = re.compile(
    rf"(?<![A-Z0-9])(?P<outward>{_OUTWARD})"
    rf"(?:[\s,.;]+{_TRAILING_COUNTRY})?[\s,.;]*\Z",
    _FLAGS,
)
_PREMISES_OR_ROAD_WORD: Final = re.compile(
    r"\b(?:flat|unit|apt|apartment|suite|room|block|floor|level|plot|building|bldg"
    r"|house|no|number|box|bay|dock|gate|stand|the|off|near|via|junction|jct)"
    r"[ \t.#:]*\Z",
    _FLAGS,
)
_AREA: Final = re.compile(r"[A-Z]{1,2}", _FLAGS)


def extract_postcode(address: str) -> str | None:
    """Return the last full UK postcode in ``address``, normalised, or None."""
    matches = list(_FULL_POSTCODE.finditer(address))
    return _join(matches[-1]) if matches else None


def extract_outcode(address: str) -> str | None:
    """Return the outward code (district) that ends ``address`` on its own, or None.

    Meant as the fallback when :func:`extract_postcode` finds nothing, e.g.
    "London SW1A" or "Manchester M1, UK" give "SW1A" and "M1".
    """
    match = _OUTCODE_AT_END.search(address)
    if match is None:
        return None
    if _PREMISES_OR_ROAD_WORD.search(address, 0, match.start()):
        return None
    return match.group("outward").upper()


def normalise_postcode(text: str) -> str | None:
    """Normalise a string that is exactly one full postcode (surrounding spaces allowed)."""
    match = _WHOLE_POSTCODE.fullmatch(text.strip())
    return None if match is None else _join(match)


def postcode_area(postcode_or_outcode: str) -> str:
    """The postcode area: the leading letters, e.g. "SW" for "SW1A 1AA", "B" for "B1"."""
    match = _AREA.match(postcode_or_outcode.strip())
    if match is None:
        raise ValueError(f"{postcode_or_outcode!r} does not start with a postcode area")
    return match.group(0).upper()


def postcode_sector(postcode: str) -> str:
    """The postcode sector of a normalised postcode: "SW1A 1AA" -> "SW1A 1"."""
    return postcode[:-2]


def _join(match: re.Match[str]) -> str:
    return f"{match.group('outward').upper()} {match.group('inward').upper()}"
