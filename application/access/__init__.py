"""Access: tenants, their API keys, and the WMS webhook's credential."""

from application.access.api_keys import API_KEY_PREFIX, ApiKeys
from application.access.webhook import WEBHOOK_SECRET_PREFIX, WebhookAccess
from application.access.webhook_credentials import WebhookCredentials

__all__ = ["API_KEY_PREFIX", "WEBHOOK_SECRET_PREFIX", "ApiKeys", "WebhookAccess", "WebhookCredentials"]
