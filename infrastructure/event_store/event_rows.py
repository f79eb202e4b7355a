"""Storing domain events and event rows (``application.order_rows.EventRow``) together.

A batch hands the store its customers' and delivery's domain events and its
orders' events as rows whose state is a plain dict. Both become the same
``StoredEvent``: an event through the library's mapper, a row through the
same transcoder (and compressor and cipher, if any) the mapper uses, so the
bytes are the ones the mapper would have written for the event object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, Recording, StoredEvent

from application.order_rows import EventRow

T = TypeVar("T")


def stored_events_of(mapper: Mapper[UUID], events: Iterable[Any]) -> list[StoredEvent]:
    encode = _encoder(mapper)
    to_stored = mapper.to_stored_event
    return [
        _frozen(
            StoredEvent,
            {
                "originator_id": event.originator_id,
                "originator_version": event.originator_version,
                "topic": event.topic,
                "state": encode(event.state),
            },
        )
        if type(event) is EventRow
        else to_stored(event)
        for event in events
    ]


def put_events(mapper: Mapper[UUID], recorder: Any, events: Iterable[Any], **kwargs: Any) -> list[Recording[UUID]]:
    """``EventStore.put`` for domain events and event rows, mixed."""
    events = list(events)
    stored = stored_events_of(mapper, events)
    notification_ids = recorder.insert_events(stored, **kwargs) or []
    return [
        _frozen(
            Recording,
            {
                "domain_event": event,
                "notification": _frozen(
                    Notification,
                    {
                        "originator_id": row.originator_id,
                        "originator_version": row.originator_version,
                        "topic": row.topic,
                        "state": row.state,
                        "id": notification_id,
                    },
                ),
            },
        )
        for event, row, notification_id in zip(events, stored, notification_ids, strict=True)
    ]


def _frozen(cls: type[T], attributes: dict[str, Any]) -> T:
    # The library's records are frozen dataclasses, whose generated __init__
    # sets each field through object.__setattr__: for the three records of
    # each of a batch's thousands of events that cost more than encoding the
    # event. Filling the new instance's dict once gives the same object.
    instance = object.__new__(cls)
    vars(instance).update(attributes)
    return instance


def _encoder(mapper: Mapper[UUID]) -> Callable[[dict[str, Any]], bytes]:
    # The mapper's own steps after it has the event's state as a dict. A row's
    # state holds no UUID: a transcoder that can skip looking for them may.
    encode: Callable[[dict[str, Any]], bytes] = getattr(
        mapper.transcoder, "encode_without_uuids", mapper.transcoder.encode
    )
    if mapper.compressor is None and mapper.cipher is None:
        return encode
    compress = mapper.compressor.compress if mapper.compressor else (lambda data: data)
    encrypt = mapper.cipher.encrypt if mapper.cipher else (lambda data: data)
    return lambda state: encrypt(compress(encode(state)))
