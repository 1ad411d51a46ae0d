"""integrations/auth.py: each credential kind owns its form fields, how a request is
authenticated, and its token endpoint; the password grant uses the password once."""

import base64
import json

import pytest
from responses import matchers

from integrations.auth import (
    CHOOSABLE,
    CREDENTIALS_REFUSED,
    PASSWORD_REFUSED,
    ApiKey,
    AuthKind,
    Basic,
    Bearer,
    BotToken,
    NoAuth,
    OAuth2Password,
    Pat,
    Username,
)
from integrations.exceptions import ConnectionTestFailed
from integrations.http import ApiClient
from integrations.models import ApiCall, AuditEvent, Connection, Credential
from integrations.providers import registry
from integrations.providers.base import AccountInfo, Provider
from integrations.services import connection_connect_with_form
from integrations.tokens import token_refresh
from tests.factories import make_user

API = "https://api.strategies.test/"


def provider_with(strategy, **extra) -> Provider:
    class Strategic(Provider):
        slug, name, description = "strategic", "Strategic", "A test-only provider."
        auth = strategy
        api_base_url = API

        def test_credentials(self, client, fields):
            me = client.get_json("me")
            return AccountInfo(external_id=str(me["id"]), label=me.get("name", ""))

    for key, value in extra.items():
        setattr(Strategic, key, value)
    return Strategic()


def sent_headers(mocked_responses, strategy, values, config=None):
    mocked_responses.get(API + "me", json={"id": 1})
    client = ApiClient(provider_with(strategy), secrets=values, config=config or {})
    client.get_json("me")
    return mocked_responses.calls[-1].request.headers


@pytest.mark.django_db
@pytest.mark.parametrize(("strategy", "values", "expected"), [
    (Bearer(), {"token": "tok-1"}, {"Authorization": "Bearer tok-1"}),
    (ApiKey(header="X-Api-Key"), {"api_key": "key-1"}, {"X-Api-Key": "key-1"}),
    (Basic(), {"username": "ada", "password": "pw:x"},
     {"Authorization": "Basic " + base64.b64encode(b"ada:pw:x").decode()}),
    (Pat(), {"token": "pat-1"}, {"Authorization": "Basic " + base64.b64encode(b":pat-1").decode()}),
])
def test_each_strategy_authenticates_its_own_way(mocked_responses, strategy, values, expected):
    headers = sent_headers(mocked_responses, strategy, values)
    for name, value in expected.items():
        assert headers[name] == value


@pytest.mark.django_db
def test_an_api_key_header_the_person_names_comes_from_the_config(mocked_responses):
    headers = sent_headers(mocked_responses, ApiKey(), {"api_key": "key-2"},
                           config={"header_name": "X-Custom-Key"})
    assert headers["X-Custom-Key"] == "key-2"


@pytest.mark.django_db
@pytest.mark.parametrize("reserved", ["Host", "content-type", "Cookie", "Accept"])
def test_a_named_header_may_not_replace_one_that_steers_the_request(mocked_responses, reserved):
    headers = sent_headers(mocked_responses, ApiKey(), {"api_key": "key-3"},
                           config={"header_name": reserved})
    assert "key-3" not in headers.values()


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", [Username(), NoAuth()])
def test_public_strategies_send_nothing(mocked_responses, strategy):
    headers = sent_headers(mocked_responses, strategy, {"username": "ada"})
    assert "Authorization" not in headers
    assert strategy.public_only and not strategy.uses_tokens


@pytest.mark.django_db
def test_a_bot_token_goes_in_the_path_and_not_in_the_outbound_log(mocked_responses):
    token = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345"
    mocked_responses.get(f"{API}bot{token}/getMe", json={"id": 1})
    ApiClient(provider_with(BotToken()), secrets={"bot_token": token}).get_json("getMe")
    assert mocked_responses.calls[0].request.url == f"{API}bot{token}/getMe"
    assert "Authorization" not in mocked_responses.calls[0].request.headers
    call = ApiCall.objects.get()
    assert token not in call.path and call.path.endswith("/getMe")


def test_every_strategy_declares_its_own_fields():
    assert [f.name for f in Bearer().fields()] == ["token"]
    assert [f.name for f in ApiKey().fields()] == ["header_name", "api_key"]
    assert [f.name for f in ApiKey(header="X-Key").fields()] == ["api_key"]
    assert [(f.name, f.secret) for f in Basic().fields()] == [("username", False),
                                                             ("password", True)]
    assert all(f.secret for s in (Bearer(), Pat(), BotToken()) for f in s.fields())
    assert NoAuth().fields() == ()
    assert set(CHOOSABLE) == {AuthKind.BEARER, AuthKind.API_KEY, AuthKind.BASIC, AuthKind.NONE}


# -- the password grant ---------------------------------------------------------------------

TOKEN_URL = "https://auth.strategies.test/oauth/token"
PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def password_provider(monkeypatch):
    provider = provider_with(OAuth2Password(token_url=TOKEN_URL, client_id="public-client"))
    monkeypatch.setitem(registry.PROVIDERS, provider.slug, provider)
    return provider


def grant_answer(access="AT-pw-0001", refresh="RT-pw-0001"):
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": 2592000}


