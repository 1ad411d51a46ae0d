"""An API that echoes the request (httpbin's /anything, a debug endpoint) must not hand the
credential back to the caller or into the cache, in whatever form it was sent: a Basic pair is
sent base64-encoded, a key in a URL is sent percent-encoded."""

import base64
import json

import pytest

from integrations.providers.custom_api.provider import CustomApiProvider
from integrations.proxy import service, store
from integrations.proxy.service import proxy_request
from integrations.proxy.spec import ProxyError
from tests.factories import allow_dashboard, make_connection, make_user

from .helpers import CUSTOM_BASE, CUSTOM_KEY

pytestmark = pytest.mark.usefixtures("fake_clock")

PASSWORD = "correct-horse-battery"
BEARER_TOKEN = "bearer-token-proxy-0001"
# Characters a URL encodes: the key travels as "k3y%2Fwith%2Bplus%3D%26amp".
URL_KEY = "k3y/with+plus=&amp"


def connect(user, kind: str, secret: dict, **config):
    allow_dashboard(user)
    connection = make_connection(user, "custom_api", external_id=CUSTOM_BASE, access_token="",
                                 refresh_token="", expires_in=None, secret=json.dumps(secret))
    connection.config = {"name": "Echo", "base_url": CUSTOM_BASE, "auth_kind": kind, **config}
    connection.save(update_fields=["config"])
    return connection


CONNECTIONS = {
    "basic": lambda user: connect(user, "basic", {"username": "ada", "password": PASSWORD},
                                  username="ada"),
    "bearer": lambda user: connect(user, "bearer", {"token": BEARER_TOKEN}),
    "api_key": lambda user: connect(user, "api_key", {"api_key": CUSTOM_KEY},
                                    header_name="X-Api-Key"),
}


def echo_headers(request):
    return 200, {"Content-Type": "application/json"}, json.dumps(
        {"headers": dict(request.headers)})


def ask(connection, path="/anything"):
    return proxy_request(connection=connection, user=connection.user, method="GET", path=path,
                         params=[])


def cached(connection, path="/anything"):
    return store.get_entry(store.entry_key(connection.pk, service._scope(connection), "GET",
                                           path, []))


@pytest.mark.parametrize("kind", sorted(CONNECTIONS))
def test_an_echoed_auth_header_is_not_passed_on_nor_cached(db, mocked_responses, kind):
    connection = CONNECTIONS[kind](make_user())
    mocked_responses.add_callback("GET", CUSTOM_BASE + "anything", callback=echo_headers)
    with pytest.raises(ProxyError) as caught:
        ask(connection)
    assert (caught.value.status, caught.value.code) == (502, "bad_upstream")
    assert cached(connection) is None
    sent = mocked_responses.calls[0].request.headers
    assert "Authorization" in sent or "X-Api-Key" in sent  # it did send the credential


def test_the_base64_of_a_basic_pair_alone_is_recognised(db, mocked_responses):
    """The scheme dropped, the "/" of the base64 escaped as JSON may: still the password."""
    connection = CONNECTIONS["basic"](make_user())
    pair = base64.b64encode(f"ada:{PASSWORD}".encode()).decode()
    mocked_responses.get(CUSTOM_BASE + "anything", body=json.dumps(
        {"seen": pair}).replace("/", "\\/"), content_type="application/json")
    with pytest.raises(ProxyError) as caught:
        ask(connection)
    assert caught.value.code == "bad_upstream"


def test_a_passed_header_that_echoes_the_basic_pair_is_dropped(db, mocked_responses):
    connection = CONNECTIONS["basic"](make_user())
    pair = base64.b64encode(f"ada:{PASSWORD}".encode()).decode()
    mocked_responses.get(CUSTOM_BASE + "anything", json={"ok": True},
                         headers={"ETag": f'"{pair}"', "X-RateLimit-Remaining": "9"})
    result = ask(connection)
    assert result.headers == {"X-Upstream-RateLimit-Remaining": "9"}
    assert pair not in json.dumps(cached(connection).as_value())


def test_a_key_sent_in_the_query_and_echoed_url_encoded_is_not_passed_on(
        db, mocked_responses, monkeypatch):
    """A provider whose key goes in a query parameter (added by proxy_params, as Plausible's
    site is): the API echoes the URL it was asked, where the key is percent-encoded."""
    connection = connect(make_user(), "none", {"api_key": URL_KEY})
    monkeypatch.setattr(CustomApiProvider, "proxy_params",
                        lambda self, connection: {"key": URL_KEY})
    mocked_responses.add_callback(
        "GET", CUSTOM_BASE + "anything", callback=lambda request: (
            200, {"Content-Type": "application/json"}, json.dumps({"url": request.url})))
    with pytest.raises(ProxyError) as caught:
        ask(connection)
    assert caught.value.code == "bad_upstream"
    assert "k3y%2Fwith%2Bplus" in mocked_responses.calls[0].request.url
    assert cached(connection) is None
