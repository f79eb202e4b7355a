"""Safe outbound HTTP fetch of a customer WMS's order payload.

The pull URL is supplied by a customer, so every request made here is treated
as untrusted and follows this policy:

* Only absolute ``http``/``https`` URLs with a host and without embedded
  credentials are accepted (``invalid_url``); the bearer secret is the only
  credential that is sent.
* Unless :attr:`OutboundPolicy.allow_private` is set, the service never
  connects to a non-public address (``refused_address``): private, loopback,
  link-local, multicast, reserved, unspecified and shared (100.64.0.0/10)
  ranges, IPv4 and IPv6, with IPv4-mapped and 6to4/Teredo IPv6 judged by the
  IPv4 address they carry.  The check runs twice: literal IP hosts are judged
  before any request (aiohttp 3.14 never hands an IP literal to the resolver),
  and every address a host name resolves to is filtered inside aiohttp's
  connection path by :class:`AddressGuardResolver`, so a DNS answer that
  changes between a check and the connect (DNS rebinding) cannot reach an
  internal address.
* Redirects are followed by hand and only within the original scheme, host
  and port (``redirect_refused`` otherwise), so the ``Authorization`` header
  never reaches another origin.
  A redirect back to a URL already visited is named a loop (``redirect_loop``).
* Time (``timeout``) and body size (``too_large``) are bounded.
* A 2xx body labelled with a Content-Type the webhook would answer 415 to is
  refused (``unsupported_media_type``), by the webhook's own rule
  (``application/media_types.py``). An error status's ``Retry-After`` is
  passed on, so that the scheduler can honour it.
* ``check_pull_url`` applies the same URL and address rules without
  fetching, so that an endpoint is refused when it is added, not at its
  first sync.
* The secret is sent only in the ``Authorization`` header.  It never appears
  in an error message: messages name the origin (never the path or query,
  which may carry tokens), and a server that echoes the secret back in an
  error body has it redacted from the quoted snippet.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, NamedTuple

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from application.media_types import is_json_media_type
from application.ports.pull import PullFetchError

__all__ = [
    "AddressGuardResolver",
    "AiohttpPullSource",
    "OutboundPolicy",
    "PullFetchError",
    "RefusedAddressError",
    "check_pull_url",
    "is_public_address",
]

_ALLOWED_SCHEMES: Final = frozenset({"http", "https"})
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_ALLOWED_METHODS: Final = frozenset({"GET", "POST"})
# Characters that would let a secret split or truncate the header it is sent in.
_FORBIDDEN_SECRET_CHARS: Final = frozenset("\r\n\x00")
_SNIPPET_CHARS: Final = 200
# A UTF-8 character is at most 4 bytes: reading this many bytes (plus the
# secret's length) guarantees that a secret starting inside the quoted
# characters is read whole, so it is redacted rather than quoted half-cut.
_SNIPPET_BYTES: Final = 4 * _SNIPPET_CHARS
_READ_CHUNK_BYTES: Final = 64 * 1024
_REDACTED: Final = "[redacted]"
_SHARED_ADDRESS_SPACE: Final = ipaddress.IPv4Network("100.64.0.0/10")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class OutboundPolicy:
    """Limits of every outbound pull request.

    ``allow_private`` (``WMS_INTAKE_PULL_ALLOW_PRIVATE``) lifts the
    non-public-address guard; it exists for tests and for WMSs on the same
    private network, and must stay off on a multi-tenant deployment.
    ``total_timeout`` bounds a whole fetch including redirects;
    ``connect_timeout`` bounds each TCP connect.
    """

    allow_private: bool = False
    connect_timeout: float = 5.0
    total_timeout: float = 30.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "wms-intake/0.1 (+order pull)"

    def __post_init__(self) -> None:
        if self.connect_timeout <= 0 or self.total_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")


def is_public_address(address: IPAddress | str) -> bool:
    """Whether the service may connect to ``address`` when private ones are refused.

    An address is public only when it is globally routable and in none of the
    private, loopback, link-local, multicast, reserved, unspecified or shared
    ranges.  IPv6 addresses that carry an IPv4 address (IPv4-mapped, 6to4,
    Teredo) are also judged by that IPv4 address, because the packet may end up
    there.  A string that is not an IP address is not public.
    """
    if isinstance(address, str):
        try:
            address = ipaddress.ip_address(address)
        except ValueError:
            return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            # The socket connects to the mapped IPv4 address itself; the
            # IPv6 wrapper's own classification (::/8 is reserved) is moot.
            return is_public_address(address.ipv4_mapped)
        embedded = [address.sixtofour]
        if address.teredo is not None:
            embedded.extend(address.teredo)
        if any(v4 is not None and not is_public_address(v4) for v4 in embedded):
            return False
    elif address in _SHARED_ADDRESS_SPACE:
        return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


class _Fetch(NamedTuple):
    """What stays the same across the requests of one fetch (its redirects)."""

    session: aiohttp.ClientSession
    headers: dict[str, str]
    secret: str
    #: The URL the fetch started from (a redirect may only stay on its origin).
    original: URL


class RefusedAddressError(OSError):
    """A host resolved only to addresses the outbound policy refuses.

    An ``OSError`` so that aiohttp wraps it like any other resolution failure
    (in ``ClientConnectorDNSError.os_error``), where the fetch recognises it.
    """


class AddressGuardResolver(AbstractResolver):
    """aiohttp resolver that drops every non-public address it resolves.

    Runs inside aiohttp's connection path, so the addresses it returns are the
    ones aiohttp connects to: no second lookup can swap in an internal address
    (DNS rebinding).  Raises :class:`RefusedAddressError` when no public
    address is left.
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner: AbstractResolver = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        resolved = await self._inner.resolve(host, port, family)
        allowed = [result for result in resolved if is_public_address(result["host"])]
        if not allowed:
            raise RefusedAddressError(f"{host} resolves only to non-public addresses")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class AiohttpPullSource:
    """Fetches a WMS's order payload.

    One instance per process; owns an ``aiohttp.ClientSession`` created lazily
    by the first fetch and closed by :meth:`close` (a later fetch opens a new
    one).  The session keeps no cookies and ignores proxy environment
    variables: one session serves every customer, and a proxy would make the
    address guard judge the proxy instead of the WMS.
    """

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._session: aiohttp.ClientSession | None = None
        self._resolver: AbstractResolver | None = None

    async def fetch(self, url: str, method: str, secret: str, updated_since: str | None) -> bytes:
        """Fetch ``url`` and return the raw response body.

        ``method`` is ``"GET"`` (``updatedSince`` added as a query parameter)
        or ``"POST"`` (JSON body ``{}`` or ``{"updatedSince": ...}``).  An
        empty ``secret`` sends no ``Authorization`` header.  Raises
        :class:`PullFetchError` for every failure of the URL, the network or
        the response, and ``ValueError`` for a method other than GET/POST or a
        secret that cannot be sent in a header (a configuration bug, not a
        fetch failure).
        """
        verb = method.upper()
        if verb not in _ALLOWED_METHODS:
            raise ValueError(f"pull method must be GET or POST, not {method!r}")
        if _FORBIDDEN_SECRET_CHARS.intersection(secret):
            raise ValueError("the pull secret contains characters not allowed in an HTTP header")

        target = _parse_pull_url(url)
        if not self._policy.allow_private:
            _refuse_non_public_literal(target)
        _refuse_ambiguous_literal(target)

        headers = {"Accept": "application/json", "User-Agent": self._policy.user_agent}
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        body: dict[str, str] | None = None
        if verb == "GET":
            if updated_since is not None:
                target = target.update_query(updatedSince=updated_since)
        else:
            body = {} if updated_since is None else {"updatedSince": updated_since}

        session = self._open_session()
        try:
            # One deadline for the whole fetch, redirects included; aiohttp's
            # own ClientTimeout bounds each single request as well.
            async with asyncio.timeout(self._policy.total_timeout):
                return await self._follow_redirects(_Fetch(session, headers, secret, target), verb, body)
        except TimeoutError as exc:
            raise PullFetchError(
                "timeout", f"{_origin(target)} did not answer within {self._policy.total_timeout:g} s"
            ) from exc

    async def close(self) -> None:
        """Close the session and its resolver; safe to call more than once."""
        session, self._session = self._session, None
        resolver, self._resolver = self._resolver, None
        if session is not None:
            await session.close()
        # The connector does not own a resolver it was given, so close it here.
        if resolver is not None:
            await resolver.close()

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is not None and not self._session.closed:
            return self._session
        resolver: AbstractResolver = DefaultResolver() if self._policy.allow_private else AddressGuardResolver()
        self._resolver = resolver
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=resolver),
            timeout=aiohttp.ClientTimeout(total=self._policy.total_timeout, sock_connect=self._policy.connect_timeout),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self._session

    async def _follow_redirects(self, fetch: _Fetch, verb: str, body: dict[str, str] | None) -> bytes:
        target = current = fetch.original
        visited = {(verb, str(current))}
        # One exchange for the original request plus one per allowed redirect.
        for _ in range(self._policy.max_redirects + 1):
            outcome = await self._exchange(fetch, current, verb, body)
            if isinstance(outcome, bytes):
                return outcome
            status, current = outcome
            if status == 303:
                verb, body = "GET", None
            if (verb, str(current)) in visited:
                raise PullFetchError(
                    "redirect_loop",
                    f"{_origin(target)} redirected in a loop: back to a URL it had already redirected from",
                    status=status,
                )
            visited.add((verb, str(current)))
        raise PullFetchError(
            "redirect_refused", f"{_origin(target)} redirected more than {self._policy.max_redirects} times"
        )

    async def _exchange(
        self, fetch: _Fetch, url: URL, verb: str, body: dict[str, str] | None
    ) -> bytes | tuple[int, URL]:
        """One request: the body on 2xx, or (status, next URL) on a redirect."""
        origin = _origin(url)
        try:
            async with fetch.session.request(
                verb, url, headers=fetch.headers, json=body, allow_redirects=False
            ) as response:
                if response.status in _REDIRECT_STATUSES:
                    return response.status, _redirect_target(response, url, fetch.original)
                if not 200 <= response.status < 300:
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    snippet = await _error_snippet(response, fetch.secret)
                    response.close()
                    raise PullFetchError(
                        "http_status",
                        f"{origin} answered HTTP {response.status}" + (f": {snippet}" if snippet else ""),
                        status=response.status,
                        retry_after=retry_after,
                    )
                content_type = response.headers.get("Content-Type")
                if not is_json_media_type(content_type):
                    response.close()
                    raise PullFetchError(
                        "unsupported_media_type",
                        f"{origin} answered with Content-Type {_printable(content_type or '', 80)!r},"
                        " which the webhook would refuse with 415; send the orders as application/json",
                        status=response.status,
                    )
                return await self._read_capped(response, origin)
        except (PullFetchError, TimeoutError):
            # ServerTimeoutError is both a ClientError and a TimeoutError;
            # fetch() turns every timeout into one "timeout" error.
            raise
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddressError):
                raise PullFetchError("refused_address", f"{origin} resolves only to non-public addresses") from exc
            raise PullFetchError("unreachable", f"cannot connect to {origin}: {_reason(exc)}") from exc
        except aiohttp.InvalidURL as exc:
            raise PullFetchError("invalid_url", f"aiohttp rejected the URL for {origin}") from exc
        except aiohttp.ClientError as exc:
            raise PullFetchError("unreachable", f"exchange with {origin} failed: {type(exc).__name__}") from exc

    async def _read_capped(self, response: aiohttp.ClientResponse, origin: str) -> bytes:
        limit = self._policy.max_body_bytes
        declared = response.content_length
        if declared is not None and declared > limit:
            response.close()
            raise PullFetchError(
                "too_large", f"{origin} announced {declared} bytes; the limit is {limit}", status=response.status
            )
        # Counted while streaming too: a chunked response announces no length,
        # and the count is of decompressed bytes, which also caps a gzip bomb.
        received = bytearray()
        async for chunk in response.content.iter_chunked(_READ_CHUNK_BYTES):
            received.extend(chunk)
            if len(received) > limit:
                response.close()
                raise PullFetchError("too_large", f"{origin} sent more than {limit} bytes", status=response.status)
        return bytes(received)


