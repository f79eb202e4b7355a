"""The change feed: a tenant's order changes in commit order, from the event store.

The cursor is the event store's notification id of the last change returned
(or passed over): no timestamp, so no two changes share it and a consumer
resumes exactly where it stopped, across restarts of either side.

Why reading up to the store's maximum id leaves no gap: on PostgreSQL every
insert takes the events table's lock until it commits, so ids are assigned in
commit order and no id below the current maximum can still appear; on SQLite a
write transaction holds the database's write lock from its first insert to its
commit, with the same effect. Ids burned by rolled-back transactions are simply
never seen. Each change carries the order's whole state at that version,
computed from the order's events (never from a read model, which may lag).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.commands import Principal
from application.errors import ForbiddenError
from application.event_topics import event_topics
from application.history import HistoryEntry, history_entry
from application.intake_app import IntakeApplication
from domain.order import FieldValue, Order
from domain.roles import Permission

ORDER_TOPICS = tuple(sorted(event_topics(Order, "Created", "Updated")))
#: At most this many scans of other tenants' changes in one call before answering empty.
MAX_SCANS = 8


@dataclass(frozen=True)
class OrderChange:
    """One change of one order, with the order's whole state after it."""

    position: int
    order_id: str
    external_order_id: str
    #: The change as the order's history shows it: kind, version, time, the fields it set.
    event: HistoryEntry
    #: Every field of the order after this change, by field name.
    state: dict[str, FieldValue]
    created_at: datetime


@dataclass(frozen=True)
class ChangesPage:
    changes: list[OrderChange]
    next_cursor: int
    #: Whether the page reached the newest change in the store (nothing more to read now).
    at_end: bool


class OrderChanges:
    def __init__(self, app: IntakeApplication) -> None:
        self.app = app

    def page(self, principal: Principal, after: int, limit: int) -> ChangesPage:
        """Up to ``limit`` changes of the principal's tenant after position ``after``."""
        if not principal.allows(Permission.READ_ORDERS):
            raise ForbiddenError()
        tenant = str(principal.tenant_id)
        recorder = self.app.recorder
        latest = recorder.max_notification_id() or 0
        position = after
        for _ in range(MAX_SCANS):
            if position >= latest:
                break
            notifications = recorder.select_notifications(
                start=position, limit=limit, stop=latest, topics=ORDER_TOPICS, inclusive_of_start=False
            )
            # Fewer than asked: everything up to ``latest`` has been read.
            scanned_to = notifications[-1].id if len(notifications) == limit else latest
            changes = self._changes_of(tenant, notifications)
            position = scanned_to
            if changes:
                return ChangesPage(changes, position, position >= latest)
        return ChangesPage([], position, position >= latest)

    def _changes_of(self, tenant: str, notifications: Sequence[Any]) -> list[OrderChange]:
        to_event = self.app.mapper.to_domain_event
        events = [(n.id, to_event(n)) for n in notifications]
        # Updates don't name their tenant: the order's first event does.
        histories = self._histories(
            {e.originator_id for _, e in events if not isinstance(e, Order.Created) or e.tenant_id == tenant}
        )
        changes = []
        for position, event in events:
            history = histories.get(event.originator_id)
            if not history or history[0].tenant_id != tenant:
                continue
            changes.append(_change(position, event, history))
        return changes

    def _histories(self, order_ids: Iterable[UUID]) -> dict[UUID, list[Any]]:
        to_event = self.app.mapper.to_domain_event
        stored = self.app.bulk_reader.select_events_of(order_ids)
        return {oid: [to_event(s) for s in events] for oid, events in stored.items()}


def _change(position: int, event: Any, history: list[Any]) -> OrderChange:
    created = history[0]
    details = dict(created.details)
    for earlier in history[1 : event.originator_version]:
        details.update(earlier.changes)
    return OrderChange(
        position=position,
        order_id=str(event.originator_id),
        external_order_id=created.external_order_id,
        event=history_entry(event),
        state=details,
        created_at=created.timestamp,
    )
