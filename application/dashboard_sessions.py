"""Dashboard sign-in: a tenant API key exchanged for a server-side browser session.

Policy:
- The browser never keeps the API key. Signing in checks the key once and
  hands the browser a random session token (in an HttpOnly cookie); the store
  keeps only the token's SHA-256 hash, the key's tenant and the key's id.
- A session acts exactly as its key: same tenant, same role, same 404 for
  other tenants. The key is re-checked on every request, so revoking it ends
  its sessions at once.
- Sessions end at a fixed lifetime after sign-in, or on sign-out.
- The CSRF token is derived from the session token (not stored): only the
  holder of the cookie can know it, and the browser script learns it from
  ``GET /dashboard/session``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.commands import Principal
from application.errors import NotFoundError, UnauthorizedError
from application.ports import Clock
from application.ports.sessions import KeyAuthenticator, SessionRecord, SessionStore
from application.principals import parse_tenant
from application.tokens import credential_bytes, hash_secret

SESSION_TOKEN_BYTES = 32


@dataclass(frozen=True)
class SignedIn:
    """A new session. ``token`` goes into the cookie and nowhere else."""

    token: str
    principal: Principal
    csrf_token: str
    expires_at: datetime


class DashboardSessions:
    def __init__(self, keys: KeyAuthenticator, store: SessionStore, clock: Clock, lifetime: timedelta) -> None:
        self._keys = keys
        self._store = store
        self._clock = clock
        self.lifetime = lifetime

    def sign_in(self, api_key: str) -> SignedIn:
        """Check the key (UnauthorizedError if it is not a live key) and open a session."""
        principal = self._keys.authenticate_own_tenant(api_key)
        now = self._clock.now()
        # Expired rows are swept here: sign-ins are rare, so no background job is needed.
        self._store.remove_expired(now)
        token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
        record = SessionRecord(principal.tenant_id, principal.key_id, now, now + self.lifetime)
        self._store.add(hash_secret(token), record)
        return SignedIn(token, principal, csrf_token_of(token), record.expires_at)

    def principal(self, token: str, route_tenant: str | None = None) -> Principal:
        """The principal of a live session, checked against the route's tenant.

        UnauthorizedError for an unknown, expired or signed-out session or a
        revoked key; NotFoundError for another tenant's route (as with a key).
        """
        found = self.find_principal(token)
        if found is None:
            raise UnauthorizedError()
        if route_tenant is not None and parse_tenant(route_tenant) != found.tenant_id:
            raise NotFoundError("Not found")
        return found

    def find_principal(self, token: str) -> Principal | None:
        """The principal of a live session, or None (pages redirect to sign-in)."""
        if not token or len(token) > 256:
            return None
        record = self._store.find(hash_secret(token), self._clock.now())
        if record is None:
            return None
        try:
            return self._keys.principal_of_key(record.tenant_id, record.key_id)
        except UnauthorizedError:
            return None

    def sign_out(self, token: str) -> None:
        self._store.remove(hash_secret(token))


def csrf_token_of(session_token: str) -> str:
    """The CSRF token of a session: a one-way function of its token."""
    return hashlib.sha256(b"wms-intake csrf\x00" + credential_bytes(session_token)).hexdigest()


def csrf_matches(session_token: str, presented: str) -> bool:
    return hmac.compare_digest(csrf_token_of(session_token).encode(), credential_bytes(presented))
