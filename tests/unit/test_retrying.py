"""The retry helper: conflicts retried on fresh state, other errors at once, a clear give-up."""

from __future__ import annotations

import threading

import pytest
from eventsourcing.persistence import IntegrityError

from application.retrying import backoff, retry_on_conflict


class GaveUpError(Exception):
    pass


def test_a_conflict_is_retried_with_the_attempt_number_until_it_succeeds() -> None:
    seen: list[int] = []

    def attempt(n: int) -> str:
        seen.append(n)
        if n < 3:
            raise IntegrityError("another writer saved first")
        return "stored"

    assert retry_on_conflict(attempt, attempts=8, exhausted=GaveUpError, first_wait=0.0001) == "stored"
    assert seen == [0, 1, 2, 3]


def test_after_the_last_conflict_it_gives_up_with_the_callers_error() -> None:
    seen: list[int] = []

    def attempt(n: int) -> None:
        seen.append(n)
        raise IntegrityError("lost again")

    with pytest.raises(GaveUpError) as caught:
        retry_on_conflict(attempt, attempts=4, exhausted=GaveUpError, first_wait=0.0001)
    assert seen == [0, 1, 2, 3]
    assert isinstance(caught.value.__cause__, IntegrityError)


def test_an_error_that_is_no_conflict_passes_through_at_once() -> None:
    seen: list[int] = []

    def attempt(n: int) -> None:
        seen.append(n)
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        retry_on_conflict(attempt, attempts=8, exhausted=GaveUpError)
    assert seen == [0]


def test_writers_that_collide_on_one_counter_all_land_by_retrying() -> None:
    """Real threads racing a compare-and-set: every increment lands, none is lost."""
    lock = threading.Lock()
    state = {"value": 0, "version": 0}
    start = threading.Barrier(8)

    def increment(_: int) -> None:
        with lock:
            version, value = state["version"], state["value"]
        start_race.wait()
        with lock:
            if state["version"] != version:
                raise IntegrityError("moved on")
            state.update(value=value + 1, version=version + 1)

    start_race = threading.Event()

    def writer() -> None:
        start.wait()
        retry_on_conflict(increment, attempts=50, exhausted=GaveUpError, first_wait=0.0001, longest_wait=0.002)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    start_race.set()
    for thread in threads:
        thread.join(10)
    assert state == {"value": 8, "version": 8}


def test_backoff_doubles_from_the_first_wait_up_to_the_longest() -> None:
    seconds = backoff(0.2, 1.0)
    assert [seconds(n) for n in range(1, 6)] == [0.2, 0.4, 0.8, 1.0, 1.0]
