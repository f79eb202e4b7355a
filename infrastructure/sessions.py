"""Dashboard sessions in one small table beside the read models.

Sessions are short-lived operational state, not business facts: they live in
a plain table, not in the event store. A row holds the SHA-256 hash of the
session token, the API key's tenant and id, and the expiry; never the token
and never the key. Timestamps are ISO 8601 UTC strings of fixed width, so
comparing them as text compares them as moments.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.ports.sessions import SessionRecord
from application.timestamps import iso, parse_iso
from infrastructure.sql import SqlTable


class SqlSessionStore(SqlTable):
    NAME = "dashboard_sessions"
    COLUMNS = (
        "token_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, key_id TEXT NOT NULL, "
        "created_at TEXT NOT NULL, expires_at TEXT NOT NULL"
    )

    def add(self, token_hash: str, record: SessionRecord) -> None:
        with self.db.transaction() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} (token_hash, tenant_id, key_id, created_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                (token_hash, str(record.tenant_id), record.key_id, iso(record.created_at), iso(record.expires_at)),
            )

    def find(self, token_hash: str, now: datetime) -> SessionRecord | None:
        row = self.db.query_one(
            f"SELECT * FROM {self.table} WHERE token_hash = %s AND expires_at > %s", (token_hash, iso(now))
        )
        if row is None:
            return None
        return SessionRecord(
            tenant_id=UUID(row["tenant_id"]),
            key_id=row["key_id"],
            created_at=parse_iso(row["created_at"]),
            expires_at=parse_iso(row["expires_at"]),
        )

    def remove(self, token_hash: str) -> None:
        with self.db.transaction() as cursor:
            cursor.execute(f"DELETE FROM {self.table} WHERE token_hash = %s", (token_hash,))

    def remove_expired(self, now: datetime) -> int:
        with self.db.transaction() as cursor:
            return cursor.execute(f"DELETE FROM {self.table} WHERE expires_at <= %s", (iso(now),))
