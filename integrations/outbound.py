"""Requests to base URLs that people type: https to a public address only (DESIGN 5 and 7).

``check_base_url`` judges what the person typed; ``safe_session`` judges every connection again,
because DNS may answer differently by then (rebinding) and a redirect may point anywhere. Its
connections resolve the host once, judge every address (``addresses.resolve_checked``) and
connect to those very addresses; TLS (SNI, certificate) and the Host header still name the host.
A refused connection leaves ``session.request`` as ``RefusedAddress``, a
requests.ConnectionError (so ``transport.send`` reports the provider unreachable); its ``unsafe``
attribute is the UnsafeAddress saying why.
"""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from .addresses import (
    INVALID_URL,
    NO_PROXY,
    NOT_HTTPS,
    UNRESOLVABLE,
    USER_INFO,
    RefusedAddress,
    UnsafeAddress,
    is_public_address,
    normal_host,
    resolve_checked,
)
from .transport import new_session
from .txguard import check_no_transaction

__all__ = ["RefusedAddress", "UnsafeAddress", "check_base_url", "is_public_address",
           "safe_session"]

MAX_URL_LENGTH = 2048
def check_base_url(url: str) -> str:
    """The base URL a person typed, normalised, or UnsafeAddress saying what is wrong with it.

    Resolves the host (so never inside a transaction) and refuses it when any address is
    unsafe. It is the early answer for the form: the session checks again at every connection.
    """
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise UnsafeAddress(INVALID_URL)
    url = url.strip()
    if any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in url):
        raise UnsafeAddress(INVALID_URL)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeAddress(INVALID_URL) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeAddress(NOT_HTTPS)
    if "@" in parts.netloc:
        raise UnsafeAddress(USER_INFO)
    if not parts.hostname or port == 0 or parts.query or "#" in url:
        raise UnsafeAddress(INVALID_URL)
    host = normal_host(parts.hostname)
    default = 443 if scheme == "https" else 80
    check_no_transaction(f"DNS {host}")  # a lookup can take seconds, like a request
    try:
        resolve_checked(host, port or default, https=scheme == "https")
    except OSError:
        raise UnsafeAddress(UNRESOLVABLE) from None
    netloc = f"[{host}]" if ":" in host else host
    if port and port != default:
        netloc = f"{netloc}:{port}"
    path = parts.path if parts.path.endswith("/") else f"{parts.path}/"
    return urlunsplit((scheme, netloc, path, "", ""))


def _connect(infos: list[tuple], timeout, source_address, options) -> socket.socket:
    """A socket to the first of ``infos`` that answers: urllib3's create_connection without its
    own getaddrinfo, whose second answer could differ from the checked one."""
    error: OSError = OSError("no address to connect to")
    for family, socktype, proto, _name, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            for option in options or ():
                sock.setsockopt(*option)
            if timeout is None or isinstance(timeout, int | float):  # not urllib3's default
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error


class _PinnedMixin:
    """Replaces urllib3's ``_new_conn``: resolve once, check, connect to what was checked."""

    def _new_conn(self) -> socket.socket:
        https = isinstance(self, HTTPSConnection)
        try:
            infos = resolve_checked(self._dns_host, self.port, https=https)
            sock = _connect(infos, self.timeout, self.source_address, self.socket_options)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class _PinnedHTTPConnection(_PinnedMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class PinnedAdapter(HTTPAdapter):
    """An adapter whose connections are checked and pinned; no proxies (they would connect)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise UnsafeAddress(NO_PROXY)

    def send(self, request, *args, **kwargs) -> requests.Response:
        # UnsafeAddress is not an OSError, so urllib3 and requests let it through unwrapped.
        try:
            return super().send(request, *args, **kwargs)
        except UnsafeAddress as exc:
            raise RefusedAddress(exc, request=request) from None


def safe_session() -> requests.Session:
    """A session for user-given base URLs: every connection, redirects included, is checked.

    ``trust_env`` is off: an environment proxy would be connected to instead of the checked
    address, and ~/.netrc credentials must not go to an address a person typed."""
    session = new_session()  # it keeps credentials on their origin across redirects
    session.trust_env = False
    adapter = PinnedAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
