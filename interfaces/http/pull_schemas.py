"""Request bodies of the pull-endpoint routes ("Pull from WMS"), validated at the edge.

The URL's shape (http/https, a host, no credentials) is the domain's rule
(``PullTarget``) and answered with a 400 from there; the schema states the
same pattern (``URL_PATTERN``), so the document says exactly which URLs are
accepted. The URL is taken as sent (not trimmed): the pattern has no spaces.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from application.order_payload import NoNul
from domain.pull_endpoint import MAX_INTERVAL_MINUTES, MAX_URL_LENGTH, MIN_INTERVAL_MINUTES, URL_PATTERN
from interfaces.http.schema_rules import SchemaPattern
from interfaces.http.schemas import StrictBody, integral_float_as_int

#: The domain's URL pattern, with the host narrowed to what the outbound check
#: also accepts: an IPv4 address only in its canonical dotted form (127.1,
#: 0x7f.0.0.1 and 2130706433 are refused as invalid_url: readers disagree on
#: them), else a name whose last label does not start with a digit.
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_HOST_CHAR = "A-Za-z0-9\\-_~!$&'()*+,;=%"
PULL_URL_PATTERN = URL_PATTERN.replace(
    "[A-Za-z0-9\\-._~!$&'()*+,;=%]+",
    f"(?:{_OCTET}(?:\\.{_OCTET}){{3}}|(?:[{_HOST_CHAR}.]*\\.)?[{_HOST_CHAR.replace('0-9', '')}][{_HOST_CHAR}]*\\.?)",
    1,
)
assert PULL_URL_PATTERN != URL_PATTERN

PullUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_LENGTH),
    NoNul,
    SchemaPattern(PULL_URL_PATTERN),
    Field(
        description="the WMS URL to pull from: http:// or https://, a host name or IPv4 address, "
        "no credentials, visible ASCII (percent-encode the rest)"
    ),
]
PullMethod = Literal["GET", "POST"]
IntervalMinutes = Annotated[
    int,
    Field(
        ge=MIN_INTERVAL_MINUTES,
        le=MAX_INTERVAL_MINUTES,
        description="pull on a schedule every this many minutes; null: only on Sync now",
    ),
    BeforeValidator(integral_float_as_int),
]


class AddPullEndpoint(StrictBody):
    url: PullUrl
    method: PullMethod
    intervalMinutes: IntervalMinutes | None = None


class ChangePullEndpoint(StrictBody):
    """Only the fields given change (at least one); ``intervalMinutes: null`` stops the schedule."""

    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, json_schema_extra=lambda schema: _only_given(schema)
    )

    # url and method may be left out, but not null: the defaults only mean "not given"
    # (the validator below refuses a null; the schema shows no null either).
    url: PullUrl | SkipJsonSchema[None] = None
    method: PullMethod | SkipJsonSchema[None] = None
    intervalMinutes: IntervalMinutes | None = None

    @model_validator(mode="after")
    def _says_what_changes(self) -> ChangePullEndpoint:
        if not self.model_fields_set:
            raise ValueError("give at least one of url, method, intervalMinutes")
        for name in ("url", "method"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


def _only_given(schema: dict[str, Any]) -> None:
    """The schema says what the validator checks: at least one field, and a
    left-out url or method has no default value (it stays as it is)."""
    schema["minProperties"] = 1
    for name in ("url", "method"):
        schema["properties"][name].pop("default", None)
