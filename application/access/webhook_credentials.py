"""What opens a tenant's webhook, as last read: compared in constant time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.refusals import DEACTIVATED, WRONG_SECRET
from application.tokens import hash_matches
from domain.webhook import WmsWebhook


@dataclass(frozen=True)
class WebhookCredentials:
    """What opens a tenant's webhook: its secret's hash, and during a rotation
    window the previous one's, until ``previous_until``."""

    secret_hash: str
    active: bool
    previous_hash: str | None = None
    previous_until: datetime | None = None

    @classmethod
    def of(cls, hook: WmsWebhook) -> WebhookCredentials:
        return cls(
            hook.secret_hash,
            hook.active,
            getattr(hook, "previous_secret_hash", None),
            getattr(hook, "previous_valid_until", None),
        )

    def opened_by(self, credential_hash: str, now: datetime) -> str | None:
        """``current``, ``previous`` or None (neither opens it, or it is deactivated).

        Both digests are compared every time (the second against a dummy when
        there is no window), so the time taken says nothing of which matched.
        """
        current = hash_matches(credential_hash, self.secret_hash)
        previous = hash_matches(credential_hash, self.previous_hash or "0" * 64)
        if not self.active:
            return None
        if current:
            return "current"
        if (
            previous
            and self.previous_hash is not None
            and self.previous_until is not None
            and now < self.previous_until
        ):
            return "previous"
        return None

    def refusal_reason(self, credential_hash: str) -> str:
        """Why ``opened_by`` said no: the right secret of a deactivated webhook, or a wrong one."""
        if not self.active and hash_matches(credential_hash, self.secret_hash):
            return DEACTIVATED
        return WRONG_SECRET
