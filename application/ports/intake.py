"""Intake as other use cases reach it: a batch of orders goes the webhook's way."""

from __future__ import annotations

from typing import Protocol

from application.commands import IngestResult, ReceiveBatch


class BatchReceiver(Protocol):
    def receive_batch(self, command: ReceiveBatch) -> IngestResult: ...
