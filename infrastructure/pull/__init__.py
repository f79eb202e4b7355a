"""Pulling orders from a customer's WMS over HTTP (outbound side)."""

from __future__ import annotations

from infrastructure.pull.outbound import AiohttpPullSource, OutboundPolicy, PullFetchError

__all__ = ["AiohttpPullSource", "OutboundPolicy", "PullFetchError"]
