"""Settings -> Integrations: the webhook's state and secrets, and the integration status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.read_models import IntegrationStatus
from application.timestamps import iso
from interfaces.http.presenters.pull import present_pull_endpoint


def present_webhook_connected(webhook_url: str, secret: str) -> dict[str, Any]:
    return {"webhookUrl": webhook_url, "secret": secret, "active": True}


def present_new_webhook_secret(secret: str, previous_until: datetime | None) -> dict[str, Any]:
    shown: dict[str, Any] = {"secret": secret}
    # Only a rotation with a grace period names until when the old secret works.
    if previous_until is not None:
        shown["previousSecretExpiresAt"] = iso(previous_until)
    return shown


def present_webhook_active(webhook_url: str, active: bool) -> dict[str, Any]:
    return {"webhookUrl": webhook_url, "active": active}


def present_integration_status(status: IntegrationStatus) -> dict[str, Any]:
    webhook: dict[str, Any] | None = None
    if status.webhook is not None:
        row = status.webhook
        webhook = {
            "webhookUrl": status.webhook_url,
            "active": row.active,
            "connectedAt": row.connected_at,
            "lastReceivedAt": row.last_received_at,
            "previousSecretExpiresAt": row.previous_secret_expires_at,
        }
        if status.refused is not None:
            webhook["refusedRequests"] = {
                shown: {"count": tally.count, "lastAt": tally.last_at} for shown, tally in status.refused.items()
            }
    return {"webhook": webhook, "pullEndpoints": [present_pull_endpoint(e) for e in status.pull_endpoints]}
