"""A page of a list: its items, and the cursor that continues after them (None: the last page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class Page(Generic[T_co]):
    items: Sequence[T_co]
    next_cursor: str | None
