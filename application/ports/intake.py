"""What a caller of order intake needs: hand over a raw batch, get its result."""

from __future__ import annotations

from typing import Protocol

from application.commands import IngestResult, ReceiveBatch


class BatchReceiver(Protocol):
    """Judges a raw order batch and stores it atomically (webhook and pull alike)."""

    def receive_batch(self, command: ReceiveBatch) -> IngestResult:
        """The stored batch's result; a refusal is recorded and raised as ``PayloadRejectedError``."""