@pytest.mark.django_db(transaction=True)
def test_the_password_buys_tokens_once_and_is_kept_nowhere(password_provider, mocked_responses,
                                                           django_capture_on_commit_callbacks):
    mocked_responses.post(TOKEN_URL, json=grant_answer(), match=[matchers.urlencoded_params_matcher(
        {"grant_type": "password", "username": "ada@example.com", "password": PASSWORD,
         "client_id": "public-client"})])
    mocked_responses.get(API + "me", json={"id": 7, "name": "Ada"},
                         match=[matchers.header_matcher({"Authorization": "Bearer AT-pw-0001"})])
    user = make_user()

    connection = connection_connect_with_form(
        user=user, provider=password_provider,
        fields={"username": "ada@example.com", "password": PASSWORD})

    credential = Credential.objects.get(connection=connection)
    assert (credential.access_token, credential.refresh_token) == ("AT-pw-0001", "RT-pw-0001")
    assert PASSWORD not in credential.secret
    assert connection.config == {"username": "ada@example.com"}
    stored = json.dumps([list(Connection.objects.values()), list(ApiCall.objects.values()),
                         list(AuditEvent.objects.values())], default=str)
    assert PASSWORD not in stored and "AT-pw-0001" not in stored


@pytest.mark.django_db(transaction=True)
def test_a_refused_password_saves_nothing(password_provider, mocked_responses):
    mocked_responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(ConnectionTestFailed) as refused:
        connection_connect_with_form(user=make_user(), provider=password_provider,
                                     fields={"username": "ada", "password": PASSWORD})
    assert refused.value.message == PASSWORD_REFUSED.format(name="Strategic")
    assert not Connection.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_password_grant_refreshes_at_its_own_token_endpoint(password_provider,
                                                              mocked_responses):
    mocked_responses.post(TOKEN_URL, json=grant_answer())
    mocked_responses.get(API + "me", json={"id": 7})
    connection = connection_connect_with_form(
        user=make_user(), provider=password_provider,
        fields={"username": "ada", "password": PASSWORD})
    mocked_responses.post(TOKEN_URL, json=grant_answer("AT-pw-0002", "RT-pw-0002"),
                          match=[matchers.urlencoded_params_matcher(
                              {"grant_type": "refresh_token", "refresh_token": "RT-pw-0001",
                               "client_id": "public-client"})])

    assert token_refresh(connection=connection, stale_access_token="AT-pw-0001") == "AT-pw-0002"


@pytest.mark.django_db
@pytest.mark.parametrize("strategy, values, config", [
    (ApiKey(header="X-Api-Key"), {"api_key": "key-follow-1"}, {}),
    (ApiKey(), {"api_key": "key-follow-2"}, {"header_name": "X-Custom"}),
    (Bearer(), {"token": "key-follow-3"}, {}),
    (Basic(), {"username": "ada", "password": "key-follow-4"}, {}),
])
def test_no_credential_follows_a_redirect_to_another_origin(mocked_responses, strategy, values,
                                                            config):
    mocked_responses.get(API + "me", status=302, headers={"Location": "https://elsewhere.test/x"})
    landed = mocked_responses.get("https://elsewhere.test/x", json={"id": 1})
    client = ApiClient(provider_with(strategy), secrets=values, config=config)
    client.get_json("me")
    assert landed.call_count == 1
    sent = mocked_responses.calls[-1].request.headers
    secret = next(v for v in values.values() if v.startswith("key-follow"))
    assert not any(secret in value or "key-follow" in value for value in sent.values())
    assert "Authorization" not in sent and "X-Api-Key" not in sent and "X-Custom" not in sent
    assert sent["User-Agent"]  # the harmless ones stay


@pytest.mark.django_db
def test_a_redirect_on_the_same_origin_keeps_the_key(mocked_responses):
    mocked_responses.get(API + "me", status=302, headers={"Location": API + "v2/me"})
    mocked_responses.get(API + "v2/me", json={"id": 1})
    ApiClient(provider_with(ApiKey(header="X-Api-Key")), secrets={"api_key": "k-1"}).get_json("me")
    assert mocked_responses.calls[-1].request.headers["X-Api-Key"] == "k-1"


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Accept-Language", "accept-encoding", "Cookie", "Host",
                                    "User-Agent"])
def test_a_key_header_that_would_survive_a_redirect_is_never_sent(mocked_responses, header):
    headers = sent_headers(mocked_responses, ApiKey(), {"api_key": "key-5"},
                           config={"header_name": header})
    assert "key-5" not in headers.values()


@pytest.mark.django_db(transaction=True)
def test_a_refused_key_at_connect_says_so_in_the_strategys_words(mocked_responses, monkeypatch):
    provider = provider_with(Bearer())
    monkeypatch.setitem(registry.PROVIDERS, provider.slug, provider)
    mocked_responses.get(API + "me", status=401, json={"errors": [{"message": "bad key"}]})
    with pytest.raises(ConnectionTestFailed) as refused:
        connection_connect_with_form(user=make_user(), provider=provider,
                                     fields={"token": "tok-refused"})
    assert refused.value.message == CREDENTIALS_REFUSED.format(name="Strategic")
    assert not Connection.objects.exists()
