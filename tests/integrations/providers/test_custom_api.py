"""The custom API provider: what a person types is checked before any request, tested with the
chosen kind of authentication, and stored split into config and encrypted secrets."""

import base64
import json

import pytest

from integrations.addresses import INVALID_URL, NOT_HTTPS, UNRESOLVABLE, UNSAFE, USER_INFO
from integrations.auth import AuthKind, Bearer, NoAuth
from integrations.exceptions import ConnectionTestFailed
from integrations.forms import ConnectForm
from integrations.models import ApiCall, Connection, Credential
from integrations.providers.custom_api import fields as form
from integrations.providers.custom_api.provider import (
    CREDENTIALS_REFUSED,
    NOT_SUCCESS,
    account_id,
)
from integrations.providers.registry import get_provider
from integrations.services import connection_connect_with_form, connection_test
from tests.factories import make_user
from tests.integrations.test_contract import dns_table

PROVIDER = get_provider("custom_api")
HOST = "api.weather.test"
BASE = f"https://{HOST}/v1/"
TOKEN = "wx-bearer-token-0001"
API_KEY = "wx-api-key-0002"
PASSWORD = "wx-password-0003"


@pytest.fixture
def person(db, monkeypatch, settings):
    settings.THINKALIKE_OUTBOUND_ALLOW = []
    monkeypatch.setattr("socket.getaddrinfo", dns_table({
        HOST: "93.184.215.14", "intranet.weather.test": "192.168.1.10",
        "ipv6.weather.test": "2606:2800:21f:cb07:6820:80da:af6b:8b2c"}))
    return make_user()


def typed(**changes) -> dict[str, str]:
    return {"name": "Weather station", "base_url": f"https://{HOST}/v1", "auth_kind": "bearer",
            "token": TOKEN, "test_path": "/status", **changes}


def connect(person, **changes) -> Connection:
    return connection_connect_with_form(user=person, provider=PROVIDER, fields=typed(**changes))


def status_ok(mocked, body=None, **kwargs):
    return mocked.get(BASE + "status", json=body or {"status": "ok"}, **kwargs)


def refused(person, mocked, **changes) -> str:
    """The message of a connect that must save nothing and send nothing."""
    with pytest.raises(ConnectionTestFailed) as caught:
        connect(person, **changes)
    assert not Connection.objects.exists() and not Credential.objects.exists()
    assert len(mocked.calls) == 0 and not ApiCall.objects.exists()
    return caught.value.message


def test_bearer_connect_stores_the_normalised_url_apart_from_the_token(person, mocked_responses):
    status_ok(mocked_responses)
    connection = connect(person, base_url=f"HTTPS://{HOST.upper()}/v1")
    sent = mocked_responses.calls[0].request
    assert sent.url == BASE + "status" and sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert connection.config == {"name": "Weather station", "base_url": BASE,
                                 "auth_kind": "bearer", "test_path": "/status"}
    assert json.loads(connection.credential.secret) == {"token": TOKEN}
    assert (connection.external_account_id, connection.account_label) == (BASE, "Weather station")


def test_api_key_goes_in_the_named_header_and_other_kinds_values_are_dropped(
        person, mocked_responses):
    status_ok(mocked_responses)
    connection = connect(person, auth_kind="api_key", header_name="X-Weather-Key",
                         api_key=API_KEY, password=PASSWORD)  # a leftover of another kind
    headers = mocked_responses.calls[0].request.headers
    assert headers["X-Weather-Key"] == API_KEY and "Authorization" not in headers
    assert json.loads(connection.credential.secret) == {"api_key": API_KEY}
    assert connection.config["header_name"] == "X-Weather-Key"
    assert TOKEN not in json.dumps(connection.config) + connection.credential.secret


