"""Fixtures shared by the whole suite.

No test reaches the network: every ``requests`` call goes through ``responses`` (an unmocked URL
raises ConnectionError), and sockets may only connect to loopback, which is where the
``realserver``/``browser`` tests run their own servers.
"""

import socket
from urllib.parse import urlsplit

import pytest
import requests
import responses
from hypothesis import settings as hypothesis_settings

from integrations import txguard

pytest_plugins = ["tests.sandbox_bridge", "tests.fake_clock"]

# Property tests check values, never speed: on a busy machine an example that takes longer than
# Hypothesis' default 200 ms deadline must not fail the suite.
hypothesis_settings.register_profile("thinkalike", deadline=None)
hypothesis_settings.load_profile("thinkalike")

_real_connect = socket.socket.connect


def _loopback_only_connect(sock, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (
        host.startswith("127.") or host in {"::1", "localhost"} or sock.family == socket.AF_UNIX
    ):
        return _real_connect(sock, address)
    raise OSError(f"network access in tests is not allowed: {address!r}")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _loopback_only_connect)


@pytest.fixture(autouse=True)
def _no_network_in_transaction(monkeypatch):
    """Fail any test that made an outbound request inside a database transaction.

    ``send()`` checks itself; this also covers requests made by libraries (allauth's token
    exchange and profile calls), and fails the test even when the code under test caught the
    NetworkInTransaction error.
    """
    real_send = requests.Session.send

    def guarded_send(session, prepared, **kwargs):
        txguard.check_no_transaction(f"{prepared.method} {urlsplit(prepared.url).hostname}")
        return real_send(session, prepared, **kwargs)

    monkeypatch.setattr(requests.Session, "send", guarded_send)
    txguard.violations.clear()
    yield
    found, txguard.violations[:] = list(txguard.violations), []
    assert not found, f"outbound requests inside a database transaction: {found}"


@pytest.fixture(autouse=True)
def mocked_responses(request):
    """Every test runs inside responses; tests add their mocks to this object.

    Tests marked ``realserver`` or ``browser`` talk to a real loopback server instead.
    """
    if request.node.get_closest_marker("realserver") or request.node.get_closest_marker("browser"):
        yield None
        return
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def no_sleep(monkeypatch):
    """Record the waits the HTTP client asks for instead of sleeping."""
    waits: list[float] = []
    monkeypatch.setattr("integrations.transport.sleep", waits.append)
    return waits


@pytest.fixture
def q_sync(monkeypatch):
    """Run django-q2 tasks inline (Conf is built at import, so settings cannot do this)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def fernet_keys(settings):
    """Switch the encryption keys; the fields cache their Fernet, so the cache is dropped."""
    from integrations.models import Credential, OAuthClientApp

    def forget():
        fields = [Credential._meta.get_field(name)
                  for name in ("access_token", "refresh_token", "secret")]
        for field in [*fields, OAuthClientApp._meta.get_field("client_secret")]:
            for cached in ("keys", "fernet_keys", "fernet"):
                field.__dict__.pop(cached, None)

    def use(keys):
        settings.FERNET_KEYS = keys
        forget()

    yield use
    forget()
