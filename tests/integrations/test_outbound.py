"""User-given base URLs: the check of what a person types, and the session that connects only to
checked addresses (integrations/outbound.py).

DNS is a table (``dns``); names not in it do not exist. The session tests talk to a real server
on 127.0.0.1 (``realserver``: no ``responses`` in between), and tests/conftest.py lets sockets
connect to loopback only, so an attempt to reach any other address fails there and is recorded.
"""

import ipaddress
import socket

import pytest
import requests
from django.db import transaction

from integrations import outbound, transport, txguard
from integrations.addresses import (
    INVALID_URL,
    NO_PROXY,
    NOT_HTTPS,
    UNRESOLVABLE,
    UNSAFE,
    USER_INFO,
)
from integrations.exceptions import IntegrationError, ProviderUnavailable
from integrations.outbound import RefusedAddress, UnsafeAddress, check_base_url, safe_session
from tests.loopback_server import LoopbackServer, self_signed

pytestmark = pytest.mark.realserver

PUBLIC_IP = "93.184.215.14"


class FakeDNS:
    """``socket.getaddrinfo`` from a table: each name has a list of answers, used in turn (the
    last one repeats), like a rebinding server changing its answer after the first lookup."""

    def __init__(self):
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.lookups.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET,
                 socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port)) for ip in answer]


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def connects(monkeypatch):
    """Every address a socket connects to, in order (then the conftest's loopback-only rule)."""
    seen = []
    guarded = socket.socket.connect

    def record(sock, address):
        seen.append(address[:2])
        return guarded(sock, address)

    monkeypatch.setattr(socket.socket, "connect", record)
    return seen


@pytest.fixture
def allow(settings):
    def use(*entries):
        settings.THINKALIKE_OUTBOUND_ALLOW = list(entries)
    use()
    return use


def refused(url: str) -> str:
    with pytest.raises(UnsafeAddress) as caught:
        check_base_url(url)
    assert isinstance(caught.value, IntegrationError)
    return caught.value.message


# What a person types


@pytest.mark.parametrize(("typed", "normal"), [
    ("https://api.example.com", "https://api.example.com/"),
    ("  HTTPS://API.Example.COM./v1  ", "https://api.example.com/v1/"),
    ("https://api.example.com:443/v1/", "https://api.example.com/v1/"),
    ("https://api.example.com:8443/v1", "https://api.example.com:8443/v1/"),
    ("https://0x5d.0xb8.0xd7.0x0e/", f"https://{PUBLIC_IP}/"),
    ("https://1572394766/api", f"https://{PUBLIC_IP}/api/"),
    ("https://[2606:2800:220:1:248:1893:25C8:1946]:8443/api",
     "https://[2606:2800:220:1:248:1893:25c8:1946]:8443/api/"),
])
def test_a_public_https_address_is_accepted_and_normalised(dns, allow, typed, normal):
    dns.answers["api.example.com"] = [[PUBLIC_IP, "2606:2800:220:1:248:1893:25c8:1946"]]
    assert check_base_url(typed) == normal


@pytest.mark.parametrize(("typed", "message"), [
    ("http://api.example.com/", NOT_HTTPS),  # public, but not https
    ("ftp://api.example.com/", NOT_HTTPS),
    ("api.example.com", NOT_HTTPS),
    ("https://user:secret@api.example.com/", USER_INFO),
    ("https://user@api.example.com/", USER_INFO),
    ("https://api.example.com/#top", INVALID_URL),
    ("https://api.example.com/#", INVALID_URL),
    ("https://api.example.com/?key=1", INVALID_URL),
    ("https:///v1", INVALID_URL),
    ("https://api.example.com:0/", INVALID_URL),
    ("https://api.example.com:99999/", INVALID_URL),
    ("https://api.example.com\\@127.0.0.1/", INVALID_URL),
    ("https://api.exa mple.com/", INVALID_URL),
    ("https://api.example.com/" + "a" * 2048, INVALID_URL),
    ("https://999.1.1.1/", INVALID_URL),
    ("https://nowhere.example/", UNRESOLVABLE),
])
def test_malformed_urls_are_refused(dns, allow, typed, message):
    dns.answers["api.example.com"] = [[PUBLIC_IP]]
    assert refused(typed) == message


