"""What each way of failing amounts to: the 502 a sync answers, or the 400 a URL gets.

The 502's details say why in the words of the webhook where the webhook
would have judged the same data, so an integrator reads one vocabulary.
"""

from __future__ import annotations

from typing import Any

from application.errors import InvalidRequestError, PayloadRejectedError
from application.media_types import UNSUPPORTED_MEDIA_TYPE_BODY
from application.ports.pull import PullFetchError
from application.pull.results import SyncFailed, SyncOutcome
from domain.errors import StalePullError

#: The 502's sentence for each way a fetch can fail.
FETCH_FAILURES: dict[str, str] = {
    "unreachable": "The WMS could not be reached",
    "timeout": "The WMS did not answer in time",
    "http_status": "The WMS answered with an error status",
    "too_large": "The WMS response is too large",
    "redirect_refused": "The WMS redirect was not followed (another origin, or too many redirects)",
    "redirect_loop": "The WMS redirected in a loop",
    "refused_address": "The WMS URL points to a private address",
    "invalid_url": "The pull URL cannot be used",
    "unsupported_media_type": "The WMS answered with a Content-Type that is not JSON",
}
#: The setting that lets pull URLs reach private addresses (on-premises WMSs).
ALLOW_PRIVATE_SETTING = "WMS_INTAKE_PULL_ALLOW_PRIVATE"


def url_refused(refused: PullFetchError) -> InvalidRequestError:
    """The 400 for a URL the sync-time rules refuse, saying why (and how to allow a private WMS)."""
    details: dict[str, Any] = {"reason": refused.reason, "message": refused.message}
    if refused.reason == "refused_address":
        details["setting"] = ALLOW_PRIVATE_SETTING
        details["hint"] = f"a WMS on a private network (on premises) is allowed with {ALLOW_PRIVATE_SETTING}=true"
    sentence = FETCH_FAILURES.get(refused.reason, "The pull URL cannot be used")
    return InvalidRequestError(f"{sentence}: {refused.message}", details)


def fetch_failed(error: PullFetchError) -> SyncOutcome:
    if error.reason == "unsupported_media_type":
        # Judged like the webhook: the details are the 415 it would have answered.
        return SyncOutcome(
            failure=SyncFailed(
                "The WMS data failed the webhook's checks (HTTP 415)",
                dict(UNSUPPORTED_MEDIA_TYPE_BODY),
                error.reason,
                error.message,
            )
        )
    details: dict[str, Any] = {"reason": error.reason, "message": error.message}
    if error.status is not None:
        details["status"] = error.status
    if error.retry_after is not None:
        details["retryAfter"] = round(error.retry_after)
    sentence = FETCH_FAILURES.get(error.reason, "The WMS could not be pulled")
    return SyncOutcome(failure=SyncFailed(sentence, details, error.reason, error.message, error.retry_after))


def secret_unreadable() -> SyncOutcome:
    return SyncOutcome(
        failure=SyncFailed(
            "The pull secret cannot be decrypted",
            {"reason": "secret_unreadable"},
            "secret_unreadable",
            "the stored pull secret cannot be decrypted (was WMS_INTAKE_SECRET_KEY changed?)",
        )
    )


def secret_echoed() -> SyncOutcome:
    message = "the WMS answer contains the pull secret it was sent; nothing of it was stored"
    return _failed("The WMS echoed the pull secret", "secret_echoed", message)


def endpoint_removed() -> SyncOutcome:
    message = "the endpoint was removed during the sync; nothing was stored"
    return _failed("The pull endpoint was removed", "removed", message)


def superseded(stale: StalePullError) -> SyncOutcome:
    return _failed("A later sync of this endpoint already stored newer data", "superseded", f"not stored: {stale}")


def rejected(refusal: PayloadRejectedError) -> SyncOutcome:
    # The 502's details are exactly the body the webhook would have answered.
    return SyncOutcome(
        failure=SyncFailed(
            f"The WMS data failed the webhook's validation (HTTP {refusal.status})",
            refusal.body,
            "rejected",
            f"the webhook would have answered HTTP {refusal.status} {refusal.body.get('error', 'rejected')!r} to this data",
        )
    )


def _failed(sentence: str, reason: str, message: str) -> SyncOutcome:
    return SyncOutcome(failure=SyncFailed(sentence, {"reason": reason, "message": message}, reason, message))
