"""Request bodies of the pull-endpoint routes ("Pull from WMS"), validated at the edge.

The URL's shape (http/https, a host, no credentials) is the domain's rule
(``PullTarget``) and answered with a 400 from there; here it only has to be
a bounded string.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, StringConstraints, model_validator

from application.order_payload import NoNul
from domain.pull_endpoint import MAX_INTERVAL_MINUTES, MAX_URL_LENGTH, MIN_INTERVAL_MINUTES
from interfaces.http.schemas import StrictBody

PullUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL_LENGTH),
    NoNul,
    Field(description="the WMS URL to pull from: http:// or https://, without credentials"),
]
PullMethod = Literal["GET", "POST"]
IntervalMinutes = Annotated[
    int,
    Field(
        ge=MIN_INTERVAL_MINUTES,
        le=MAX_INTERVAL_MINUTES,
        description="pull on a schedule every this many minutes; null: only on Sync now",
    ),
]


class AddPullEndpoint(StrictBody):
    url: PullUrl
    method: PullMethod
    intervalMinutes: Optional[IntervalMinutes] = None


class ChangePullEndpoint(StrictBody):
    """Only the fields given change; ``intervalMinutes: null`` stops the schedule."""

    url: Optional[PullUrl] = None
    method: Optional[PullMethod] = None
    intervalMinutes: Optional[IntervalMinutes] = None

    @model_validator(mode="after")
    def _says_what_changes(self) -> ChangePullEndpoint:
        if not self.model_fields_set:
            raise ValueError("give at least one of url, method, intervalMinutes")
        for name in ("url", "method"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self
