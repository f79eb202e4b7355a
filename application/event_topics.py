"""The stored topics of event classes: what a projection subscribes to."""

from __future__ import annotations

from eventsourcing.utils import get_topic


def topics_of(*classes: type) -> frozenset[str]:
    """Each class's registered topic (its ``TOPIC`` where the class names one)."""
    return frozenset(get_topic(c) for c in classes)
