"""A tenant that a load run created: what every workload knows of it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BenchTenant:
    """Its place in the run, its id and admin key, and its webhook secret once connected."""

    index: int
    tenant_id: str
    admin_key: str
    secret: str = ""