def check_pull_url(url: str, *, allow_private: bool) -> list[str]:
    """Judge ``url`` by the rules a fetch applies, without fetching.

    Raises ``PullFetchError`` (``invalid_url`` or ``refused_address``) for a
    URL a sync would refuse. A host name is resolved when private addresses
    are refused: one that resolves only to refused addresses is refused; one
    that does not resolve (yet) is accepted with a warning, since DNS may be
    set up after the endpoint. Returns the warnings.
    """
    target = _parse_pull_url(url)
    if not allow_private:
        _refuse_non_public_literal(target)
    _refuse_ambiguous_literal(target)
    host = target.host
    assert host is not None
    if allow_private or _literal_address(host) is not None:
        return []
    try:
        resolved = socket.getaddrinfo(host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return [f"{host} does not resolve now; the sync will fail until it does"]
    # An IPv4 or IPv6 socket address starts with the address as text; no other
    # family counts as public.
    addresses = {info[4][0] for info in resolved if isinstance(info[4][0], str)}
    if not any(is_public_address(address.split("%", 1)[0]) for address in addresses):
        raise PullFetchError("refused_address", f"{_origin(target)} resolves only to non-public addresses")
    return []


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delay-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value[:12]), 10**9))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _printable(text: str, limit: int) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text[:limit])


