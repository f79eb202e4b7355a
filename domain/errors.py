"""Named domain errors: invariants raise these, never ``assert``."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain refuses to break."""


class InvalidValueError(DomainError):
    """A value object was given a value it cannot hold."""


class UnknownApiKeyError(DomainError):
    """The API key id is not one the tenant issued."""


class PullEndpointRemovedError(DomainError):
    """A removed pull endpoint accepts no more changes."""


class LocationAlreadyResolvedError(DomainError):
    """An address already located (or permanently not) is not geocoded again."""


class StalePullError(DomainError):
    """A pulled batch is older than one already stored from the same endpoint.

    Data pulled earlier must never overwrite data pulled later, so the older
    batch is refused whole.
    """
