"""Pull endpoints: their sync status (never a secret), and a new secret."""

from __future__ import annotations

from typing import Any

from application.pull.results import AddedPullEndpoint, ChangedPullEndpoint, PullEndpointTarget
from application.read_models import PullEndpointRow


def present_pull_endpoint(endpoint: PullEndpointRow) -> dict[str, Any]:
    return {
        "id": endpoint.endpoint_id,
        "url": endpoint.url,
        "method": endpoint.method,
        "intervalMinutes": endpoint.interval_minutes,
        "createdAt": endpoint.created_at,
        "lastSyncAt": endpoint.last_sync_at,
        "lastSyncStatus": endpoint.last_sync_status,
        "lastError": endpoint.last_error,
        "lastProcessed": endpoint.last_processed,
        "nextSyncAt": endpoint.next_sync_at,
    }


def _present_target(endpoint: PullEndpointTarget) -> dict[str, Any]:
    return {
        "id": str(endpoint.endpoint_id),
        "url": endpoint.url,
        "method": endpoint.method,
        "intervalMinutes": endpoint.interval_minutes,
    }


def present_added_pull_endpoint(added: AddedPullEndpoint) -> dict[str, Any]:
    """The 201 body: the only time the secret is shown."""
    body = {**_present_target(added), "secret": added.secret}
    if added.warnings:
        body["warnings"] = list(added.warnings)
    return body


def present_changed_pull_endpoint(endpoint: ChangedPullEndpoint) -> dict[str, Any]:
    return {**_present_target(endpoint), "nextSyncAt": endpoint.next_sync_at}


def present_pull_endpoints(endpoints: list[PullEndpointRow]) -> dict[str, Any]:
    return {"pullEndpoints": [present_pull_endpoint(e) for e in endpoints]}


def present_pull_secret(secret: str) -> dict[str, Any]:
    return {"secret": secret}
