"""Idempotency keys in one small table beside the read models (both stores).

A row holds the SHA-256 of the key (never the key), a fingerprint of the
request, and once answered the status and the body, encrypted with the
service's secret key (an answer may hold a secret shown once, such as a new
webhook secret). Timestamps are fixed-width ISO strings, compared as text.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

from application.idempotency import KEY_LIFETIME, LEASE, Claim, Held, Proceed, Replay
from application.timestamps import iso
from infrastructure.secret_cipher import SecretCipher
from infrastructure.sql import Database, SqlTable

PURGE_EVERY = timedelta(minutes=10)


class SqlIdempotencyStore(SqlTable):
    NAME = "idempotency_keys"
    COLUMNS = (
        "tenant_id TEXT NOT NULL, key_hash TEXT NOT NULL, fingerprint TEXT NOT NULL, "
        "owner TEXT, status INTEGER, content_type TEXT, body TEXT, "
        "started_at TEXT NOT NULL, expires_at TEXT NOT NULL, PRIMARY KEY (tenant_id, key_hash)"
    )
    INDEXES = ("CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON {table} (expires_at)",)

    def __init__(self, db: Database, cipher: SecretCipher) -> None:
        super().__init__(db)
        self.cipher = cipher
        self._purged_at: datetime | None = None

    def claim(self, tenant_id: str, key_hash: str, fingerprint: str, owner: str, now: datetime) -> Claim:
        key = (tenant_id, key_hash)
        if self._purged_at is None or now - self._purged_at > PURGE_EVERY:
            # Expired keys of every tenant go now and then, so the table stays small.
            self._purged_at = now
            self.remove_expired(now)
        with self.db.transaction() as cursor:
            cursor.execute(
                f"DELETE FROM {self.table} WHERE tenant_id = %s AND key_hash = %s AND expires_at <= %s",
                (*key, iso(now)),
            )
            inserted = cursor.execute(
                f"INSERT INTO {self.table} (tenant_id, key_hash, fingerprint, owner, started_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, key_hash) DO NOTHING",
                (*key, fingerprint, owner, iso(now), iso(now + KEY_LIFETIME)),
            )
            if inserted == 1:
                return Proceed(owner)
            cursor.execute(f"SELECT * FROM {self.table} WHERE tenant_id = %s AND key_hash = %s", key)
            row = cursor.fetchone()
            if row is None:  # released between our insert and read: try again shortly
                return Held.IN_PROGRESS
            if row["fingerprint"] != fingerprint:
                return Held.MISMATCH
            if row["status"] is not None:
                body = base64.b64decode(self.cipher.decrypt(row["body"]))
                return Replay(int(row["status"]), row["content_type"], body)
            if row["started_at"] > iso(now - LEASE):
                return Held.IN_PROGRESS
            # The holder died mid-work (its lease ran out): this request takes over.
            taken = cursor.execute(
                f"UPDATE {self.table} SET owner = %s, started_at = %s "
                "WHERE tenant_id = %s AND key_hash = %s AND owner = %s AND status IS NULL",
                (owner, iso(now), *key, row["owner"]),
            )
            return Proceed(owner) if taken == 1 else Held.IN_PROGRESS

    def finish(self, tenant_id: str, key_hash: str, owner: str, status: int, content_type: str, body: bytes) -> None:
        sealed = self.cipher.encrypt(base64.b64encode(body).decode("ascii"))
        with self.db.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET status = %s, content_type = %s, body = %s "
                "WHERE tenant_id = %s AND key_hash = %s AND owner = %s",
                (status, content_type, sealed, tenant_id, key_hash, owner),
            )

    def release(self, tenant_id: str, key_hash: str, owner: str) -> None:
        with self.db.transaction() as cursor:
            cursor.execute(
                f"DELETE FROM {self.table} WHERE tenant_id = %s AND key_hash = %s AND owner = %s AND status IS NULL",
                (tenant_id, key_hash, owner),
            )

    def remove_expired(self, now: datetime) -> int:
        with self.db.transaction() as cursor:
            return cursor.execute(f"DELETE FROM {self.table} WHERE expires_at <= %s", (iso(now),))
