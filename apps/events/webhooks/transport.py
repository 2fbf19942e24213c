"""The edge to merchants' webhook receivers: which URLs we may call, and calling them.

No Django and no database here: the delivery service passes in what it needs and stores what
comes back. Two rules keep a merchant from turning fincore against its own network:

- an endpoint's host must resolve only to public addresses (unless private networks are
  allowed, in development and tests), checked when the endpoint is saved *and* again at each
  delivery, since DNS may answer differently later (rebinding); an IPv6 address that carries an
  IPv4 address (IPv4-mapped or -compatible, 6to4, Teredo, NAT64) is refused when that one is not
  public, and Teredo, IPv4-compatible and local-use NAT64 addresses are refused in any case;
- the request goes to the very address that was checked (the connection is made to that IP,
  with the URL's host in ``Host`` and, for https, in SNI and the certificate check), and
  redirects are never followed.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.ssl_match_hostname import CertificateError

CONNECT_TIMEOUT_SECONDS = 5.0
TOTAL_TIMEOUT_SECONDS = 10.0
# What is kept of a receiver's answer: enough to see an error message, not a whole page.
RESPONSE_EXCERPT_CHARS = 1000
_RESPONSE_READ_BYTES = 4 * RESPONSE_EXCERPT_CHARS
MAX_URL_LENGTH = 2048
USER_AGENT = "fincore-webhooks/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(Exception):
    """The URL may not be called; the message says why, for the merchant."""


@dataclass(frozen=True)
class WebhookResponse:
    """What one POST came to: a status (any, 3xx included: redirects are not followed) or an error."""

    status: int | None
    body_excerpt: str
    error: str
    duration_ms: int
    address: str

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    host_header: str


def _target(url: str, *, require_https: bool) -> _Target:
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as malformed:
        raise UrlRefused(f"The URL is malformed: {malformed}.") from malformed
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused("The URL must start with https:// (or http:// in test mode).")
    if require_https and scheme != "https":
        raise UrlRefused("Live-mode endpoints must use https://.")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("The URL must not contain a user name or password; authenticate requests by their signature.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host.")
    if any(character.isspace() for character in url):
        raise UrlRefused("The URL contains whitespace.")
    default_port = 443 if scheme == "https" else 80
    port = port or default_port
    host = parts.hostname
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if port == default_port else f"{shown_host}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme=scheme, host=host, port=port, path=path, host_header=host_header)


def _kind_refused(address: IPAddress) -> str | None:
    """What kind of non-public address ``address`` is ("a loopback address"), or None if public."""
    if address.is_unspecified or address.is_multicast:
        return "an address that is not public"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "an address that is not public"
    return None


@dataclass(frozen=True)
class _Embedding:
    """An IPv4 address an IPv6 address carries. Where the IPv4 address is the destination (a
    dual-stack socket, a 6to4 relay, a NAT64 gateway take the packets there), it alone decides;
    otherwise ``refused`` says why the IPv6 address is refused even when the IPv4 one is public."""

    form: str
    ipv4: ipaddress.IPv4Address
    refused: str | None = None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedding(address: ipaddress.IPv6Address) -> _Embedding | None:
    last_32_bits = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return _Embedding("an IPv4-mapped address", address.ipv4_mapped)
    if address.sixtofour is not None:
        return _Embedding("a 6to4 address", address.sixtofour)
    if address in _NAT64:
        return _Embedding("a NAT64 address", last_32_bits)
    if address.teredo is not None:
        # The client's address (stored XORed with ones) is where the packets go; not the server's.
        _server, client = address.teredo
        return _Embedding("a Teredo address", client, refused="a tunnel to a host behind a NAT")
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # :: and ::1 are themselves
        return _Embedding("an IPv4-compatible address", last_32_bits, refused="a form no longer in use")
    return None


def _address_refusal(address_text: str) -> str | None:
    """Why fincore may not call ``address_text`` (an IP address, possibly with a zone), worded to
    follow "resolves to", or None if it may."""
    address = ipaddress.ip_address(address_text.split("%", 1)[0])
    if address in _NAT64_LOCAL_USE:
        # Where its IPv4 address sits depends on the network's own translator (RFC 6052 allows
        # several layouts), so which one it reaches cannot be known here.
        return f"{address_text}, a local-use NAT64 address, translated by a network of its own"
    embedding = _embedding(address) if isinstance(address, ipaddress.IPv6Address) else None
    if embedding is None:
        kind = _kind_refused(address)
        return f"{kind} ({address_text})" if kind else None
    kind = _kind_refused(embedding.ipv4)
    if kind:
        return f"{address_text}, {embedding.form} embedding {kind} ({embedding.ipv4})"
    if embedding.refused:
        return f"{address_text}, {embedding.form}, {embedding.refused}"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests replace this to play DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses to call for ``host``: all of them public, unless ``allow_private``.

    A host with any non-public address is refused altogether (an attacker's DNS may list a
    public address first and a private one second). Raises UrlRefused.
    """
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as unresolved:
            raise UrlRefused(f"The host {host!r} could not be resolved.") from unresolved
        if not addresses:
            raise UrlRefused(f"The host {host!r} could not be resolved.")
    if not allow_private:
        for address in addresses:
            refusal = _address_refusal(address)
            if refusal:
                raise UrlRefused(f"The host {host!r} resolves to {refusal}; use a public address.")
    return addresses


