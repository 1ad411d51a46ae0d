"""Which addresses and host spellings a user-given base URL may use (integrations/addresses.py)."""

import pytest

from integrations.addresses import (
    INVALID_URL,
    METADATA,
    UnsafeAddress,
    is_public_address,
    normal_host,
)

REFUSED = [
    # IPv4: loopback, private, link-local, shared, this-network, multicast, reserved, broadcast
    "127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.1.1", "100.64.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250",
    "240.0.0.1", "255.255.255.255", "192.0.0.9",
    # benchmark, documentation, the old 6to4 relay anycast
    "198.18.0.1", "198.19.255.1", "192.0.2.1", "198.51.100.1", "203.0.113.1", "192.88.99.1",
    # cloud metadata
    "169.254.169.254", "100.100.100.200", "fd00:ec2::254",
    # IPv6: unspecified, loopback, link-local (with and without a zone), unique local,
    # multicast (global scope too), documentation, discard, site-local
    "::", "::1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1",
    "2001:db8::1", "3fff::1", "100::1", "fec0::1",
    # IPv4 inside IPv6: mapped, compatible, NAT64, 6to4, Teredo
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
    "::10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::5db8:d70e",
    "2002:7f00:1::", "2002:c0a8:101::1", "2002:5db8:d70e::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    # not an address at all
    "example.com", "", "1.2.3",
]

PUBLIC = [
    "93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111",
    "2606:2800:220:1:248:1893:25c8:1946",
    # the IPv4 inside is what is reached, and it is public
    "::ffff:93.184.215.14", "64:ff9b::5db8:d70e",
]


@pytest.mark.parametrize("ip", REFUSED)
def test_not_public(ip):
    assert is_public_address(ip) is False


@pytest.mark.parametrize("ip", PUBLIC)
def test_public(ip):
    assert is_public_address(ip) is True


def test_every_metadata_address_is_refused():
    assert METADATA and not any(is_public_address(ip) for ip in METADATA)


@pytest.mark.parametrize(("typed", "host"), [
    ("2130706433", "127.0.0.1"),  # decimal
    ("0177.0.0.1", "127.0.0.1"),  # octal
    ("0x7f.1", "127.0.0.1"),  # hex, short
    ("0X7F000001", "127.0.0.1"),
    ("127.1", "127.0.0.1"),  # short
    ("10.1", "10.0.0.1"),
    ("0x5d.0xb8.0xd7.0x0e", "93.184.215.14"),
    ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", "127.0.0.1"),  # full-width digits (IDNA maps them)
    ("LOCALHOST.", "localhost"),  # trailing dot and case
    ("Api.Example.COM", "api.example.com"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("[::FFFF:127.0.0.1]", "::ffff:7f00:1"),
    ("0:0:0:0:0:0:0:1", "::1"),
])
def test_normal_host(typed, host):
    assert normal_host(typed) == host


@pytest.mark.parametrize("typed", [
    "", ".", "a..b", "1.2.3.4.5", "256.1.1.1", "0x1g.1", "exa mple.com", "ex%61mple.com",
    "fe80::1%eth0", "::g", "a" * 64 + ".example", "x." * 130 + "example",
])
def test_normal_host_refuses(typed):
    with pytest.raises(UnsafeAddress) as caught:
        normal_host(typed)
    assert caught.value.message == INVALID_URL