def test_basic_sends_the_pair_and_keeps_the_user_name_in_config(person, mocked_responses):
    status_ok(mocked_responses)
    connection = connect(person, auth_kind="basic", username="ada", password=PASSWORD, token="")
    pair = base64.b64encode(f"ada:{PASSWORD}".encode()).decode()
    assert mocked_responses.calls[0].request.headers["Authorization"] == f"Basic {pair}"
    assert connection.config["username"] == "ada"
    assert json.loads(connection.credential.secret) == {"password": PASSWORD}


def test_none_sends_no_credential_and_a_text_answer_passes(person, mocked_responses):
    mocked_responses.get(BASE, body="OK", content_type="text/plain")
    connection = connect(person, auth_kind="none", test_path="")
    assert "Authorization" not in mocked_responses.calls[0].request.headers
    assert connection.config["test_path"] == "/" and connection.credential.secret == ""


def test_a_stored_connection_is_tested_with_its_own_settings(person, mocked_responses):
    status_ok(mocked_responses)
    connection = connect(person, auth_kind="api_key", header_name="X-Weather-Key",
                         api_key=API_KEY)
    account = connection_test(connection=connection)
    assert account.external_id == BASE
    assert mocked_responses.calls[-1].request.headers["X-Weather-Key"] == API_KEY


@pytest.mark.parametrize(("changes", "message"), [
    ({"token": ""}, form.MISSING_VALUES.format(labels="Access token")),
    ({"auth_kind": "api_key"}, form.MISSING_VALUES.format(labels="Header name, API key")),
    ({"auth_kind": "basic", "username": "ada"}, form.MISSING_VALUES.format(labels="Password")),
    ({"auth_kind": "oauth2"}, form.UNKNOWN_KIND),
    ({"auth_kind": "api_key", "header_name": "Host", "api_key": API_KEY},
     form.RESERVED_HEADER.format(name="Host")),
    ({"auth_kind": "api_key", "header_name": "X-Key\r\nX-Evil", "api_key": API_KEY},
     form.INVALID_VALUE.format(label="header name")),
    ({"token": "two words"}, form.INVALID_VALUE.format(label="access token")),
])
def test_the_chosen_kinds_values_are_checked_before_any_request(person, mocked_responses,
                                                                changes, message):
    assert refused(person, mocked_responses, **changes) == message


@pytest.mark.parametrize("path", ["http://evil.example/", "//evil.example/x", "../admin",
                                  "/a/../b", "/%2e%2e/x", "/a%2Fb", "https:x", "javascript:x",
                                  "/a b", "/a\\b", "/status?api_key=1", "/s#x",
                                  "/" + "x" * 200])
def test_test_paths_outside_the_base_are_refused(person, mocked_responses, path):
    assert refused(person, mocked_responses, test_path=path) == form.BAD_TEST_PATH


@pytest.mark.parametrize(("url", "reason"), [
    (f"http://{HOST}/", NOT_HTTPS),
    ("https://127.0.0.1/", UNSAFE),
    ("https://localhost/", UNRESOLVABLE),  # not in this DNS table: nothing resolves it
    ("https://10.1.2.3/api", UNSAFE),
    ("https://192.168.0.1/", UNSAFE),
    ("https://169.254.169.254/latest/", UNSAFE),
    ("https://[fe80::1]/", UNSAFE),
    ("https://[fd00:ec2::254]/", UNSAFE),
    ("https://2130706433/", UNSAFE),  # 127.0.0.1 in decimal
    ("https://0177.0.0.1/", UNSAFE),  # and in octal
    ("https://0x7f.1/", UNSAFE),
    ("https://[::ffff:127.0.0.1]/", UNSAFE),
    ("https://[::ffff:a9fe:a9fe]/", UNSAFE),  # the metadata address, IPv4-mapped
    ("https://intranet.weather.test/", UNSAFE),  # a name that resolves to a private address
    ("https://user:pw@api.weather.test/", USER_INFO),
    ("https://api.weather.test/?key=1", INVALID_URL),
    ("ftp://api.weather.test/", NOT_HTTPS),
])
def test_unsafe_base_urls_are_refused_before_anything_is_sent(person, mocked_responses,
                                                             url, reason):
    message = refused(person, mocked_responses, base_url=url)
    assert message == f"{reason} Nothing was saved."
    assert TOKEN not in message


