"""The stored topics of event classes: what a projection subscribes to."""

from __future__ import annotations

from eventsourcing.utils import get_topic


def topics_of(*classes: type) -> frozenset[str]:
    """Each class's registered topic (its ``TOPIC`` where the class names one)."""
    return frozenset(get_topic(c) for c in classes)


def event_topics(aggregate: type, *names: str) -> frozenset[str]:
    """The topics of ``aggregate``'s events called ``names``: also those that ``@event``
    declares on its methods, which exist only once the class is built (so mypy cannot see them)."""
    return topics_of(*(getattr(aggregate, name) for name in names))
