"""The caller's own tenant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def present_tenant(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The use case answers with the wire names already; this keeps to the documented keys."""
    return {"tenantId": summary["tenantId"], "name": summary["name"]}
