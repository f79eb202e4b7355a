"""Address normalisation: what makes two free-text addresses "the same"."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_PUNCTUATION = re.compile(r"[\s,;.]+")


# The same address is normalised by validation, by the batch, by the customer
# and by the read models; a batch often repeats one address many times.
@lru_cache(maxsize=16384)
def normalise_address(address: str) -> str:
    """Case, accents-as-typed, punctuation and spacing do not make a new address.

    ``"10 High Street, London SW1A 1AA"`` and ``"10 high street london  sw1a 1aa."``
    normalise alike, so a WMS that formats addresses inconsistently still reuses
    one customer.
    """
    folded = unicodedata.normalize("NFKC", address).casefold()
    return _PUNCTUATION.sub(" ", folded).strip()
