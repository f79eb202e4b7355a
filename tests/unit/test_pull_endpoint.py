"""The PullEndpoint aggregate alone: its target, its schedule and its record of attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.errors import InvalidValueError, PullEndpointRemovedError, StalePullError
from domain.pull_endpoint import PullEndpoint, PullTarget, SyncAttempt, next_sync_after
from domain.source import Source

TENANT = UUID("0b6a3f2e-1c1d-4f7e-9b0a-6d1f0a2b3c4d")
ADMIN = Source(channel="api", api_key_id="key-1")
T0 = datetime(2025, 2, 22, 6, 0, tzinfo=UTC)


def added(interval: int | None = 10) -> PullEndpoint:
    endpoint = PullEndpoint.add(
        TENANT, PullTarget("https://wms.example/orders", "GET"), interval, "sealed-1", T0, ADMIN
    )
    endpoint.collect_events()
    return endpoint


def attempt(at: datetime, ok: bool = True) -> SyncAttempt:
    if ok:
        return SyncAttempt(uuid4(), "schedule", at, at + timedelta(seconds=2), ok=True, processed=3)
    return SyncAttempt(
        uuid4(), "schedule", at, at + timedelta(seconds=2), ok=False, reason="timeout", error="no answer"
    )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://wms.example/orders",
        "wms.example/orders",
        "http:///orders",
        "https://user:secret@wms.example/orders",
        "http://wms.example/or ders",
        "http://wms.example:99999/orders",
        "",
    ],
)
def test_a_target_is_an_http_or_https_url_with_a_host_and_no_credentials(url: str) -> None:
    with pytest.raises(InvalidValueError):
        PullTarget(url, "GET")


def test_a_target_is_pulled_with_get_or_post_only() -> None:
    assert PullTarget("http://wms.example/orders", "POST").method == "POST"
    with pytest.raises(InvalidValueError):
        PullTarget("http://wms.example/orders", "PUT")


@pytest.mark.parametrize("interval", [0, -5, 7 * 24 * 60 + 1, True])
def test_an_interval_is_whole_minutes_from_one_minute_to_a_week(interval: int) -> None:
    with pytest.raises(InvalidValueError):
        PullEndpoint.add(TENANT, PullTarget("http://wms.example", "GET"), interval, "sealed", T0, ADMIN)


def test_a_scheduled_endpoint_is_first_due_one_interval_after_it_was_added() -> None:
    endpoint = added(10)

    assert endpoint.next_sync_at == T0 + timedelta(minutes=10)
    assert not endpoint.is_due(T0 + timedelta(minutes=9))
    assert endpoint.is_due(T0 + timedelta(minutes=10))
    assert added(None).next_sync_at is None and not added(None).is_due(T0 + timedelta(days=365))


def test_failures_double_the_wait_up_to_an_hour_and_a_success_resets_it() -> None:
    assert next_sync_after(1, T0, 0) == T0 + timedelta(minutes=1)
    assert [next_sync_after(1, T0, n) for n in (1, 2, 3, 6, 7, 50)] == [
        T0 + timedelta(minutes=m) for m in (2, 4, 8, 60, 60, 60)
    ]
    # A long interval is never shortened by the cap.
    assert next_sync_after(180, T0, 3) == T0 + timedelta(minutes=180)
    assert next_sync_after(None, T0, 0) is None


def test_recorded_attempts_move_the_schedule_and_the_incremental_start() -> None:
    endpoint = added(10)
    t1 = T0 + timedelta(minutes=10)

    endpoint.record_sync(attempt(t1, ok=False), ADMIN)
    assert endpoint.failures_in_a_row == 1
    assert endpoint.next_sync_at == t1 + timedelta(seconds=2, minutes=20)
    assert endpoint.last_success_started_at is None

    t2 = t1 + timedelta(minutes=20)
    endpoint.record_sync(attempt(t2), ADMIN)
    assert endpoint.failures_in_a_row == 0
    assert endpoint.next_sync_at == t2 + timedelta(seconds=2, minutes=10)
    assert endpoint.last_success_started_at == t2
    assert [type(e).__name__ for e in endpoint.collect_events()] == ["SyncAttempted", "SyncAttempted"]


def test_an_attempt_says_how_it_went() -> None:
    with pytest.raises(InvalidValueError):
        SyncAttempt(uuid4(), "schedule", T0, T0, ok=False)
    with pytest.raises(InvalidValueError):
        SyncAttempt(uuid4(), "schedule", T0, T0, ok=True)
    with pytest.raises(InvalidValueError):
        SyncAttempt(uuid4(), "cron", T0, T0, ok=True, processed=0)
    with pytest.raises(InvalidValueError):
        SyncAttempt(uuid4(), "manual", T0, T0 - timedelta(seconds=1), ok=True, processed=0)


def test_a_new_target_forgets_progress_and_failures_and_the_same_target_records_nothing() -> None:
    endpoint = added(10)
    endpoint.record_sync(attempt(T0), ADMIN)
    endpoint.record_sync(attempt(T0 + timedelta(minutes=10), ok=False), ADMIN)
    endpoint.collect_events()

    assert endpoint.retarget(PullTarget("https://wms.example/orders", "GET"), ADMIN) is False
    assert endpoint.retarget(PullTarget("https://other.example/export", "POST"), ADMIN) is True

    assert (endpoint.url, endpoint.method) == ("https://other.example/export", "POST")
    assert endpoint.last_success_started_at is None and endpoint.failures_in_a_row == 0
    assert len(endpoint.collect_events()) == 1


def test_changing_the_interval_counts_from_the_last_attempt_or_from_the_change() -> None:
    never_synced = added(None)
    assert never_synced.change_interval(15, T0 + timedelta(hours=1), ADMIN) is True
    assert never_synced.next_sync_at == T0 + timedelta(hours=1, minutes=15)

    synced = added(60)
    synced.record_sync(attempt(T0), ADMIN)
    synced.change_interval(5, T0 + timedelta(minutes=30), ADMIN)
    assert synced.next_sync_at == T0 + timedelta(minutes=5, seconds=2)  # already due
    assert synced.change_interval(5, T0, ADMIN) is False
    synced.change_interval(None, T0, ADMIN)
    assert synced.next_sync_at is None


def test_a_removed_endpoint_is_never_due_and_accepts_no_more_changes() -> None:
    endpoint = added(1)
    endpoint.remove(T0, ADMIN)

    assert not endpoint.is_due(T0 + timedelta(days=1))
    for change in (
        lambda: endpoint.remove(T0, ADMIN),
        lambda: endpoint.regenerate_secret("sealed-2", ADMIN),
        lambda: endpoint.change_interval(5, T0, ADMIN),
        lambda: endpoint.record_sync(attempt(T0), ADMIN),
    ):
        with pytest.raises(PullEndpointRemovedError):
            change()


def test_the_aggregate_holds_only_the_sealed_secret() -> None:
    endpoint = added()
    endpoint.regenerate_secret("sealed-2", ADMIN)

    assert endpoint.sealed_secret == "sealed-2"
    with pytest.raises(InvalidValueError):
        endpoint.regenerate_secret("", ADMIN)


# ---------------------------------------------------------------- cursor, stale batches, Retry-After


def replayed(endpoint: PullEndpoint) -> PullEndpoint:
    """The endpoint as the event store rebuilds it from its events."""
    events = endpoint.collect_events()
    copy: PullEndpoint | None = None
    for event in events:
        copy = event.mutate(copy)
    assert copy is not None
    return copy


def manual_success(started: datetime, target_generation: int) -> SyncAttempt:
    """A successful manual sync that started at ``started`` against that generation of the target."""
    return SyncAttempt(
        uuid4(),
        "manual",
        started,
        started + timedelta(minutes=1),
        ok=True,
        processed=1,
        target_generation=target_generation,
    )


def test_a_sync_that_started_before_a_url_change_never_writes_the_cursor() -> None:
    endpoint = PullEndpoint.add(TENANT, PullTarget("https://wms.example/orders", "GET"), 10, "s", T0, ADMIN)
    endpoint.record_sync(attempt(T0), ADMIN)
    generation = endpoint.target_generation
    endpoint.retarget(PullTarget("https://other.example/orders", "GET"), ADMIN)
    assert endpoint.last_success_started_at is None
    endpoint.record_sync(manual_success(T0 + timedelta(minutes=1), generation), ADMIN)

    assert endpoint.last_success_started_at is None
    assert replayed(endpoint).last_success_started_at is None
    endpoint.record_sync(manual_success(T0 + timedelta(minutes=3), endpoint.target_generation), ADMIN)
    assert endpoint.last_success_started_at == T0 + timedelta(minutes=3)


def test_an_older_success_recorded_after_a_newer_one_does_not_move_the_cursor_back() -> None:
    endpoint = added()
    endpoint.record_sync(attempt(T0 + timedelta(minutes=5)), ADMIN)
    endpoint.record_sync(attempt(T0), ADMIN)

    assert endpoint.last_success_started_at == T0 + timedelta(minutes=5)


def test_a_batch_pulled_by_a_sync_that_started_earlier_than_a_stored_one_is_refused() -> None:
    endpoint = PullEndpoint.add(TENANT, PullTarget("https://wms.example/orders", "GET"), 10, "s", T0, ADMIN)
    endpoint.store_pulled_batch(T0 + timedelta(seconds=1), "d-2")
    with pytest.raises(StalePullError):
        endpoint.store_pulled_batch(T0, "d-1")
    endpoint.store_pulled_batch(T0 + timedelta(seconds=1), "d-3")  # the same start is no older
    assert replayed(endpoint).newest_stored_sync_start == T0 + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (timedelta(minutes=30), timedelta(minutes=30)),
        (timedelta(hours=1), timedelta(hours=1)),
        (timedelta(days=1), timedelta(hours=1)),
        (timedelta(seconds=5), timedelta(minutes=20)),
    ],
)
def test_a_failure_with_retry_after_waits_that_long_but_no_longer_than_the_backoff_ceiling(
    retry_after: timedelta, expected: timedelta
) -> None:
    endpoint = added(interval=10)
    finished = T0 + timedelta(seconds=2)
    failed = SyncAttempt(
        uuid4(),
        "schedule",
        T0,
        finished,
        ok=False,
        reason="http_status",
        error="429",
        not_before=finished + retry_after,
    )

    endpoint.record_sync(failed, ADMIN)

    assert endpoint.next_sync_at == finished + expected