@pytest.mark.parametrize("typed", [
    "https://127.0.0.1/", "https://2130706433/", "https://0177.0.0.1/", "https://0x7f.1/",
    "https://127.1/", "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://[::7f00:1]/",
    "https://\uff10x7f.1/", "https://localhost./", "https://localhost/", "https://10.0.0.5/",
    "https://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/",
    "https://100.100.100.200/", "https://[64:ff9b::a9fe:a9fe]/", "https://[fe80::1]/",
    "https://internal.example/", "https://mixed.example/", "https://v6only.example/",
])
def test_private_and_reserved_addresses_are_refused(dns, allow, typed):
    dns.answers["localhost"] = [["127.0.0.1", "::1"]]
    dns.answers["internal.example"] = [["10.0.0.5"]]
    dns.answers["mixed.example"] = [[PUBLIC_IP, "192.168.1.10"]]  # one bad address is enough
    dns.answers["v6only.example"] = [["fd12::5"]]
    assert refused(typed) == UNSAFE


def test_numeric_hosts_are_judged_as_addresses_not_looked_up(dns, allow):
    assert refused("https://2130706433/") == UNSAFE
    assert refused("https://0x7f.1/") == UNSAFE
    assert dns.lookups == []


def test_an_allowed_host_name_is_exempt_and_may_use_http(dns, allow):
    dns.answers["api.test"] = [["127.0.0.1"]]
    dns.answers["other.test"] = [["127.0.0.1"]]
    allow("API.test.")
    assert check_base_url("http://api.test:8080/v1") == "http://api.test:8080/v1/"
    assert refused("https://other.test/") == UNSAFE  # the name is allowed, not the address


def test_an_allowed_network_is_exempt_and_may_use_http(dns, allow):
    dns.answers["internal.test"] = [["10.1.2.3"]]
    dns.answers["straddles.test"] = [["10.1.2.3", "192.168.0.1"]]
    allow("10.0.0.0/8", "fd00::/8")
    assert check_base_url("http://internal.test/") == "http://internal.test/"
    assert check_base_url("https://0xa.1/") == "https://10.0.0.1/"
    assert check_base_url("https://[fd12::1]/api") == "https://[fd12::1]/api/"
    assert refused("https://straddles.test/") == UNSAFE
    assert refused("https://192.168.0.1/") == UNSAFE


def test_an_allowed_network_does_not_allow_http_to_public_addresses(dns, allow):
    dns.answers["api.example.com"] = [[PUBLIC_IP]]
    allow("10.0.0.0/8")
    assert refused("http://api.example.com/") == NOT_HTTPS


@pytest.mark.django_db
def test_the_lookup_is_never_made_inside_a_transaction(dns, allow):
    dns.answers["api.example.com"] = [[PUBLIC_IP]]
    with pytest.raises(txguard.NetworkInTransaction), transaction.atomic():
        check_base_url("https://api.example.com/")
    assert dns.lookups == []
    txguard.violations.clear()  # seen and expected here; the suite fails any other


# The session


def test_session_sends_the_project_user_agent_and_ignores_the_environment(settings):
    session = safe_session()
    assert session.headers["User-Agent"] == settings.THINKALIKE_USER_AGENT
    assert session.trust_env is False


