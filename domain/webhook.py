"""The WmsWebhook aggregate: a tenant's "Connect WMS" integration."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValueError
from domain.ids import webhook_id
from domain.source import Source


class WmsWebhook(Aggregate):
    """One per tenant; holds only the hash of its Bearer secret.

    Deliveries do not touch this aggregate (``lastReceivedAt`` comes from the
    delivery records), so concurrent batches never conflict on it.
    """

    TOPIC = "wms-intake:WmsWebhook"

    class Event(Aggregate.Event):
        TOPIC = "wms-intake:WmsWebhook.Event"

    class Created(Aggregate.Created):
        TOPIC = "wms-intake:WmsWebhookConnected"
        tenant_id: str
        secret_hash: str
        source: dict[str, str | None]

    @staticmethod
    def create_id(tenant_id: str) -> UUID:
        return webhook_id(UUID(tenant_id))

    @classmethod
    def connect(cls, tenant_id: UUID, secret_hash: str, source: Source) -> WmsWebhook:
        return cls(tenant_id=str(tenant_id), secret_hash=secret_hash, source=source.as_record())

    @event(Created)
    def __init__(self, tenant_id: str, secret_hash: str, source: dict[str, str | None]) -> None:
        self.tenant_id = tenant_id
        self.secret_hash = secret_hash
        self.active = True
        #: The secret replaced by the last rotation and until when it still opens
        #: the webhook (None: no rotation window).
        self.previous_secret_hash: str | None = None
        self.previous_valid_until: datetime | None = None

    def regenerate_secret(self, secret_hash: str, source: Source) -> None:
        self._record_secret_regenerated(secret_hash=secret_hash, source=source.as_record())

    @event("SecretRegenerated", topic="wms-intake:WmsWebhookSecretRegenerated")
    def _record_secret_regenerated(self, secret_hash: str, source: dict[str, str | None]) -> None:
        self.secret_hash = secret_hash
        self.previous_secret_hash = None
        self.previous_valid_until = None

    # ---------------------------------------------------------------- rotation

    MAX_PREVIOUS_VALID = timedelta(days=7)

    def rotate_secret(self, secret_hash: str, now: datetime, previous_valid_for: timedelta, source: Source) -> None:
        """A new secret; the current one keeps working until ``now + previous_valid_for``.

        Policy: one previous secret at most (a rotation during a window drops
        the older one), and never for more than seven days. A zero window is a
        plain regeneration: the old secret stops at once.
        """
        if not timedelta(0) <= previous_valid_for <= self.MAX_PREVIOUS_VALID:
            raise InvalidValueError("previousValidForSeconds must be between 0 and 604800")
        if previous_valid_for == timedelta(0):
            self.regenerate_secret(secret_hash, source)
            return
        self._record_secret_rotated(
            secret_hash=secret_hash, previous_valid_until=now + previous_valid_for, source=source.as_record()
        )

    @event("SecretRotated", topic="wms-intake:WmsWebhookSecretRotated")
    def _record_secret_rotated(
        self, secret_hash: str, previous_valid_until: datetime, source: dict[str, str | None]
    ) -> None:
        self.previous_secret_hash = self.secret_hash
        self.previous_valid_until = previous_valid_until
        self.secret_hash = secret_hash

    def previous_secret_open(self, now: datetime) -> bool:
        """Whether the rotated-out secret still opens the webhook at ``now``."""
        until = getattr(self, "previous_valid_until", None)
        return self.active and until is not None and now < until

    def end_previous_secret(self, source: Source) -> bool:
        """End the rotation window early; a no-op (no window) records nothing."""
        if getattr(self, "previous_secret_hash", None) is None:
            return False
        self._record_previous_secret_ended(source=source.as_record())
        return True

    @event("PreviousSecretEnded", topic="wms-intake:WmsWebhookPreviousSecretEnded")
    def _record_previous_secret_ended(self, source: dict[str, str | None]) -> None:
        self.previous_secret_hash = None
        self.previous_valid_until = None

    def set_active(self, active: bool, source: Source) -> bool:
        """Deactivate or reactivate; a no-op records nothing."""
        if active == self.active:
            return False
        if active:
            self._record_reactivated(source=source.as_record())
        else:
            self._record_deactivated(source=source.as_record())
        return True

    @event("Deactivated", topic="wms-intake:WmsWebhookDeactivated")
    def _record_deactivated(self, source: dict[str, str | None]) -> None:
        self.active = False
        # Deactivation ends both secrets: a reactivated webhook opens only to the current one.
        self.previous_secret_hash = None
        self.previous_valid_until = None

    @event("Reactivated", topic="wms-intake:WmsWebhookReactivated")
    def _record_reactivated(self, source: dict[str, str | None]) -> None:
        self.active = True
