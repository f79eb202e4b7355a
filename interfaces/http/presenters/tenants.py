"""The caller's own tenant."""

from __future__ import annotations

from typing import Any

from application.access.api_keys import TenantSummary


def present_tenant(summary: TenantSummary) -> dict[str, Any]:
    return {"tenantId": str(summary.tenant_id), "name": summary.name}
