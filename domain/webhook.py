"""The WmsWebhook aggregate: a tenant's "Connect WMS" integration."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

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
        return cls(
            tenant_id=str(tenant_id), secret_hash=secret_hash, source=source.as_record()
        )

    @event(Created)
    def __init__(self, tenant_id: str, secret_hash: str, source: dict[str, str | None]) -> None:
        self.tenant_id = tenant_id
        self.secret_hash = secret_hash
        self.active = True

    def regenerate_secret(self, secret_hash: str, source: Source) -> None:
        self._record_secret_regenerated(secret_hash=secret_hash, source=source.as_record())

    @event("SecretRegenerated", topic="wms-intake:WmsWebhookSecretRegenerated")
    def _record_secret_regenerated(
        self, secret_hash: str, source: dict[str, str | None]
    ) -> None:
        self.secret_hash = secret_hash

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

    @event("Reactivated", topic="wms-intake:WmsWebhookReactivated")
    def _record_reactivated(self, source: dict[str, str | None]) -> None:
        self.active = True