def _parse_pull_url(url: str) -> URL:
    try:
        parsed = URL(url)
        host = parsed.host
        scheme = parsed.scheme
        # Reading the port validates it (yarl raises on an out-of-range port).
        port = parsed.port
    except (TypeError, ValueError):
        # Chaining would put yarl's message, which quotes the URL, in tracebacks.
        raise PullFetchError("invalid_url", "the pull URL cannot be parsed") from None
    if scheme not in _ALLOWED_SCHEMES:
        raise PullFetchError("invalid_url", "the pull URL must use http or https")
    if not parsed.absolute or not host or port is None:
        raise PullFetchError("invalid_url", "the pull URL must name a host")
    if parsed.user is not None or parsed.password is not None:
        raise PullFetchError("invalid_url", "the pull URL must not contain credentials; the secret is sent separately")
    return parsed.with_fragment(None)


def _literal_address(host: str) -> tuple[IPAddress, bool] | None:
    """The IP address a host literally denotes and whether it is written canonically.

    ``None`` for a host name.  Legacy numeric IPv4 forms (``2130706433``,
    ``127.1``, ``0x7f.0.0.1``, ``017.0.0.1``) are decoded the way the C
    library would, because that is where a connection would go.
    """
    try:
        return ipaddress.ip_address(host), True
    except ValueError:
        pass
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return None
    return ipaddress.IPv4Address(packed), False


