"""What holds for every frozen stored-event fixture (``tests/fixtures/events-vN.json``):
together they hold an example of every event type, and each rebuilds into the
read models it was followed into."""

from __future__ import annotations

from pathlib import Path

import pytest

from interfaces.container import Container
from tests.support.stored_event_fixtures import fixture_events, fixture_files, load_fixture
from tests.unit.test_event_topics import EVENTS

#: Declared only so the library's default creation class has a topic of its own; never stored.
NEVER_STORED = {"wms-intake:DeliveryCreated", "wms-intake:PullEndpointCreated"}


def test_the_fixtures_hold_every_event_type_the_domain_stores() -> None:
    # Each type needs an example in one fixture: the version that introduced it.
    stored = {e["topic"] for path in fixture_files() for e in fixture_events(path)}
    declared = {getattr(cls, "TOPIC", None) for cls in EVENTS} - {None} - NEVER_STORED
    declared = {t for t in declared if not t.endswith(".Event")}
    missing = declared - stored
    assert not missing, f"event types with no stored example: {sorted(missing)}; add them to a new fixture file"


@pytest.mark.parametrize("path", fixture_files(), ids=lambda path: path.stem)
@pytest.mark.parametrize("name", ["orders", "integrations", "deliveries", "pull_endpoints"])
def test_a_rebuild_of_a_fixture_gives_the_same_read_model(container: Container, path: Path, name: str) -> None:
    load_fixture(container, path)
    before = container.views[name].dump()
    container.rebuild(name)
    assert container.views[name].dump() == before
