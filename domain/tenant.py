"""The Tenant aggregate: a customer organisation and the API keys it issued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValueError, UnknownApiKeyError
from domain.roles import Role


@dataclass
class ApiKeyRecord:
    """An issued key: only the hash of its secret is ever kept."""

    key_id: str
    secret_hash: str
    role: Role
    issued_at: datetime
    revoked: bool = False
    #: What the admin called it ("Planner tablet"); keys issued before names existed have none.
    name: str | None = None


class Tenant(Aggregate):
    TOPIC = "wms-intake:Tenant"

    class Event(Aggregate.Event):
        TOPIC = "wms-intake:Tenant.Event"

    class Created(Aggregate.Created):
        TOPIC = "wms-intake:TenantCreated"
        name: str

    @classmethod
    def open(cls, name: str) -> Tenant:
        if not name.strip():
            raise InvalidValueError("a tenant needs a name")
        return cls(name=name.strip())

    @event(Created)
    def __init__(self, name: str) -> None:
        self.name = name
        self.api_keys: dict[str, ApiKeyRecord] = {}

    class ApiKeyIssued(Event):
        TOPIC = "wms-intake:ApiKeyIssued"
        key_id: str
        secret_hash: str
        role: str
        #: Optional, so events stored before keys had names still load (as unnamed).
        name: str | None = None

        def apply(self, aggregate: Tenant) -> None:
            # The key is issued at this event's own moment: the library moves
            # ``modified_on`` only after apply() has run, so it would still be
            # the previous event's time here.
            aggregate.api_keys[self.key_id] = ApiKeyRecord(
                key_id=self.key_id,
                secret_hash=self.secret_hash,
                role=Role(self.role),
                issued_at=self.timestamp,
                name=self.name,
            )

    def issue_api_key(self, key_id: str, secret_hash: str, role: Role, name: str | None = None) -> None:
        if key_id in self.api_keys:
            raise InvalidValueError("API key ids are unique within a tenant")
        name = name.strip() if name is not None else None
        if name is not None and not name:
            raise InvalidValueError("an API key's name must not be blank")
        self.trigger_event(self.ApiKeyIssued, key_id=key_id, secret_hash=secret_hash, role=role.value, name=name)

    def revoke_api_key(self, key_id: str) -> None:
        record = self.api_keys.get(key_id)
        if record is None:
            raise UnknownApiKeyError(key_id)
        if not record.revoked:
            self._record_key_revoked(key_id=key_id)

    @event("ApiKeyRevoked", topic="wms-intake:ApiKeyRevoked")
    def _record_key_revoked(self, key_id: str) -> None:
        self.api_keys[key_id].revoked = True

    def active_key(self, key_id: str) -> ApiKeyRecord | None:
        record = self.api_keys.get(key_id)
        return record if record is not None and not record.revoked else None