def test_connects_to_the_checked_address_with_the_host_header_unchanged(dns, connects, allow):
    # Both answers pass the check; only pinning makes the request reach the server: a second
    # lookup would connect to 127.0.0.2, where nothing listens.
    dns.answers["api.test"] = [["127.0.0.1"], ["127.0.0.2"]]
    allow("127.0.0.0/8")
    with LoopbackServer() as server:
        response = safe_session().get(f"http://api.test:{server.port}/hello", timeout=5)
    assert response.status_code == 200
    assert dns.lookups == ["api.test"]
    assert connects == [("127.0.0.1", server.port)]
    [(path, headers)] = server.seen.requests
    assert path == "/hello"
    assert headers["Host"] == f"api.test:{server.port}"
    assert headers["User-Agent"].startswith("ThinkAlike")


def test_each_connection_judges_its_own_lookup_no_rebinding(dns, connects, allow):
    dns.answers["rebind.example"] = [[PUBLIC_IP], ["127.0.0.1"]]
    # The first lookup answers a public address: that very address is connected to (and the
    # test's loopback-only rule stops it there).
    with pytest.raises(requests.ConnectionError) as first:
        safe_session().get("https://rebind.example/", timeout=5)
    assert not isinstance(first.value, RefusedAddress)
    assert connects == [(PUBLIC_IP, 443)]
    # The name now answers loopback: refused before any socket connects.
    with pytest.raises(RefusedAddress) as second:
        safe_session().get("https://rebind.example/", timeout=5)
    assert second.value.unsafe.message == UNSAFE
    assert connects == [(PUBLIC_IP, 443)]
    assert dns.lookups == ["rebind.example", "rebind.example"]


def test_a_url_checked_while_public_is_refused_once_it_resolves_to_loopback(dns, connects, allow):
    dns.answers["rebind.example"] = [[PUBLIC_IP], ["127.0.0.1"]]
    assert check_base_url("https://rebind.example/") == "https://rebind.example/"
    with pytest.raises(RefusedAddress):
        safe_session().get("https://rebind.example/", timeout=5)
    assert connects == []


@pytest.mark.parametrize(("url", "message"), [
    ("https://2130706433/", UNSAFE),
    ("https://[::ffff:127.0.0.1]/", UNSAFE),
    ("https://internal.example/", UNSAFE),
    ("http://public.example/", NOT_HTTPS),
])
def test_session_refuses_before_connecting(dns, connects, allow, url, message):
    dns.answers["internal.example"] = [["10.0.0.5"]]
    dns.answers["public.example"] = [[PUBLIC_IP]]
    with pytest.raises(RefusedAddress) as caught:
        safe_session().get(url, timeout=5)
    assert caught.value.unsafe.message == message
    assert message not in {str(type(caught.value)), "RefusedAddress"}
    assert connects == []


@pytest.mark.parametrize(("location", "message"), [
    ("https://internal.example/secret", UNSAFE),
    ("https://169.254.169.254/latest/meta-data/", UNSAFE),
    ("http://public.example/", NOT_HTTPS),  # to plain http, on a host nobody allowed
])
def test_redirects_are_checked_like_the_first_request(dns, connects, allow, location, message):
    dns.answers["api.test"] = [["127.0.0.1"]]
    dns.answers["internal.example"] = [["10.0.0.5"]]
    dns.answers["public.example"] = [[PUBLIC_IP]]
    allow("api.test")
    with (LoopbackServer({"/go": (302, {"Location": location})}) as server,
          pytest.raises(RefusedAddress) as caught):
        safe_session().get(f"http://api.test:{server.port}/go", timeout=5)
    assert caught.value.unsafe.message == message
    assert [path for path, _ in server.seen.requests] == ["/go"]
    assert connects == [("127.0.0.1", server.port)]


def test_a_redirect_to_an_allowed_address_is_followed(dns, allow):
    dns.answers["api.test"] = [["127.0.0.1"]]
    allow("api.test", "127.0.0.1/32")
    with LoopbackServer() as target, LoopbackServer(
            {"/go": (302, {"Location": f"http://127.0.0.1:{target.port}/there"})}) as origin:
        response = safe_session().get(f"http://api.test:{origin.port}/go", timeout=5)
    assert response.status_code == 200
    assert [path for path, _ in target.seen.requests] == ["/there"]
    assert target.seen.requests[0][1]["Host"] == f"127.0.0.1:{target.port}"


