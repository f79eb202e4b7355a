"""The background loop: passes on a real thread, wake-ups, supervision, lease, stop.

Every wait here is on an event the loop sets; nothing sleeps and then assumes.
"""

from __future__ import annotations

import asyncio
import threading

from application.background import BackgroundLoop

LONG = 60.0  # a rest no test waits out: anything faster is a wake-up
DEADLINE = 10.0  # generous: a loaded machine is slow, never this slow


class Lease:
    """A lease held while ``free`` is set; counts releases."""

    name = "test"

    def __init__(self) -> None:
        self.free = threading.Event()
        self.released = 0

    def acquire(self) -> bool:
        return self.free.is_set()

    def release(self) -> None:
        self.released += 1


def test_a_pass_runs_again_after_its_rest_or_when_woken() -> None:
    passes: list[int] = []
    first, second = threading.Event(), threading.Event()

    def run() -> float:
        passes.append(len(passes))
        (second if first.is_set() else first).set()
        return LONG

    loop = BackgroundLoop("test-wake", run, first_backoff=0.01, longest_backoff=0.01)
    loop.start()
    try:
        assert first.wait(DEADLINE)
        loop.wake()
        assert second.wait(DEADLINE), "a wake-up did not end the rest"
    finally:
        loop.stop()
    assert not loop.running and passes == [0, 1]


def test_a_failing_pass_is_retried_with_growing_backoff_and_reported() -> None:
    errors: list[BaseException] = []
    recovered = threading.Event()

    def run() -> float:
        if len(errors) < 3:
            raise RuntimeError(f"failure {len(errors) + 1}")
        recovered.set()
        return LONG

    loop = BackgroundLoop("test-failing", run, first_backoff=0.001, longest_backoff=0.002, on_error=errors.append)
    loop.start()
    try:
        assert recovered.wait(DEADLINE), "the loop stayed dead after a failure"
    finally:
        loop.stop()
    assert [str(e) for e in errors] == ["failure 1", "failure 2", "failure 3"]
    assert loop.failures == 3
    assert [loop.backoff(n) for n in (1, 2, 3)] == [0.001, 0.002, 0.002]


def test_the_backoff_after_a_failure_is_not_cut_short_by_a_wake_up_but_by_stop() -> None:
    failed = threading.Event()
    calls: list[int] = []

    def run() -> float:
        calls.append(1)
        failed.set()
        raise RuntimeError("database away")

    loop = BackgroundLoop("test-backoff", run, first_backoff=LONG, longest_backoff=LONG)
    loop.start()
    assert failed.wait(DEADLINE)
    loop.wake()
    loop.wake(hurry=True)
    # The rest after the failure is LONG: only stop ends it, and promptly.
    loop.stop(timeout=DEADLINE)
    assert not loop.running
    assert calls == [1]


def test_without_the_lease_the_pass_waits_and_runs_once_the_lease_is_won() -> None:
    asked = threading.Event()
    ran = threading.Event()
    takeovers: list[bool] = []

    class CountingLease(Lease):
        def acquire(self) -> bool:
            asked.set()
            return super().acquire()

    lease = CountingLease()

    def take_over() -> bool:
        takeovers.append(True)
        return True

    def run() -> float:
        ran.set()
        return LONG

    loop = BackgroundLoop(
        "test-lease",
        run,
        first_backoff=0.01,
        longest_backoff=0.01,
        lease=lease,
        standby_seconds=0.01,
        on_takeover=take_over,
    )
    loop.start()
    try:
        assert asked.wait(DEADLINE)
        assert not ran.is_set() and not loop.holds_lease  # it asked and was refused: no pass
        lease.free.set()
        assert ran.wait(DEADLINE), "the lease was free but the pass never ran"
        assert loop.holds_lease and takeovers == [True]
    finally:
        loop.stop()
    assert lease.released == 1 and not loop.holds_lease


