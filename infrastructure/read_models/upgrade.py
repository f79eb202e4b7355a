"""Read models that upgrade themselves: build the new shape beside the old, then swap.

Policy:

* Each read model declares ``version`` (``SqlTrackedView.version``). The store
  keeps, per read model, the version of the tables under its names
  (``read_model_versions``). A store from before versions existed holds
  version 1.
* Same version: nothing to do. The code's version is higher: the tables are
  left as they are, so reads keep using them (old shape, consistent: the rows
  and their tracking position as of the last batch applied before the
  upgrade), while the process holding the read model's lease (the
  projection's advisory lock on PostgreSQL; SQLite has one process) builds
  the new shape from the event store into ``<table>__next`` tables, in
  batches, with a tracking row of their own. When it has caught up, one
  transaction drops the old tables, renames the new ones (and their indexes)
  to the names, moves the tracking row and records the new version: readers
  see the old tables or the new ones, never a mix. Then the usual following
  goes on from the new tables' position.
* A build interrupted by a stop resumes where it was (its tracking row); one
  interrupted for another version starts again.
* The code's version is lower (an older release started against a newer
  store): this process does not write the read model. ``projections
  rebuild`` recreates it in the code's own shape when really going back.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import ApplicationRecorder, Mapper

from application.follower import ProjectionFollower
from application.projections import Projection
from infrastructure.sql import Database, SqlCursor

if TYPE_CHECKING:
    from infrastructure.read_models.tracked_view import SqlTrackedView

log = logging.getLogger(__name__)

SUFFIX = "__next"
VERSIONS = "read_model_versions"
_INDEX = re.compile(r"(CREATE\s+(?:UNIQUE\s+)?INDEX\s+IF\s+NOT\s+EXISTS\s+)(\w+)", re.IGNORECASE)


class ShadowDatabase:
    """The database as the new tables' writer sees it: the read model's own
    tables get the ``__next`` suffix, everything else is the real database."""

    def __init__(self, db: Database, tables: tuple[str, ...]) -> None:
        self._db = db
        self._tables = frozenset(tables)

    def table(self, name: str) -> str:
        return self._db.table(name + SUFFIX if name in self._tables else name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def _versions(db: Database) -> str:
    return db.table(VERSIONS)


def _ensure_versions_table(cursor: SqlCursor, db: Database) -> None:
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {_versions(db)} (name TEXT PRIMARY KEY, version BIGINT NOT NULL, building BIGINT)"
    )


def stored_version(view: SqlTrackedView) -> int | None:
    row = view.db.query_one(f"SELECT version FROM {_versions(view.db)} WHERE name = %s", (view.name,))
    return int(row["version"]) if row else None


def prepare_versioned(view: SqlTrackedView) -> None:
    """At start-up: record the version of a new or pre-version store, and
    create the tables only when they are (or will be) of the code's version."""
    with view.db.transaction() as cursor:
        _ensure_versions_table(cursor, view.db)
        cursor.execute(f"SELECT version FROM {_versions(view.db)} WHERE name = %s", (view.name,))
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {view.tracking} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            cursor.execute(f"SELECT 1 FROM {view.tracking} WHERE name = %s", (view.name,))
            # Tables made before versions were recorded are version 1.
            found = 1 if cursor.fetchone() is not None else view.version
            cursor.execute(f"INSERT INTO {_versions(view.db)} (name, version) VALUES (%s, %s)", (view.name, found))
        else:
            found = int(row["version"])
    if found == view.version:
        view.create_current_tables()
    elif found > view.version:
        log.warning(
            "read model %s is at version %s, newer than this release's %s: this process will not write it",
            view.name,
            found,
            view.version,
        )
    else:
        log.info(
            "read model %s: version %s in the store, %s in this release: upgrade pending",
            view.name,
            found,
            view.version,
        )


def recreate_if_other_version(view: SqlTrackedView) -> bool:
    """For a rebuild: tables of another version are dropped and made in this
    version's shape (empty, position 0). False when the version was already this one."""
    found = stored_version(view)
    if found == view.version:
        return False
    with view.db.transaction() as cursor:
        _drop_tables(cursor, view.db, view.tables, "")
        _drop_tables(cursor, view.db, view.tables, SUFFIX)
        cursor.execute(f"DELETE FROM {view.tracking} WHERE name IN (%s, %s)", (view.name, _shadow_name(view)))
        cursor.execute(
            f"UPDATE {_versions(view.db)} SET version = %s, building = NULL WHERE name = %s", (view.version, view.name)
        )
    view.create_current_tables()
    return True


def _shadow_name(view: SqlTrackedView) -> str:
    return f"{view.name}{SUFFIX}"


