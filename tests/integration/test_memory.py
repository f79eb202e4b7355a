"""What keeps a 10,000-order batch's memory down, checked where it can fail."""

from __future__ import annotations

import sys

import pytest

from infrastructure.event_store.transcoder import OrjsonTranscoder
from infrastructure.malloc_arenas import limit_malloc_arenas


def test_an_encoded_state_holds_no_more_than_its_own_bytes() -> None:
    # orjson's bytes keep the 4 KiB buffer they were written into; 20,000
    # events of one batch held 80 MB that way until their commit.
    import tracemalloc

    state = {"tenant_id": "t", "details": {"delivery_address": "10 High Street, London SW1A 1AA"}}
    transcoder = OrjsonTranscoder()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [transcoder.encode(state) for _ in range(1000)]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    per_state = held / len(kept)
    assert per_state < 4 * sys.getsizeof(kept[0]), per_state


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_arena_limit_applies_unless_the_operator_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas() is True
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