def test_a_takeover_that_declines_gives_the_lease_up_and_ends_the_loop() -> None:
    lease = Lease()
    lease.free.set()
    ran: list[int] = []
    loop = BackgroundLoop(
        "test-decline",
        lambda: ran.append(1) or LONG,
        first_backoff=0.01,
        longest_backoff=0.01,
        lease=lease,
        on_takeover=lambda: False,
    )
    loop.start()
    thread = loop._thread
    assert thread is not None
    thread.join(DEADLINE)
    assert not thread.is_alive(), "the loop kept running after declining the work"
    assert ran == [] and lease.released == 1 and not loop.holds_lease
    loop.stop()


def test_stop_lets_the_pass_finish_then_runs_on_exit_on_the_loop() -> None:
    inside = threading.Event()
    finish = threading.Event()
    exits: list[str] = []

    def run() -> float:
        inside.set()
        assert finish.wait(DEADLINE)
        return LONG

    async def on_exit() -> None:
        asyncio.get_running_loop()  # runs on the loop's own event loop
        exits.append(threading.current_thread().name)

    loop = BackgroundLoop("test-exit", run, first_backoff=0.01, longest_backoff=0.01, on_exit=on_exit)
    loop.start()
    assert inside.wait(DEADLINE)
    stopping = threading.Thread(target=loop.stop, kwargs={"timeout": DEADLINE})
    stopping.start()
    finish.set()
    stopping.join(DEADLINE)
    assert exits == ["test-exit"]


def test_stop_cancels_an_async_pass_in_flight_when_asked_to() -> None:
    inside = threading.Event()
    cancelled = threading.Event()
    exits: list[int] = []

    async def run() -> float:
        inside.set()
        try:
            await asyncio.Event().wait()  # never set: only a cancel ends it
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return LONG

    async def on_exit() -> None:
        exits.append(1)

    loop = BackgroundLoop(
        "test-cancel", run, first_backoff=0.01, longest_backoff=0.01, on_exit=on_exit, cancel_on_stop=True
    )
    loop.start()
    assert inside.wait(DEADLINE)
    loop.stop(timeout=DEADLINE)
    assert cancelled.is_set() and exits == [1] and not loop.running


def test_stop_waits_for_the_blocking_call_of_a_cancelled_pass() -> None:
    """Cancelling a pass does not stop a call it runs in a thread: stop waits for
    that call, so the caller may close what the call writes to."""
    inside, release, finished = threading.Event(), threading.Event(), threading.Event()

    def blocking() -> None:
        inside.set()
        release.wait(DEADLINE)
        finished.set()

    async def run() -> float:
        await asyncio.to_thread(blocking)
        return LONG

    loop = BackgroundLoop("test-thread", run, first_backoff=0.01, longest_backoff=0.01, cancel_on_stop=True)
    loop.start()
    assert inside.wait(DEADLINE)
    threading.Timer(0.2, release.set).start()
    loop.stop(timeout=DEADLINE)
    assert finished.is_set(), "stop returned while the cancelled pass's thread still ran"


def test_an_async_pass_can_leave_tasks_running_on_the_loop_while_it_rests() -> None:
    done = threading.Event()

    async def later() -> None:
        done.set()

    started: list[asyncio.Task[None]] = []

    async def run() -> float:
        if not started:
            started.append(asyncio.create_task(later()))
        return LONG

    loop = BackgroundLoop("test-tasks", run, first_backoff=0.01, longest_backoff=0.01)
    loop.start()
    try:
        assert done.wait(DEADLINE), "a task started by a pass did not run during the rest"
    finally:
        loop.stop()


def test_woken_close_together_is_served_by_one_pass_unless_hurried() -> None:
    passes: list[int] = []
    first = threading.Event()
    second = threading.Event()

    def run() -> float:
        passes.append(1)
        (second if first.is_set() else first).set()
        return LONG

    # A coalescing pause no test waits out: only a hurry ends it.
    loop = BackgroundLoop("test-coalesce", run, first_backoff=0.01, longest_backoff=0.01, coalesce=LONG)
    loop.start()
    try:
        assert first.wait(DEADLINE)
        loop.wake()
        loop.wake()
        loop.wake(hurry=True)
        assert second.wait(DEADLINE), "a hurried wake-up did not skip the pause"
    finally:
        loop.stop()
    assert len(passes) == 2  # three wake-ups, one pass
