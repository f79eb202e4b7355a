"""Where a change came from: every event carries one, for the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Channel = Literal["webhook", "pull", "api"]
CHANNELS: frozenset[str] = frozenset({"webhook", "pull", "api"})


@dataclass(frozen=True)
class Source:
    """The channel, delivery and request that caused an event.

    ``api_key_id`` is set when a person acted through the tenant API.
    """

    channel: Channel
    delivery_id: str | None = None
    request_id: str | None = None
    api_key_id: str | None = None

    def as_record(self) -> dict[str, str | None]:
        """The plain mapping stored inside events (JSON-friendly)."""
        return {
            "channel": self.channel,
            "deliveryId": self.delivery_id,
            "requestId": self.request_id,
            "apiKeyId": self.api_key_id,
        }