def url_check(url: str, *, require_https: bool, allow_private: bool) -> None:
    """Raise UrlRefused unless fincore may deliver to ``url``."""
    target = _target(url, require_https=require_https)
    checked_addresses(target.host, target.port, allow_private=allow_private)


def _error_text(error: BaseException, *, connect_timeout: float, total_timeout: float) -> str:
    # NewConnectionError is a ConnectTimeoutError in urllib3: tell them apart first.
    if isinstance(error, NewConnectionError):
        return f"could not connect: {error.__context__ or error}"[:500]
    if isinstance(error, ConnectTimeoutError):
        return f"timed out connecting (after {connect_timeout:g} s)"
    if isinstance(error, ReadTimeoutError | TimeoutError):
        return f"timed out waiting for the response (after {total_timeout:g} s in all)"
    if isinstance(error, SSLError | ssl.SSLError | CertificateError):
        return f"TLS failed: {error}"[:500]
    if isinstance(error, ProtocolError | http.client.HTTPException | ConnectionError):
        return f"the connection broke: {error!r}"[:500]
    return f"request failed: {error!r}"[:500]


def _read_excerpt(response: urllib3.BaseHTTPResponse, deadline: float) -> str:
    chunks: list[bytes] = []
    size = 0
    while size < _RESPONSE_READ_BYTES and time.monotonic() < deadline:
        chunk = response.read(min(1024, _RESPONSE_READ_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")[:RESPONSE_EXCERPT_CHARS]


def post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    require_https: bool,
    allow_private: bool,
    connect_timeout: float | None = None,
    total_timeout: float | None = None,
) -> WebhookResponse:
    """POST ``body`` to ``url`` once: no retries, no redirects, bounded in time (by default
    CONNECT_TIMEOUT_SECONDS to connect, TOTAL_TIMEOUT_SECONDS in all). Never raises for what
    the network or the receiver does; raises UrlRefused if ``url`` may not be called (then
    nothing was sent)."""
    connect_timeout = CONNECT_TIMEOUT_SECONDS if connect_timeout is None else connect_timeout
    total_timeout = TOTAL_TIMEOUT_SECONDS if total_timeout is None else total_timeout
    target = _target(url, require_https=require_https)
    address = checked_addresses(target.host, target.port, allow_private=allow_private)[0]
    tls: dict[str, object] = {}
    connection_class: type[HTTPConnection] = HTTPConnection
    if target.scheme == "https":
        # The checked address is dialled, but TLS (SNI and the certificate check) is for the URL's host.
        connection_class = HTTPSConnection
        tls = {"server_hostname": target.host, "assert_hostname": target.host, "cert_reqs": "CERT_REQUIRED"}
    request_headers = {
        "Host": target.host_header, "User-Agent": USER_AGENT, "Content-Type": "application/json",
        "Connection": "close", **headers,
    }
    connection = connection_class(address, target.port, timeout=connect_timeout, **tls)  # type: ignore[arg-type]
    started = time.monotonic()
    deadline = started + total_timeout
    # Socket timeouts bound each read, not the whole exchange: a receiver trickling its answer a
    # byte at a time would hold the worker. At the deadline the watchdog shuts the socket.
    out_of_time = threading.Event()

    def _abandon() -> None:
        out_of_time.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(total_timeout, _abandon)
    watchdog.daemon = True
    watchdog.start()
    status: int | None = None
    excerpt = ""
    error = ""
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        connection.request("POST", target.path, body=body, headers=request_headers, preload_content=False)
        response = connection.getresponse()
        status = response.status
        with contextlib.suppress(HTTPError, OSError, http.client.HTTPException):
            # The status is what counts; a body cut short only shortens the excerpt.
            excerpt = _read_excerpt(response, deadline)
    except (HTTPError, OSError, http.client.HTTPException, CertificateError) as failed:
        status = None
        error = _error_text(failed, connect_timeout=connect_timeout, total_timeout=total_timeout)
        if out_of_time.is_set():
            error = f"timed out waiting for the response (after {total_timeout:g} s in all)"
    finally:
        watchdog.cancel()
        connection.close()
    duration_ms = int((time.monotonic() - started) * 1000)
    return WebhookResponse(status=status, body_excerpt=excerpt, error=error, duration_ms=duration_ms, address=address)
