"""Refused-request counters in one small table, and the thread that fills it."""

from __future__ import annotations

import logging
import threading

from application.ports.refusals import RefusalTally
from application.refusals import RefusalCount, RefusalCounter
from application.timestamps import iso
from infrastructure.sql import SqlTable

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0


class SqlRefusalStore(SqlTable):
    NAME = "auth_refusals"
    COLUMNS = (
        "tenant_id TEXT NOT NULL, source TEXT NOT NULL, "
        "reason TEXT NOT NULL, count BIGINT NOT NULL, last_at TEXT NOT NULL, "
        "PRIMARY KEY (tenant_id, source, reason)"
    )

    def add_counts(self, counts: list[RefusalCount]) -> None:
        if not counts:
            return
        with self.db.transaction(durable=False) as cursor:
            cursor.executemany(
                f"INSERT INTO {self.table} AS t (tenant_id, source, reason, count, last_at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, source, reason) DO UPDATE SET "
                "count = t.count + excluded.count, last_at = CASE WHEN excluded.last_at > t.last_at "
                "THEN excluded.last_at ELSE t.last_at END",
                [(c.tenant_id, c.source, c.reason, c.count, iso(c.last_at)) for c in counts],
            )

    def refused(self, tenant_id: str, source: str = "webhook") -> dict[str, RefusalTally]:
        """reason -> its tally, for every reason this tenant's source was refused for."""
        rows = self.db.query(
            f"SELECT reason, count, last_at FROM {self.table} WHERE tenant_id = %s AND source = %s", (tenant_id, source)
        )
        return {r["reason"]: RefusalTally(int(r["count"]), r["last_at"]) for r in rows}


class RefusalFlusher:
    """Moves the counts from memory to the table every ``interval`` seconds."""

    def __init__(self, counter: RefusalCounter, store: SqlRefusalStore, interval: float = FLUSH_SECONDS) -> None:
        self.counter = counter
        self.store = store
        self.interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="refusal-flusher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.flush()

    def flush(self) -> None:
        counts = self.counter.drain()
        try:
            self.store.add_counts(counts)
        except Exception as error:
            log.warning("refusal counts not stored yet (%s)", type(error).__name__)
            self.counter.restore(counts)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.flush()
