"""Managing pull endpoints: add, list, change, remove, a new secret (admin only, blocking)."""

from __future__ import annotations

from application.commands import Principal
from application.errors import InvalidRequestError
from application.ports import Clock, SecretBox
from application.ports.pull import PullFetchError, PullUrlCheck
from application.ports.read_models import PullEndpointsQueries
from application.principals import acting, require
from application.pull.endpoint_store import PullEndpointStore
from application.pull.failures import url_refused
from application.pull.results import AddedPullEndpoint, ChangedPullEndpoint, PullEndpointChange, changed_endpoint
from application.read_models import PullEndpointRow
from application.redaction import Redactor
from application.tokens import new_secret
from domain.errors import DomainError
from domain.pull_endpoint import PullEndpoint, PullTarget
from domain.roles import Permission

PULL_SECRET_PREFIX = "pls"


class EndpointAdmin:
    """The admin use cases of ``PullService`` (which sets these attributes)."""

    endpoint_store: PullEndpointStore
    secrets: SecretBox
    endpoints: PullEndpointsQueries
    clock: Clock
    check_url: PullUrlCheck

    def add_endpoint(
        self, principal: Principal, url: str, method: str, interval_minutes: int | None
    ) -> AddedPullEndpoint:
        """Add an endpoint; its secret is in the result and nowhere else in clear."""
        require_admin(principal)
        secret = new_secret(PULL_SECRET_PREFIX)
        try:
            target = PullTarget(url, method)
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        warnings = self._judge_url(target.url)
        try:
            endpoint = PullEndpoint.add(
                principal.tenant_id,
                target,
                interval_minutes,
                self.secrets.encrypt(secret),
                self.clock.now(),
                acting(principal),
            )
        except DomainError as error:
            raise InvalidRequestError(str(error)) from None
        self.endpoint_store.add(endpoint)
        return AddedPullEndpoint(
            endpoint.id, endpoint.url, endpoint.method, endpoint.interval_minutes, secret, tuple(warnings)
        )

    def _judge_url(self, url: str) -> list[str]:
        """The sync-time rules for ``url``, applied now: a 400 saying why, or warnings."""
        try:
            return self.check_url(url)
        except PullFetchError as refused:
            raise url_refused(refused) from None

    def list_endpoints(self, principal: Principal) -> list[PullEndpointRow]:
        require_admin(principal)
        return self.endpoints.list_pull_endpoints(str(principal.tenant_id))

    def change_endpoint(
        self, principal: Principal, endpoint_id: str, change: PullEndpointChange
    ) -> ChangedPullEndpoint:
        require_admin(principal)
        source = acting(principal)
        if change.url is not None:
            try:
                PullTarget(change.url, change.method or "GET")
            except DomainError as error:
                raise InvalidRequestError(str(error)) from None
            self._judge_url(change.url)

        def apply(endpoint: PullEndpoint) -> bool:
            target = PullTarget(change.url or endpoint.url, change.method or endpoint.method)
            if change.url is not None and self._holds_secret(endpoint, change.url):
                # The URL is kept in events and read models, where no secret may be.
                raise InvalidRequestError("url must not contain the pull secret: the WMS gets it as a Bearer token")
            changed = endpoint.retarget(target, source)
            if change.interval_given:
                changed = endpoint.change_interval(change.interval_minutes, self.clock.now(), source) or changed
            return changed

        return changed_endpoint(self.endpoint_store.change(principal.tenant_id, endpoint_id, apply))

    def _holds_secret(self, endpoint: PullEndpoint, text: str) -> bool:
        try:
            secret = self.secrets.decrypt(endpoint.sealed_secret)
        except Exception:
            return False
        return Redactor([secret]).contains(text)

    def remove_endpoint(self, principal: Principal, endpoint_id: str) -> None:
        require_admin(principal)
        source = acting(principal)

        def apply(endpoint: PullEndpoint) -> bool:
            endpoint.remove(self.clock.now(), source)
            return True

        self.endpoint_store.change(principal.tenant_id, endpoint_id, apply)

    def regenerate_secret(self, principal: Principal, endpoint_id: str) -> str:
        """A new secret, shown once; the WMS must be given it before the next sync."""
        require_admin(principal)
        source = acting(principal)
        secret = new_secret(PULL_SECRET_PREFIX)
        sealed = self.secrets.encrypt(secret)

        def apply(endpoint: PullEndpoint) -> bool:
            endpoint.regenerate_secret(sealed, source)
            return True

        self.endpoint_store.change(principal.tenant_id, endpoint_id, apply)
        return secret


def require_admin(principal: Principal) -> None:
    require(principal, Permission.MANAGE_INTEGRATIONS)
