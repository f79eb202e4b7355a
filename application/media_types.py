"""Which media types an order batch may be sent as: one rule for the webhook and for pull.

No Content-Type at all is accepted (some WMSs send none); JSON and the types
WMSs are known to label JSON with are accepted; a form, XML or an HTML page
is not (the webhook answers 415; a pull is a 502 whose details are that 415's
body).
"""

from __future__ import annotations

from typing import Any

JSON_TYPES = ("application/json", "text/json", "text/plain", "application/octet-stream")

#: The webhook's 415 body.
UNSUPPORTED_MEDIA_TYPE_BODY: dict[str, Any] = {
    "error": "Unsupported media type",
    "details": "send the orders as application/json",
}


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a batch labelled ``content_type`` (its bare media type, or None) is judged as JSON."""
    if content_type is None:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind in JSON_TYPES or kind.endswith("+json")
