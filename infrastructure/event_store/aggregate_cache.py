"""Aggregates as this process last saw them stored, so a batch reads only what is newer.

A stored event never changes, so an aggregate's state at version v stays
true for ever. A batch that finds an order here asks the store only for the
order's events after v (usually none) instead of all of them, and skips
decoding and replaying those: for a batch of updates that was most of its
cost. The store is still asked every time, in the same single query, so a
change made by another process is never missed; and only states read from
the store, or committed to it, are kept here.

Only aggregates whose attributes are plain values (or dicts of them, copied
here) are kept: orders, customers and the webhook. A tenant holds mutable
key records and is always read whole.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.customer import Customer
from domain.order import Order
from domain.webhook import WmsWebhook

CACHED_TYPES = (Order, Customer, WmsWebhook)


class AggregateCache:
    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._items: OrderedDict[UUID, tuple[type[Aggregate], int, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def versions(self, ids: Iterable[UUID]) -> dict[UUID, int]:
        """The version kept of each of ``ids`` that is here."""
        items = self._items
        with self._lock:
            return {oid: items[oid][1] for oid in ids if oid in items}

    def restore_many(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        """A private copy of each of ``ids`` kept here, as kept."""
        with self._lock:
            entries = {oid: self._items[oid] for oid in ids if oid in self._items}
            for oid in entries:
                self._items.move_to_end(oid)
        restored: dict[UUID, Aggregate] = {}
        for oid, (kind, _, state) in entries.items():
            aggregate = kind.__new__(kind)
            aggregate.__dict__.update(_copied(state))
            aggregate.__dict__["_pending_events"] = []
            restored[oid] = aggregate
        return restored

    def keep(self, aggregates: Iterable[Any]) -> None:
        """Remember these stored states (aggregates with no pending events);
        one already kept at the same version or a newer one is left as it is."""
        if self.max_items <= 0:
            return
        with self._lock:
            items = self._items
            for aggregate in aggregates:
                if not isinstance(aggregate, CACHED_TYPES):
                    continue
                state = aggregate.__dict__
                version = state["_version"]
                known = items.get(state["_id"])
                if (known is not None and known[1] >= version) or state.get("_pending_events"):
                    continue
                items[state["_id"]] = (type(aggregate), version, _copied(state))
                items.move_to_end(state["_id"])
            while len(items) > self.max_items:
                items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _copied(state: dict[str, Any]) -> dict[str, Any]:
    # Dict attributes (an order's details) are changed in place by new
    # events: each copy gets its own. Every other attribute is replaced, never changed.
    return {k: dict(v) if type(v) is dict else v for k, v in state.items() if k != "_pending_events"}
