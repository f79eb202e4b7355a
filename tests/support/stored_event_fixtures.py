"""The frozen stored-event fixtures (``tests/fixtures/events-vN.json``): one per
release that added event types, each loaded into a store as it was stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

from interfaces.container import Container

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture_files() -> list[Path]:
    """Every frozen fixture, one per release that added event types (``events-vN.json``)."""
    return sorted(FIXTURES.glob("events-v*.json"))


def fixture_events(path: Path) -> list[dict[str, Any]]:
    document = orjson.loads(path.read_bytes())
    # The file's name says which version stored it: a copy left unrenamed is caught here.
    assert document["version"] == int(path.stem.removeprefix("events-v"))
    return list(document["events"])


def load_fixture(container: Container, path: Path) -> list[dict[str, Any]]:
    """Insert the fixture's events as they were stored, and let the read models follow."""
    events = fixture_events(path)
    container.use_cases.recorder.insert_events(
        [
            StoredEvent(
                originator_id=UUID(e["originatorId"]),
                originator_version=e["originatorVersion"],
                topic=e["topic"],
                state=orjson.dumps(e["state"]),
            )
            for e in events
        ]
    )
    container.catch_up()
    return events
