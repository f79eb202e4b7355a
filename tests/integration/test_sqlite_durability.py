"""The SQLite event store commits with synchronous=NORMAL in WAL mode, and a
commit survives the death of the process that made it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from uuid import UUID

from interfaces.container import build_container
from tests.support.settings import make_settings


def test_event_store_connections_use_wal_and_normal_sync(tmp_path: Path) -> None:
    container = build_container(make_settings(f"sqlite:///{tmp_path / 'intake.sqlite3'}"))
    try:
        container.use_cases.create_tenant("Acme")
        with container.use_cases.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0].lower() == "wal"
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 1  # NORMAL
    finally:
        container.close()


def test_a_commit_survives_the_process_being_killed_right_after_it(tmp_path: Path) -> None:
    database = tmp_path / "intake.sqlite3"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from tests.support.settings import make_settings
        from interfaces.container import build_container
        container = build_container(make_settings("sqlite:///{database}"))
        created = container.use_cases.create_tenant("Survivor")
        print(created.tenant_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == -9, done.stderr
    tenant_id = done.stdout.strip()
    container = build_container(make_settings(f"sqlite:///{database}"))
    try:
        assert container.use_cases.recorder.select_events(UUID(tenant_id))
    finally:
        container.close()
