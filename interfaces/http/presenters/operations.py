"""Health and readiness."""

from __future__ import annotations

from typing import Any


def present_health() -> dict[str, Any]:
    return {"status": "ok"}


def present_ready() -> dict[str, Any]:
    return {"status": "ready", "database": "ok"}


def present_unready(error: BaseException) -> dict[str, Any]:
    return {"status": "unavailable", "database": "unreachable", "reason": type(error).__name__}