def _refuse_non_public_literal(url: URL) -> None:
    host = url.host
    assert host is not None
    literal = _literal_address(host)
    if literal is None:
        # A host name: AddressGuardResolver judges what it resolves to.
        return
    address, _ = literal
    if not is_public_address(address):
        raise PullFetchError("refused_address", f"{_origin(url)} is not a public address")


def _refuse_ambiguous_literal(url: URL) -> None:
    host = url.host
    assert host is not None
    literal = _literal_address(host)
    if literal is not None and not literal[1]:
        # Readers disagree on these forms (017 is octal to the C library),
        # a classic way to slip an address past a check: accept none of them.
        raise PullFetchError("invalid_url", "the pull URL's host is a non-canonical IPv4 address")


def _redirect_target(response: aiohttp.ClientResponse, current: URL, original: URL) -> URL:
    location = response.headers.get("Location")
    if not location:
        raise PullFetchError(
            "http_status",
            f"{_origin(current)} answered HTTP {response.status} without a Location",
            status=response.status,
        )
    try:
        target = current.join(URL(location)).with_fragment(None)
        same_origin = _origin_key(target) == _origin_key(original)
    except (TypeError, ValueError):
        raise PullFetchError(
            "redirect_refused", f"{_origin(current)} redirected to an unparseable Location", status=response.status
        ) from None
    if not same_origin:
        raise PullFetchError(
            "redirect_refused",
            f"{_origin(current)} redirected to another origin ({_origin(target)});"
            " only same-origin redirects are followed",
            status=response.status,
        )
    if target.user is not None or target.password is not None:
        raise PullFetchError(
            "redirect_refused", f"{_origin(current)} redirected to a URL with credentials", status=response.status
        )
    return target


def _origin_key(url: URL) -> tuple[str, str, int | None]:
    return url.scheme, (url.host or "").lower(), url.port


def _origin(url: URL) -> str:
    """scheme://host[:port] of ``url``: what error messages may name."""
    try:
        return str(url.origin())
    except ValueError:
        return "the pull URL"


def _reason(exc: aiohttp.ClientConnectorError) -> str:
    error = exc.os_error
    return error.strerror or type(error).__name__


async def _error_snippet(response: aiohttp.ClientResponse, secret: str) -> str:
    """At most ``_SNIPPET_CHARS`` printable characters of an error body, secret redacted."""
    wanted = _SNIPPET_BYTES + len(secret.encode())
    raw = bytearray()
    try:
        while len(raw) < wanted:
            chunk = await response.content.read(wanted - len(raw))
            if not chunk:
                break
            raw.extend(chunk)
    except aiohttp.ClientError:
        # The status is the error; a body that cannot be read adds nothing.
        pass
    text = raw.decode("utf-8", errors="replace")
    if secret:
        text = text.replace(secret, _REDACTED)
    text = text[:_SNIPPET_CHARS]
    # One line of printable text: the message goes into logs.
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if secret:
        text = text.replace(secret, _REDACTED)
    return text
