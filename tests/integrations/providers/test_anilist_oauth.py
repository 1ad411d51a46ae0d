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
from integrations.allauth.oauth2 import BAD_PROFILE_ANSWER
from integrations.models import Connection, Credential
from integrations.providers.anilist import client as anilist
from tests.factories import make_user

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
