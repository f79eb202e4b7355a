"""Positions: where the event store is, and where a read model is (both notification ids)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol
from uuid import UUID


class EventPositions(Protocol):
    """Where the event store is: its notification ids (positions)."""

    def latest(self) -> int:
        """The highest notification id stored (0: none)."""

    def latest_of(self, aggregate_ids: Iterable[UUID]) -> int | None:
        """The highest notification id of these aggregates' events (None: they have none)."""


class ViewPosition(Protocol):
    def position(self) -> int:
        """The notification id of the last event the read model applied."""
