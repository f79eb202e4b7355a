"""Application errors. The HTTP layer maps each type to one status in one table."""

from __future__ import annotations

from typing import Any

from application.redaction import Redactor


class ApplicationError(Exception):
    """Base of errors a caller can act on."""


class UnauthorizedError(ApplicationError):
    """Missing, unknown, wrong, revoked or inactive credentials. Never says which."""


class ForbiddenError(ApplicationError):
    """Authenticated, but the role does not allow this."""


class NotFoundError(ApplicationError):
    """No such thing in this tenant (another tenant's things do not exist here)."""


class ConflictError(ApplicationError):
    """The request contradicts current state (e.g. the webhook is already connected)."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.fields = fields


class DetailedError(ApplicationError):
    """An error whose ``details`` (JSON-like, or None) say more than its message."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.details = details


class InvalidRequestError(DetailedError):
    """A request of the tenant API is malformed."""


class PayloadRejectedError(ApplicationError):
    """An order batch was refused; ``body`` is what the caller gets back and the
    delivery log records."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(str(body.get("error", "rejected")))
        self.status = status
        self.body = body

    def redacted(self, redactor: Redactor) -> PayloadRejectedError:
        """This refusal without the delivery's secrets in anything it quotes."""
        return PayloadRejectedError(self.status, redactor.value(self.body))


class EveryItemRejectedError(PayloadRejectedError):
    """A partial batch (``?atomic=false``) whose every item was refused: nothing was stored.

    ``rejected`` holds each item's refusal; the HTTP layer answers with the
    partial-acceptance body built from it, and ``body`` is what the delivery log records.
    """

    def __init__(self, rejected: tuple[dict[str, Any], ...]) -> None:
        # A malformed item (400) outranks items that were only invalid (422).
        status = 400 if any(item["status"] == 400 for item in rejected) else 422
        recorded = {"error": "Every order was rejected", "accepted": False, "atomic": False, "processed": 0}
        super().__init__(status, {**recorded, "rejected": len(rejected), "orders": [], "rejectedItems": list(rejected)})
        self.rejected = rejected

    def redacted(self, redactor: Redactor) -> EveryItemRejectedError:
        return EveryItemRejectedError(tuple(redactor.value(self.rejected)))


class ServiceUnavailableError(ApplicationError):
    """A dependency (the database) failed; the caller should retry later."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamError(DetailedError):
    """A customer's system (a pulled WMS) failed; ``details`` says how."""
