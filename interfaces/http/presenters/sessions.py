"""The dashboard's session: who is signed in, what they may open, the CSRF token."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from application.commands import Principal
from domain.roles import GRANTS
from interfaces.http.dashboard.pages import DashboardPage


def present_session(
    principal: Principal,
    csrf_token: str,
    home: str,
    pages: Iterable[DashboardPage],
    map_tile_url: str | None,
    map_attribution: str,
) -> dict[str, Any]:
    return {
        "tenantId": str(principal.tenant_id),
        "keyId": principal.key_id,
        "role": principal.role.value,
        "permissions": sorted(permission.value for permission in GRANTS[principal.role]),
        "csrfToken": csrf_token,
        "home": home,
        "pages": [{"name": p.name, "title": p.title, "path": p.path, "nav": p.nav} for p in pages],
        "map": {"tileUrl": map_tile_url, "attribution": map_attribution},
    }