def _drop_tables(cursor: SqlCursor, db: Database, tables: tuple[str, ...], suffix: str) -> None:
    for table in tables:
        cursor.execute(f"DROP TABLE IF EXISTS {db.table(table + suffix)}")


class ReadModelUpgrade:
    """Builds one read model's new version beside the old and swaps it in.

    Driven by the read model's follower while it holds the lease: ``pending``
    is asked before each pass, ``step`` applies one batch (or the swap).
    """

    def __init__(
        self,
        view: SqlTrackedView,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        projection: Projection[Any],
        batch_size: int,
    ) -> None:
        self.view = view
        self.shadow = copy.copy(view)
        self.shadow.db = ShadowDatabase(view.db, view.tables)  # type: ignore[assignment]  # a stand-in: the same methods, other tables
        self.shadow.tracking_name = _shadow_name(view)
        self.builder = ProjectionFollower(recorder, mapper, projection, self.shadow, batch_size=batch_size)
        self._lock = threading.Lock()
        self._pending: bool | None = None
        self._started = False

    def pending(self) -> bool:
        """Whether the store's tables are of an older version (asked of the store, not remembered)."""
        found = stored_version(self.view)
        self._pending = found is not None and found < self.view.version
        return self._pending

    def newer_in_store(self) -> bool:
        found = stored_version(self.view)
        return found is not None and found > self.view.version

    def step(self) -> int:
        """One batch into the new tables; the swap once they have caught up.
        Returns the notifications read (0: swapped, the upgrade is done)."""
        with self._lock:
            if not self._started:
                self._begin()
                self._started = True
            read = self.builder.step()
            if read:
                return read
            self._swap()
            self._started = False
            return 0

    def run(self) -> None:
        """The whole upgrade now (the CLI and tests; the follower steps it)."""
        while self.pending() and self.step():
            pass

    def _begin(self) -> None:
        """Make the new tables, or resume a build of this same version."""
        view, db = self.view, self.view.db
        with db.transaction() as cursor:
            cursor.execute(f"SELECT building FROM {_versions(db)} WHERE name = %s", (view.name,))
            row = cursor.fetchone()
            if row is None or row["building"] != view.version:
                _drop_tables(cursor, db, view.tables, SUFFIX)
                cursor.execute(f"DELETE FROM {view.tracking} WHERE name = %s", (_shadow_name(view),))
                cursor.execute(f"UPDATE {_versions(db)} SET building = %s WHERE name = %s", (view.version, view.name))
            for statement in self.shadow.ddl():
                cursor.execute(_INDEX.sub(lambda m: m.group(1) + m.group(2) + SUFFIX, statement))
            cursor.execute(
                f"INSERT INTO {view.tracking} (name, position) VALUES (%s, 0) ON CONFLICT (name) DO NOTHING",
                (_shadow_name(view),),
            )
        log.info("read model %s: building version %s beside the old tables", view.name, view.version)

    def _swap(self) -> None:
        view, db = self.view, self.view.db
        with db.transaction() as cursor:
            moved = cursor.execute(
                f"UPDATE {_versions(db)} SET version = %s, building = NULL WHERE name = %s AND version < %s",
                (view.version, view.name, view.version),
            )
            if moved != 1:
                return  # another process swapped first
            _drop_tables(cursor, db, view.tables, "")
            for table in view.tables:
                cursor.execute(f"ALTER TABLE {db.table(table + SUFFIX)} RENAME TO {_bare(db, table)}")
            if db.dialect == "postgres":
                # Every index of the renamed tables, the implicit ones (primary
                # keys, UNIQUE) included, takes back its usual name.
                cursor.execute(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = ANY(%s) "
                    "AND strpos(indexname, %s) > 0",
                    (db.schema, list(view.tables), SUFFIX),
                )
                for row in cursor.fetchall():
                    old = row["indexname"]
                    cursor.execute(f'ALTER INDEX "{db.schema}"."{old}" RENAME TO "{old.replace(SUFFIX, "")}"')
            else:
                for statement in self.shadow.ddl():
                    found = _INDEX.search(statement)
                    if found:
                        cursor.execute(f"DROP INDEX IF EXISTS {found.group(2)}{SUFFIX}")
                for statement in view.ddl():
                    cursor.execute(statement)  # the tables exist now: this makes their indexes
            cursor.execute(f"DELETE FROM {view.tracking} WHERE name = %s", (view.name,))
            cursor.execute(f"UPDATE {view.tracking} SET name = %s WHERE name = %s", (view.name, _shadow_name(view)))
        log.info("read model %s: version %s swapped in", view.name, view.version)


def _bare(db: Database, table: str) -> str:
    """A table's new name in ALTER TABLE … RENAME TO (never schema-qualified)."""
    return f'"{table}"' if db.dialect == "postgres" else table
