"""The idempotency-key store: answers kept for replay (the policy is in ``application/idempotency.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from application.idempotency import Claim


class IdempotencyStore(Protocol):
    """Kept answers, shared by every process (a table beside the read models)."""

    def claim(self, tenant_id: str, key_hash: str, fingerprint: str, owner: str, now: datetime) -> Claim:
        """Take the key for this request, or say why not (replay, mismatch, in progress)."""

    def finish(self, tenant_id: str, key_hash: str, owner: str, status: int, content_type: str, body: bytes) -> None:
        """Keep the answer of the request that held the key."""

    def release(self, tenant_id: str, key_hash: str, owner: str) -> None:
        """Give the key up without an answer (the next request with it does the work)."""

    def remove_expired(self, now: datetime) -> int:
        """Forget keys older than their lifetime."""
