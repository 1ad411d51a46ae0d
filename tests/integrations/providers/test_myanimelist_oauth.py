"""Connecting MyAnimeList through our allauth provider (integrations/providers/myanimelist/
allauth/): PKCE with the "plain" method (the only one MAL supports), the code exchange with
the verifier and the client credentials in a form, the /users/@me profile, and the refresh
of its month-long tokens with the client credentials."""

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from integrations.allauth.adapter import CONNECT_FAILED, SIGN_IN_INCOMPLETE
from integrations.allauth.oauth2 import BAD_TOKEN_ANSWER
from integrations.exceptions import ReauthRequired
from integrations.models import Connection, Credential
from integrations.providers.contract import fixture
from integrations.providers.myanimelist import client as mal
from integrations.tokens import REFUSED, token_refresh
from tests.factories import make_connection, make_user
from tests.integrations.allauth.test_oauth2 import (
    PROFILE_ANSWERS,
    SECRET,
    TOKEN_ANSWERS,
    assert_nothing_stored_and_told,
)

CLIENT_ID = "mal-test-client-id-0f1e2d3c4b5a"  # settings_test.py
CLIENT_SECRET = "mal-test-client-secret-0123456789"
PROFILE_URL = mal.API_BASE + mal.ME
TOKEN = fixture(mal.__file__, "token")
ME = fixture(mal.__file__, "me")


@pytest.fixture
def person(db, client):
    user = make_user("otaku@example.com")
    client.force_login(user)
    return user


def start(client) -> dict:
    response = client.post(reverse("myanimelist_login") + "?process=connect")
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == mal.AUTHORIZE_URL
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def callback(client, state):
    return client.get(reverse("myanimelist_callback"), {"code": "the-code", "state": state})


