"""Address normalisation: what makes two free-text addresses "the same"."""

from __future__ import annotations

import re
import unicodedata

_PUNCTUATION = re.compile(r"[\s,;.]+")


def normalise_address(address: str) -> str:
    """Case, accents-as-typed, punctuation and spacing do not make a new address.

    ``"10 High Street, London SW1A 1AA"`` and ``"10 high street london  sw1a 1aa."``
    normalise alike, so a WMS that formats addresses inconsistently still reuses
    one customer.
    """
    folded = unicodedata.normalize("NFKC", address).casefold()
    return _PUNCTUATION.sub(" ", folded).strip()
