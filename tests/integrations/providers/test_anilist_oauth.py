"""Connecting AniList through our allauth provider (integrations/providers/anilist/allauth/):
the code flow without scopes or PKCE, the code exchange as JSON, the GraphQL Viewer profile."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from integrations.allauth.adapter import CONNECT_FAILED
from integrations.allauth.oauth2 import BAD_PROFILE_ANSWER, BAD_TOKEN_ANSWER
from integrations.models import Connection, Credential
from integrations.providers.anilist import client as anilist
from tests.factories import make_user
from tests.integrations.allauth.test_oauth2 import (
    DEEP,
    TOKEN_ANSWERS,
    assert_nothing_stored_and_told,
)

CLIENT_SECRET = "anilist-test-client-secret-0123456789"  # settings_test.py
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl"
YEAR = 31536000


@pytest.fixture
def person(db, client):
    user = make_user("otaku@example.com")
    client.force_login(user)
    return user


def start(client) -> dict:
    response = client.post(reverse("anilist_login") + "?process=connect")
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == anilist.AUTHORIZE_URL
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def callback(client, state):
    return client.get(reverse("anilist_callback"), {"code": "the-code", "state": state})


def test_connect_exchanges_the_code_as_json_and_reads_the_viewer(person, client,
                                                                 mocked_responses):
    query = start(client)
    assert query["client_id"] == "4242" and query["response_type"] == "code"
    assert "code_challenge" not in query  # AniList documents no PKCE
    mocked_responses.post(anilist.TOKEN_URL, json={
        "token_type": "Bearer", "expires_in": YEAR, "access_token": JWT})
    mocked_responses.post(anilist.API_BASE, json={"data": {"Viewer": {"id": 12345,
                                                                      "name": "someone"}}})
    response = callback(client, query["state"])
    assert response["Location"] == reverse("integrations:connected_services")

    exchange, profile = (c.request for c in mocked_responses.calls)
    assert exchange.headers["Content-Type"] == "application/json"
    assert json.loads(exchange.body) == {
        "grant_type": "authorization_code", "client_id": "4242", "client_secret": CLIENT_SECRET,
        "redirect_uri": "http://testserver" + reverse("anilist_callback"), "code": "the-code"}
    assert profile.headers["Authorization"] == f"Bearer {JWT}"
    assert json.loads(profile.body) == {"query": anilist.VIEWER}

    connection = Connection.objects.get(user=person)
    assert (connection.provider, connection.external_account_id, connection.account_label) == (
        "anilist", "12345", "someone")
    credential = Credential.objects.get(connection=connection)
    assert (credential.access_token, credential.refresh_token) == (JWT, "")
    year_from_now = timezone.now() + timedelta(seconds=YEAR)
    assert abs(credential.expires_at - year_from_now) < timedelta(minutes=1)


def test_a_refused_code_lands_on_our_page_without_the_answer(person, client, mocked_responses):
    query = start(client)
    mocked_responses.post(anilist.TOKEN_URL, status=400, json={
        "error": "invalid_request", "message": f"bad client secret {CLIENT_SECRET}"})
    response = callback(client, query["state"])
    assert response["Location"] == reverse("integrations:connected_services")
    assert not Connection.objects.exists()
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert shown.startswith(CONNECT_FAILED.format(provider="AniList", reason=""))
    assert CLIENT_SECRET not in shown


@pytest.mark.parametrize(("status", "body"), [
    (400, {"errors": [{"message": "Invalid token", "status": 400}], "data": {"Viewer": None}}),
    (200, {"errors": [{"message": "Internal Server Error", "status": 500}], "data": None}),
    (200, {"data": {"Viewer": {"id": [12345], "name": "someone"}}}),
    (200, {"data": {"Viewer": {"id": True}}}),
], ids=["invalid_token", "errors_only", "id_a_list", "id_a_bool"])
def test_an_unusable_profile_saves_nothing(person, client, mocked_responses, status, body):
    query = start(client)
    mocked_responses.post(anilist.TOKEN_URL, json={"access_token": JWT, "expires_in": YEAR})
    mocked_responses.post(anilist.API_BASE, status=status, json=body)
    response = callback(client, query["state"])
    assert response["Location"] == reverse("integrations:connected_services")
    assert not Connection.objects.exists()
    if status == 200:
        shown = [str(m) for m in get_messages(response.wsgi_request)]
        assert shown == [CONNECT_FAILED.format(provider="AniList", reason=BAD_PROFILE_ANSWER)]


@pytest.mark.parametrize("body", [
    DEEP, '{"data": {"Viewer": {"id": NaN}}}', b'{"data": {"Viewer": {"id": "\xff"}}}',
    '{"data": {"Viewer": {"id": 1, "name": ' + DEEP + "}}}", "<html>Bad gateway</html>",
], ids=["deep", "nan", "bad_utf8", "deep_name", "html"])
def test_an_unreadable_profile_saves_nothing(person, client, mocked_responses, caplog, body):
    query = start(client)
    mocked_responses.post(anilist.TOKEN_URL, json={"access_token": JWT, "expires_in": YEAR})
    mocked_responses.post(anilist.API_BASE, body=body, content_type="application/json")
    response = callback(client, query["state"])
    assert_nothing_stored_and_told(response, "AniList", BAD_PROFILE_ANSWER, caplog)


# Every token answer of the shared hostile table, but sent to AniList's JSON exchange. AniList
# answers JSON only: a form-encoded answer is as unusable as any other non-JSON body, and one
# that is not JSON or not an object is a bad answer (allauth's form parsing would call it an
# incomplete sign-in). A good JSON answer without a Content-Type is read (allauth's KeyError).
READ_WITHOUT_TYPE = "body without content type"
OURS = {"body not JSON text": BAD_TOKEN_ANSWER, "body null": BAD_TOKEN_ANSWER}
HOSTILE = [(row[0], row[1], row[2], OURS.get(row[0], row[3])) for row in TOKEN_ANSWERS
           if row[0] != READ_WITHOUT_TYPE]


def token_answer(mocked, body, content_type):
    mocked.add_callback("POST", anilist.TOKEN_URL, content_type=None, callback=lambda _: (
        200, {"Content-Type": content_type} if content_type else {}, body))
    mocked.post(anilist.API_BASE, json={"data": {"Viewer": {"id": 1, "name": "x"}}})


@pytest.mark.parametrize(("body", "content_type", "reason"), [row[1:] for row in HOSTILE],
                         ids=[row[0] for row in HOSTILE])
def test_hostile_token_answers_store_nothing(person, client, mocked_responses, caplog, body,
                                             content_type, reason):
    query = start(client)
    token_answer(mocked_responses, body, content_type)
    response = callback(client, query["state"])
    assert_nothing_stored_and_told(response, "AniList", reason, caplog)


def test_a_json_token_answer_without_a_content_type_is_read(person, client, mocked_responses):
    query = start(client)
    _, body, content_type, _ = next(r for r in TOKEN_ANSWERS if r[0] == READ_WITHOUT_TYPE)
    token_answer(mocked_responses, body, content_type)
    assert callback(client, query["state"])["Location"] == reverse(
        "integrations:connected_services")
    assert Connection.objects.get().external_account_id == "1"
