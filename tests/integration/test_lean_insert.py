"""The PostgreSQL event insert (one query when small, COPY when large) keeps the library's guarantees.

Notification ids returned are the ids the rows got, in input order; a
follower reading notifications after concurrent writers of every size skips
nothing and reads ids in commit order; a conflict stores nothing and leaves
the table lock free; a version claim still fails a moved aggregate.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from application.ports import EXPECTED_VERSIONS
from infrastructure.event_store.lean_insert import COPY_FROM, LeanInsertPostgresRecorder
from interfaces.container import Container, build_container
from tests.support.settings import POSTGRES_ON, POSTGRES_URL, make_settings, postgres_url

pytestmark = pytest.mark.skipif(not POSTGRES_ON, reason="PostgreSQL tests are off")


@pytest.fixture
def pg_container(postgres_schema: str) -> Iterator[Container]:
    built = build_container(make_settings(postgres_url(postgres_schema)))
    yield built
    built.close()


def rows(count: int, version: int = 1) -> list[StoredEvent]:
    return [StoredEvent(uuid4(), version, "test:Thing", b'{"n":%d}' % n) for n in range(count)]


def stored_ids(schema: str, events: list[StoredEvent]) -> list[int]:
    with psycopg.connect(POSTGRES_URL) as conn:
        found = dict(
            conn.execute(
                f'SELECT originator_id, notification_id FROM "{schema}".wmsintake_events WHERE originator_id = ANY(%s)',
                [[e.originator_id for e in events]],
            ).fetchall()
        )
    return [found[e.originator_id] for e in events]


def test_the_service_stores_events_through_the_lean_insert(pg_container: Container) -> None:
    assert isinstance(pg_container.use_cases.recorder, LeanInsertPostgresRecorder)


@pytest.mark.parametrize("count", [1, 3, COPY_FROM - 1, COPY_FROM, 700])
def test_returned_ids_are_the_ids_the_rows_got_in_input_order(
    pg_container: Container, postgres_schema: str, count: int
) -> None:
    recorder = pg_container.use_cases.recorder
    recorder.insert_events(rows(2))
    events = rows(count)
    ids = recorder.insert_events(events)
    assert list(ids) == stored_ids(postgres_schema, events)
    assert list(ids) == sorted(ids) and len(set(ids)) == count


def test_a_follower_skips_nothing_behind_concurrent_writers_of_every_size(
    pg_container: Container, postgres_schema: str
) -> None:
    recorder = pg_container.use_cases.recorder
    returned: list[tuple[list[StoredEvent], list[int]]] = []
    lock = threading.Lock()

    def write(sizes: list[int]) -> None:
        for size in sizes:
            events = rows(size)
            ids = list(recorder.insert_events(events))
            with lock:
                returned.append((events, ids))

    seen: list[int] = []
    stop = threading.Event()

    def follow() -> None:
        # A follower that remembers only the last id it saw.
        last = 0
        while True:
            done = stop.is_set()
            for notification in recorder.select_notifications(start=last, limit=10_000, inclusive_of_start=False):
                seen.append(notification.id)
                last = notification.id
            if done:
                return

    follower = threading.Thread(target=follow)
    follower.start()
    writers = [threading.Thread(target=write, args=([1, 70, 5, 300, 2, COPY_FROM],)) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    stop.set()
    follower.join()
    every_id = sorted(i for _, ids in returned for i in ids)
    assert seen == every_id
    for events, ids in returned:
        assert ids == stored_ids(postgres_schema, events)
        if len(events) >= COPY_FROM:
            assert ids == list(range(ids[0], ids[0] + len(ids)))


@pytest.mark.parametrize("count", [2, COPY_FROM + 10])
def test_a_conflict_stores_nothing_and_frees_the_lock(
    pg_container: Container, postgres_schema: str, count: int
) -> None:
    recorder = pg_container.use_cases.recorder
    existing = rows(1)
    recorder.insert_events(existing)
    clashing = rows(count - 1) + existing
    with pytest.raises(IntegrityError):
        recorder.insert_events(clashing)
    with psycopg.connect(POSTGRES_URL) as conn:
        stored = conn.execute(
            f'SELECT count(*) FROM "{postgres_schema}".wmsintake_events WHERE originator_id = ANY(%s)',
            [[e.originator_id for e in clashing[:-1]]],
        ).fetchone()
    assert stored == (0,)
    after = rows(count)
    assert list(recorder.insert_events(after)) == stored_ids(postgres_schema, after)


def test_a_claim_on_an_aggregate_that_moved_fails_the_insert(pg_container: Container) -> None:
    recorder = pg_container.use_cases.recorder
    read: UUID = uuid4()
    recorder.insert_events([StoredEvent(read, 1, "test:Thing", b"{}"), StoredEvent(read, 2, "test:Thing", b"{}")])
    with pytest.raises(IntegrityError):
        recorder.insert_events(rows(COPY_FROM + 1), **{EXPECTED_VERSIONS: {read: 1}})
    assert recorder.insert_events(rows(3), **{EXPECTED_VERSIONS: {read: 2}})
