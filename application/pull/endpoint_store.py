"""Loading and changing pull endpoints through the event store.

A change is load, apply, save; when another writer changed the same endpoint
in between, the save fails as a conflict and the change is applied again on
fresh state (``application/retrying.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from application.errors import InvalidRequestError, NotFoundError, ServiceUnavailableError
from application.ports.aggregates import AggregateStore
from application.retrying import retry_on_conflict
from domain.errors import DomainError, PullEndpointRemovedError
from domain.pull_endpoint import PullEndpoint

NOT_FOUND = "Pull endpoint not found"
MAX_CONFLICT_RETRIES = 8


class PullEndpointStore:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    def add(self, endpoint: PullEndpoint) -> None:
        self.store.save(endpoint)

    def load(self, endpoint_id: UUID) -> PullEndpoint | None:
        found = self.store.load_many([endpoint_id]).get(endpoint_id)
        return found if isinstance(found, PullEndpoint) else None

    def of_tenant(self, tenant_id: UUID, endpoint_id: str) -> PullEndpoint:
        """The tenant's endpoint; one of another tenant, or a removed one, is not found (404)."""
        try:
            oid = UUID(endpoint_id)
        except ValueError:
            raise NotFoundError(NOT_FOUND) from None
        endpoint = self.load(oid)
        if endpoint is None or endpoint.removed or endpoint.tenant_id != str(tenant_id):
            raise NotFoundError(NOT_FOUND)
        return endpoint

    def change(self, tenant_id: UUID, endpoint_id: str, apply: Callable[[PullEndpoint], bool]) -> PullEndpoint:
        """Load, ``apply`` (False: nothing changed), save; retried on fresh state after a conflict."""

        def attempt(_: int) -> PullEndpoint:
            endpoint = self.of_tenant(tenant_id, endpoint_id)
            try:
                changed = apply(endpoint)
            except PullEndpointRemovedError:
                raise NotFoundError(NOT_FOUND) from None
            except DomainError as error:
                raise InvalidRequestError(str(error)) from None
            if changed:
                self.store.save(endpoint)
            return endpoint

        return retry_on_conflict(
            attempt,
            attempts=MAX_CONFLICT_RETRIES,
            exhausted=lambda: ServiceUnavailableError(
                "this pull endpoint is being changed concurrently; retry", retry_after=1
            ),
        )
