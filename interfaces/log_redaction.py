"""No credential reaches a log line: aiohttp's parse errors reformatted, every line redacted.

aiohttp's server logger reports a malformed request with the exception of
its parser, whose message quotes the raw header line (a secret saved with
Windows line endings, a control byte, an oversized header: the whole token).
Those records are rewritten to the error's kind and reason, without the
quoted bytes. As a second guard, every formatted line has credential-looking
text masked: header lines and ``name=value`` pairs of credential headers,
``Bearer``/``Basic`` tokens, the session cookie, and tokens of our own
prefixes.
"""

from __future__ import annotations

import logging
import re

from aiohttp.http_exceptions import HttpProcessingError

REDACTED = "[redacted]"
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrf-token", "x-api-key")
_HEADER = re.compile(
    r"(?i)\b(" + "|".join(re.escape(h) for h in CREDENTIAL_HEADERS) + r")(['\"]?\s*[:=,]\s*['\"]?)[^\r\n'\"]*"
)
_SCHEME = re.compile(r"(?i)\b(bearer|basic|digest)(\s+|\\t)[^\s'\"]+")
_SESSION = re.compile(r"(wms_intake_session\s*[=:]\s*)[^;\s'\"]*")
_OUR_TOKENS = re.compile(r"\b(whs|wik|pls)_[A-Za-z0-9_\-\\]+")
#: The reason of a parser error, without what follows it (the quoted bytes).
_REASON_END = re.compile(r":\s*(?:b?['\"]|\\|$)|\n")


def redact(text: str) -> str:
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SESSION.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _OUR_TOKENS.sub(lambda m: f"{m.group(1)}_{REDACTED}", text)


class ParseErrorSummary(logging.Filter):
    """Rewrites aiohttp's records of a request it could not parse: no traceback, no raw bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            message = str(getattr(error, "message", "") or "")
            reason = _REASON_END.split(message, maxsplit=1)[0].strip()
            reason = re.sub(r"[^A-Za-z0-9 .,()-]", "", reason)[:120]
            record.msg = "request could not be parsed: %s %s %s"
            record.args = (type(error).__name__, error.code, reason)
            record.exc_info = None
            record.exc_text = None
            # The client's mistake, not the server's.
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class CookieNamesHidden(logging.Filter):
    """aiohttp's note of cookies it could not read names them: a malformed
    ``Cookie`` header's "name" may be a token. Only the fact is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "cookie" in str(record.msg).lower() and record.args:
            record.msg = "a Cookie header held pairs that are not cookies; ignored"
            record.args = ()
        return True


def quiet_server_logger() -> None:
    """Install the summaries on aiohttp's loggers that see request headers (once)."""
    for name, kind in (("aiohttp.server", ParseErrorSummary), ("aiohttp.internal", CookieNamesHidden)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