def test_an_allowed_loopback_host_may_use_plain_http(person, mocked_responses, settings):
    settings.THINKALIKE_OUTBOUND_ALLOW = ["127.0.0.1"]
    mocked_responses.get("http://127.0.0.1:8000/sandbox/stand-ins/custom_api/status",
                         json={"status": "ok"})
    connection = connect(person, base_url="http://127.0.0.1:8000/sandbox/stand-ins/custom_api")
    assert connection.config["base_url"] == "http://127.0.0.1:8000/sandbox/stand-ins/custom_api/"


def test_an_ipv6_public_host_is_accepted(person, mocked_responses):
    mocked_responses.get("https://ipv6.weather.test/status", json={})
    assert connect(person, base_url="https://ipv6.weather.test").external_account_id \
        == "https://ipv6.weather.test/"


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_say_so_and_save_nothing(person, mocked_responses, status):
    status_ok(mocked_responses, {"error": "invalid_token"}, status=status)
    with pytest.raises(ConnectionTestFailed) as caught:
        connect(person)
    assert caught.value.message == CREDENTIALS_REFUSED
    assert not Connection.objects.exists()
    assert len(mocked_responses.calls) == 1  # no refresh: there is no token to refresh


@pytest.mark.parametrize("status", [404, 400, 503])
def test_other_statuses_name_the_status(person, mocked_responses, status, no_sleep):
    status_ok(mocked_responses, {"error": "nope"}, status=status)
    with pytest.raises(ConnectionTestFailed) as caught:
        connect(person)
    assert f"HTTP {status}" in caught.value.message
    assert caught.value.message.endswith("Nothing was saved.")
    assert not Connection.objects.exists()


def test_a_success_that_is_not_2xx_is_refused(person, mocked_responses):
    mocked_responses.get(BASE + "status", status=304)
    with pytest.raises(ConnectionTestFailed) as caught:
        connect(person)
    assert caught.value.message == NOT_SUCCESS.format(status=304)


def test_no_secret_reaches_the_call_log(person, mocked_responses):
    status_ok(mocked_responses)
    connect(person, auth_kind="api_key", header_name="X-Weather-Key", api_key=API_KEY)
    (call,) = ApiCall.objects.all()
    assert (call.host, call.path) == (HOST, "/v1/status")
    assert API_KEY not in json.dumps(Connection.objects.get().config)


def test_the_form_offers_every_kind_and_requires_only_the_common_fields():
    connect_form = ConnectForm(provider=PROVIDER)
    assert list(connect_form.fields) == ["name", "base_url", "auth_kind", "token", "header_name",
                                         "api_key", "username", "password", "test_path"]
    assert [n for n, f in connect_form.fields.items() if f.required] == [
        "name", "base_url", "auth_kind"]
    assert {v for v, _ in connect_form.fields["auth_kind"].choices} == {
        "bearer", "api_key", "basic", "none"}
    secret = {f.name for f in PROVIDER.connect_fields() if f.secret}
    assert secret == {"token", "api_key", "password"}


def test_the_strategy_and_base_come_from_the_connection():
    assert isinstance(PROVIDER.auth_for({"auth_kind": AuthKind.BEARER}), Bearer)
    assert isinstance(PROVIDER.auth_for({"auth_kind": "oauth2"}), NoAuth)
    assert PROVIDER.get_api_base_url({"base_url": BASE}) == BASE
    assert PROVIDER.get_api_base_url() == ""


def test_a_base_url_too_long_to_store_becomes_a_digest():
    long_url = "https://api.weather.test/" + "a" * 300 + "/"
    assert account_id(long_url).startswith("sha256:") and len(account_id(long_url)) < 255
    assert account_id(long_url) == account_id(long_url) and account_id(BASE) == BASE
