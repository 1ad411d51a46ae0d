"""Which addresses a user-given base URL may reach (DESIGN 5 and 7), and how a host is read.

Public unicast addresses only, unless ``THINKALIKE_OUTBOUND_ALLOW`` names the host or a network
holding the address: an operator's test server or internal API, which may also use plain http.
Every address a name resolves to is judged, never the name's text alone: the resolver reads
``2130706433`` and ``0x7f.1`` as 127.0.0.1. ``outbound`` builds the URL check and the session
on these rules.
"""

from __future__ import annotations

import ipaddress
import re
import socket

import idna
import requests
from django.conf import settings
from urllib3.util.connection import allowed_gai_family

from .exceptions import IntegrationError

# Messages people see; tests import them.
INVALID_URL = "This is not a web address we can use. Enter one like https://api.example.com/."
NOT_HTTPS = "The address must start with https://."
USER_INFO = "Leave any user name or password out of the address."
UNRESOLVABLE = "This address could not be found. Please check it."
UNSAFE = "This address leads to a private or reserved network, which we do not connect to."
NO_PROXY = "Requests to this address are not sent through a proxy."

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Spelled out rather than left to ``is_global``, whose answers change between Python versions.
BLOCKED_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20",
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    # 6to4 and Teredo (inside 2001::/23) whole: a relay someone else runs decides where the
    # packets go, and they may embed any IPv4 address. No API is served from them.
    "2002::/16",
))
# Cloud metadata services (AWS, AWS over IPv6, Alibaba): instance credentials live there.
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*")


class UnsafeAddress(IntegrationError):
    """A base URL, or a connection, that is refused: ``message`` says why, for people."""

    code = "unsafe_address"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a mapped, compatible or NAT64 IPv6 address reaches."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if int(address) >> 32 == 0 or address in NAT64:  # ::a.b.c.d (deprecated) or NAT64
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(ip: str | IPAddress) -> bool:
    """Whether ``ip`` is a public unicast address, judged by the IPv4 address it embeds if any."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
    return not (address in METADATA or any(address in net for net in BLOCKED_NETWORKS)
                or address.is_private or address.is_loopback or address.is_link_local
                or address.is_multicast or address.is_reserved or address.is_unspecified
                or not address.is_global)


def normal_host(host: str | None) -> str:
    """``host`` as it is judged and connected to: lower case, no trailing dot, IDNA, and any
    numeric IPv4 spelling (``2130706433``, ``0x7f.1``, ``0177.0.0.1``) as a dotted quad."""
    host = (host or "").strip("[]").lower().removesuffix(".")
    try:  # as requests encodes it (UTS 46 also maps full-width digits and dots)
        host = host if host.isascii() else idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise UnsafeAddress(INVALID_URL) from None
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeAddress(INVALID_URL) from None
        if address.scope_id:  # a zone (%eth0) only means something on the local link
            raise UnsafeAddress(INVALID_URL)
        return str(address)
    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        try:  # inet_aton reads these spellings as the resolver does
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            raise UnsafeAddress(INVALID_URL) from None
    if not _NAME.fullmatch(host):
        raise UnsafeAddress(INVALID_URL)
    return host


def _allowed() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """THINKALIKE_OUTBOUND_ALLOW, read at call time, as (host names, networks)."""
    names, networks = set(), []
    for entry in settings.THINKALIKE_OUTBOUND_ALLOW:
        entry = entry.strip().strip("[]").lower().removesuffix(".")
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry)
    return names, networks


def _addresses(host: str, port: int) -> list[tuple]:
    """``getaddrinfo`` for a name; an address literal is its own answer, without a lookup."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]


def resolve_checked(host: str, port: int, *, https: bool) -> list[tuple]:
    """``getaddrinfo`` results for ``host``, once, after every address has passed.

    Plain http is for allowed hosts only. Raises UnsafeAddress, or socket.gaierror."""
    host = normal_host(host)
    names, networks = _allowed()
    infos = _addresses(host, port)
    if not infos:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    if host in names:
        return infos
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        plain = getattr(address, "ipv4_mapped", None) or address
        if any(plain in net for net in networks):
            continue
        if not is_public_address(address):
            raise UnsafeAddress(UNSAFE)
        if not https:
            raise UnsafeAddress(NOT_HTTPS)
    return infos


class RefusedAddress(requests.ConnectionError):
    """How ``safe_session`` refuses a connection, so ``transport.send`` treats it as unreachable."""

    def __init__(self, unsafe: UnsafeAddress, **kwargs) -> None:
        super().__init__(unsafe.message, **kwargs)
        self.unsafe = unsafe