def shown(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_pkce_is_plain_and_the_token_request_sends_the_challenge_as_verifier(
        person, client, mocked_responses):
    query = start(client)
    assert query["code_challenge_method"] == "plain"
    assert (query["client_id"], query["response_type"]) == (CLIENT_ID, "code")
    challenge = query["code_challenge"]
    assert 43 <= len(challenge) <= 128  # MAL's (and RFC 7636's) bounds for a verifier
    mocked_responses.post(mal.TOKEN_URL, json=TOKEN)
    mocked_responses.get(PROFILE_URL, json=ME)

    response = callback(client, query["state"])
    assert response["Location"] == reverse("integrations:connected_services")
    exchange, profile = (c.request for c in mocked_responses.calls)
    assert exchange.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert {k: v[0] for k, v in parse_qs(exchange.body).items()} == {
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "grant_type": "authorization_code", "code": "the-code",
        "redirect_uri": "http://testserver" + reverse("myanimelist_callback"),
        "code_verifier": challenge,  # plain: the verifier is the challenge itself
    }
    assert profile.headers["Authorization"] == f"Bearer {TOKEN['access_token']}"


def test_connect_stores_the_token_pair_and_the_account(person, client, mocked_responses):
    query = start(client)
    mocked_responses.post(mal.TOKEN_URL, json=TOKEN)
    mocked_responses.get(PROFILE_URL, json=ME)
    callback(client, query["state"])
    connection = Connection.objects.get(user=person)
    assert (connection.provider, connection.external_account_id, connection.account_label) == (
        "myanimelist", "1234567", "someone")
    credential = Credential.objects.get(connection=connection)
    assert (credential.access_token, credential.refresh_token) == (
        TOKEN["access_token"], TOKEN["refresh_token"])
    month_from_now = timezone.now() + timedelta(seconds=TOKEN["expires_in"])  # 31 days
    assert abs(credential.expires_at - month_from_now) < timedelta(minutes=1)


def test_every_connect_has_its_own_verifier(person, client):
    assert start(client)["code_challenge"] != start(client)["code_challenge"]


def test_pkce_stays_on_when_the_settings_switch_it_off(person, client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {**settings.SOCIALACCOUNT_PROVIDERS, "myanimelist": {
        **settings.SOCIALACCOUNT_PROVIDERS["myanimelist"], "OAUTH_PKCE_ENABLED": False}}
    assert start(client)["code_challenge_method"] == "plain"


def test_a_refused_code_lands_on_our_page_without_the_answer(person, client, mocked_responses,
                                                            caplog):
    caplog.set_level(logging.DEBUG)
    query = start(client)
    mocked_responses.post(mal.TOKEN_URL, status=400, json={
        "error": "invalid_grant", "message": f"Failed to verify code_verifier {CLIENT_SECRET}",
        "hint": "the-code"})
    response = callback(client, query["state"])
    assert response["Location"] == reverse("integrations:connected_services")
    assert not Connection.objects.exists()
    assert shown(response) == CONNECT_FAILED.format(provider="MyAnimeList",
                                                    reason=SIGN_IN_INCOMPLETE)
    assert CLIENT_SECRET not in caplog.text and "code_verifier" not in caplog.text


# The shared hostile tables, against MAL's own exchange (it reads JSON only, like AniList's):
# a body that is not JSON or not an object is a bad answer, not an incomplete sign-in.
READ_WITHOUT_TYPE = "body without content type"
OURS = {"body not JSON text": BAD_TOKEN_ANSWER, "body null": BAD_TOKEN_ANSWER}
HOSTILE = [(row[0], row[1], row[2], OURS.get(row[0], row[3])) for row in TOKEN_ANSWERS
           if row[0] != READ_WITHOUT_TYPE]


@pytest.mark.parametrize(("body", "content_type", "reason"), [row[1:] for row in HOSTILE],
                         ids=[row[0] for row in HOSTILE])
def test_hostile_token_answers_store_nothing(person, client, mocked_responses, caplog, body,
                                             content_type, reason):
    caplog.set_level(logging.DEBUG)
    query = start(client)
    mocked_responses.add_callback("POST", mal.TOKEN_URL, content_type=None, callback=lambda _: (
        200, {"Content-Type": content_type} if content_type else {}, body))
    mocked_responses.get(PROFILE_URL, json=ME)
    response = callback(client, query["state"])
    assert_nothing_stored_and_told(response, "MyAnimeList", reason, caplog)


@pytest.mark.parametrize(("body", "reason"), [row[1:] for row in PROFILE_ANSWERS],
                         ids=[row[0] for row in PROFILE_ANSWERS])
def test_hostile_profile_answers_store_nothing(person, client, mocked_responses, caplog, body,
                                               reason):
    caplog.set_level(logging.DEBUG)
    query = start(client)
    mocked_responses.post(mal.TOKEN_URL, json={"access_token": SECRET, "expires_in": 2678400})
    mocked_responses.get(PROFILE_URL, body=body, content_type="application/json")
    response = callback(client, query["state"])
    assert_nothing_stored_and_told(response, "MyAnimeList", reason, caplog)


def test_an_expired_token_at_the_profile_saves_nothing(person, client, mocked_responses):
    query = start(client)
    mocked_responses.post(mal.TOKEN_URL, json=TOKEN)
    mocked_responses.get(PROFILE_URL, status=401, json=fixture(mal.__file__, "invalid_token"))
    response = callback(client, query["state"])
    assert response["Location"] == reverse("integrations:connected_services")
    assert not Connection.objects.exists()


# --- refresh ----------------------------------------------------------------------------------

def expiring(user) -> Connection:
    # Inside the refresh margin: the next use renews it first.
    return make_connection(user, "myanimelist", external_id="1234567", access_token="AT-old",
                           refresh_token="RT-old", expires_in=60)


def test_refresh_sends_the_client_credentials_and_stores_the_new_pair(person, mocked_responses):
    mocked_responses.post(mal.TOKEN_URL, json=TOKEN)
    connection = expiring(person)
    assert token_refresh(connection=connection) == TOKEN["access_token"]
    sent = mocked_responses.calls[0].request
    assert {k: v[0] for k, v in parse_qs(sent.body).items()} == {
        "grant_type": "refresh_token", "refresh_token": "RT-old",
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    credential = Credential.objects.get(connection=connection)
    # MAL returns a new pair; whether the old refresh token still works is unknown: keep the new.
    assert (credential.access_token, credential.refresh_token) == (
        TOKEN["access_token"], TOKEN["refresh_token"])
    assert credential.expires_at > timezone.now() + timedelta(days=30)


def test_a_refused_refresh_asks_to_reconnect(person, mocked_responses):
    mocked_responses.post(mal.TOKEN_URL, status=400, json={
        "error": "invalid_grant", "message": "The refresh token is invalid.",
        "hint": "Token has been revoked"})
    connection = expiring(person)
    with pytest.raises(ReauthRequired) as caught:
        token_refresh(connection=connection)
    assert caught.value.message == REFUSED.format(provider="MyAnimeList", error="invalid_grant")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH


def test_an_exchange_without_a_verifier_is_never_sent(mocked_responses):
    from allauth.socialaccount.providers.oauth2.client import OAuth2Error

    from integrations.providers.myanimelist.allauth.views import VerifierTokenClient

    token_client = VerifierTokenClient(None, CLIENT_ID, CLIENT_SECRET, "POST", mal.TOKEN_URL,
                                       "http://testserver/callback/")
    with pytest.raises(OAuth2Error):
        token_client.get_access_token("the-code", pkce_code_verifier=None)
    assert len(mocked_responses.calls) == 0  # MAL would refuse it; the code stays unused
