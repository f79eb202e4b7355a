"""The service's public origin, for URLs a response hands out (the webhook URL).

``WMS_INTAKE_PUBLIC_URL`` when set: then no request header shapes a URL.
Otherwise the request's ``Host``, but only when it is a host name, an IPv4
address or a bracketed IPv6 address, with an optional port: anything else
(bytes that are not UTF-8, spaces, markup) is a 400 before anything is
changed, never a URL built from it.
"""

from __future__ import annotations

import re

from aiohttp import web

from application.errors import InvalidRequestError
from interfaces.http.keys import CONTAINER

# Underscores too: container and compose service names use them.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]{{2,45}}\])(?::[0-9]{{1,5}})?", re.ASCII)
MAX_HOST_LENGTH = 255


def public_origin(request: web.Request) -> str:
    """``scheme://host[:port]`` of the service as its callers reach it."""
    public = request.app[CONTAINER].settings.public_url
    if public:
        return public.rstrip("/")
    host = request.host
    if len(host) > MAX_HOST_LENGTH or not _HOST.fullmatch(host):
        raise InvalidRequestError("Invalid Host header")
    return f"{request.scheme}://{host}"