def test_a_redirect_to_another_origin_carries_no_credential_header(dns, allow):
    dns.answers["api.test"] = [["127.0.0.1"]]
    allow("api.test", "127.0.0.1/32")
    secret_headers = {"X-Api-Key": "key-0123456789", "Authorization": "Bearer token-0123456789",
                      "Accept": "application/json"}
    with LoopbackServer() as target, LoopbackServer({
            "/away": (302, {"Location": f"http://127.0.0.1:{target.port}/there"}),
            "/here": (302, {"Location": "/stay"})}) as origin:
        session = safe_session()
        session.get(f"http://api.test:{origin.port}/away", headers=secret_headers, timeout=5)
        session.get(f"http://api.test:{origin.port}/here", headers=secret_headers, timeout=5)
    [(_, elsewhere)] = target.seen.requests
    assert "X-Api-Key" not in elsewhere and "Authorization" not in elsewhere
    assert elsewhere["Accept"] == "application/json"
    assert elsewhere["User-Agent"].startswith("ThinkAlike")
    same_origin = dict(origin.seen.requests)["/stay"]
    assert same_origin["X-Api-Key"] == "key-0123456789"


def test_tls_names_the_host_while_connecting_to_the_pinned_address(dns, allow, tmp_path):
    dns.answers["api.test"] = [["127.0.0.1"]]
    dns.answers["wrong.test"] = [["127.0.0.1"]]
    allow("127.0.0.1/32")
    context, trusted = self_signed("api.test", tmp_path)
    with LoopbackServer(tls=context) as server:
        response = safe_session().get(f"https://api.test:{server.port}/tls", verify=str(trusted),
                                      timeout=5)
        assert response.status_code == 200
        assert server.seen.sni == ["api.test"]
        # The certificate is checked against the host name, not the address connected to.
        with pytest.raises(requests.exceptions.SSLError):
            safe_session().get(f"https://wrong.test:{server.port}/tls", verify=str(trusted),
                               timeout=5)
    assert [path for path, _ in server.seen.requests] == ["/tls"]


def test_proxies_are_refused(dns, connects, allow):
    dns.answers["api.example.com"] = [[PUBLIC_IP]]
    with pytest.raises(RefusedAddress) as caught:
        safe_session().get("https://api.example.com/", proxies={"https": "http://127.0.0.1:1"},
                           timeout=5)
    assert caught.value.unsafe.message == NO_PROXY
    assert connects == []


@pytest.mark.django_db
def test_send_reports_a_refused_address_as_unreachable(dns, connects, allow, no_sleep):
    dns.answers["internal.example"] = [["10.0.0.5"]]
    with pytest.raises(ProviderUnavailable) as caught:
        transport.send(safe_session(), "GET", "https://internal.example/items",
                       provider_slug="custom_api", connection_id=None, display_name="My API")
    assert caught.value.message == transport.UNREACHABLE.format(name="My API")
    assert connects == []
    assert no_sleep == []  # refused again on every attempt: not retried


def test_ipv6_connections_are_checked_too(dns, connects, allow):
    dns.answers["v6.example"] = [["2606:2800:220:1:248:1893:25c8:1946"], ["fd12::5"]]
    with pytest.raises(requests.ConnectionError) as first:
        safe_session().get("https://v6.example/", timeout=5)
    assert not isinstance(first.value, RefusedAddress)
    assert connects == [("2606:2800:220:1:248:1893:25c8:1946", 443)]
    with pytest.raises(RefusedAddress):
        safe_session().get("https://v6.example/", timeout=5)
    assert len(connects) == 1


def test_outbound_names_its_public_api():
    assert {"check_base_url", "safe_session", "is_public_address", "UnsafeAddress",
            "RefusedAddress"} <= set(outbound.__all__)
    assert issubclass(RefusedAddress, requests.ConnectionError)
