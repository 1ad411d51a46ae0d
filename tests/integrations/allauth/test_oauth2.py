"""Hostile token and profile answers at the allauth callback (integrations/allauth/oauth2.py).

Every row goes through the real login and callback views of every OAuth provider we have; the
token and profile endpoints are mocked with ``responses``. Each must end on Connected Services
with a message and store nothing.
"""

import json
import logging

import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.conf import settings
from django.urls import reverse

from integrations.allauth.adapter import CONNECT_FAILED, SIGN_IN_INCOMPLETE
from integrations.allauth.oauth2 import (
    BAD_PROFILE_ANSWER,
    BAD_TOKEN_ANSWER,
    MAX_LIFETIME_SECONDS,
    parse_expires_in,
)
from integrations.models import Connection, Credential
from tests.integrations.test_connect_oauth import CONNECTED, callback, messages_of, start

PROVIDERS = {
    "spotify": ("Spotify", lambda: "https://accounts.spotify.com/api/token",
                lambda: "https://api.spotify.com/v1/me"),
    "sandbox": ("Sandbox", lambda: f"{settings.THINKALIKE_SANDBOX_URL}/oauth/token",
                lambda: f"{settings.THINKALIKE_SANDBOX_URL}/api/v1/me"),
}
SECRET = "AT-hostile-secret-1"
GOOD_PROFILE = {"id": "wizzler", "display_name": "JM Wizzler"}
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


def token_json(**fields) -> str:
    return json.dumps({"access_token": SECRET, "token_type": "Bearer", **fields})


def raw_token(fragment: str) -> str:  # values json.dumps cannot write (1e308 stays 1e308)
    return f'{{"access_token": "{SECRET}", {fragment}}}'


# (id, body, content type, person-facing reason)
TOKEN_ANSWERS = [
    ("expires_in 10**20", token_json(expires_in=10**20), "application/json", BAD_TOKEN_ANSWER),
    ("expires_in 1e308", raw_token('"expires_in": 1e308'), "application/json", BAD_TOKEN_ANSWER),
    ("expires_in Infinity", raw_token('"expires_in": Infinity'), "application/json",
     BAD_TOKEN_ANSWER),
    ("expires_in NaN", raw_token('"expires_in": NaN'), "application/json", BAD_TOKEN_ANSWER),
    ("expires_in abc", token_json(expires_in="abc"), "application/json", BAD_TOKEN_ANSWER),
    ("expires_in 3600.5 str", token_json(expires_in="3600.5"), "application/json",
     BAD_TOKEN_ANSWER),
    ("expires_in 3600.5", token_json(expires_in=3600.5), "application/json", BAD_TOKEN_ANSWER),
    ("expires_in negative", token_json(expires_in=-60), "application/json", BAD_TOKEN_ANSWER),
    ("expires_in zero", token_json(expires_in=0), "application/json", BAD_TOKEN_ANSWER),
    ("expires_in true", token_json(expires_in=True), "application/json", BAD_TOKEN_ANSWER),
    ("expires_in null", token_json(expires_in=None), "application/json", BAD_TOKEN_ANSWER),
    ("expires_in nested", token_json(expires_in={"s": 3600}), "application/json",
     BAD_TOKEN_ANSWER),
    ("expires_in list", token_json(expires_in=[3600]), "application/json", BAD_TOKEN_ANSWER),
    ("expires_in huge digits", token_json(expires_in="9" * 5000), "application/json",
     BAD_TOKEN_ANSWER),
    ("expires_in form 10**20", f"access_token={SECRET}&expires_in={10**20}",
     "application/x-www-form-urlencoded", BAD_TOKEN_ANSWER),
    ("access_token int", json.dumps({"access_token": 12345}), "application/json",
     BAD_TOKEN_ANSWER),
    ("access_token list", json.dumps({"access_token": [SECRET]}), "application/json",
     BAD_TOKEN_ANSWER),
    ("access_token object", json.dumps({"access_token": {"t": SECRET}}), "application/json",
     BAD_TOKEN_ANSWER),
    ("access_token true", json.dumps({"access_token": True}), "application/json",
     BAD_TOKEN_ANSWER),
    ("access_token empty", json.dumps({"access_token": ""}), "application/json",
     BAD_TOKEN_ANSWER),
    ("access_token null", json.dumps({"access_token": None}), "application/json",
     BAD_TOKEN_ANSWER),
    ("access_token spaces", json.dumps({"access_token": "a b"}), "application/json",
     BAD_TOKEN_ANSWER),
    ("access_token huge", json.dumps({"access_token": "x" * 100_000}), "application/json",
     BAD_TOKEN_ANSWER),
    ("refresh_token int", token_json(refresh_token=7), "application/json", BAD_TOKEN_ANSWER),
    ("refresh_token list", token_json(refresh_token=["r"]), "application/json",
     BAD_TOKEN_ANSWER),
    ("body JSON string", json.dumps("access_token"), "application/json", BAD_TOKEN_ANSWER),
    ("body JSON list", json.dumps(["access_token", SECRET]), "application/json",
     BAD_TOKEN_ANSWER),
    ("body deeply nested list", DEEP, "application/json", BAD_TOKEN_ANSWER),
    ("body deeply nested object", DEEP_OBJECT, "application/json", BAD_TOKEN_ANSWER),
    ("body nested under access_token", '{"access_token": ' + DEEP + "}", "application/json",
     BAD_TOKEN_ANSWER),
    ("body not JSON", "<html>oops</html>", "application/json", BAD_TOKEN_ANSWER),
    ("body not JSON text", "<html>oops</html>", "text/html", SIGN_IN_INCOMPLETE),
    ("body null", "null", "application/json", SIGN_IN_INCOMPLETE),
    ("body number", "42", "application/json", BAD_TOKEN_ANSWER),
    ("body empty", "", "application/json", BAD_TOKEN_ANSWER),
    ("body without content type", token_json(expires_in=3600), None, BAD_TOKEN_ANSWER),
]

# (id, body, person-facing reason); the token answer is good.
PROFILE_ANSWERS = [
    ("list", json.dumps([GOOD_PROFILE]), BAD_PROFILE_ANSWER),
    ("string", json.dumps("wizzler"), BAD_PROFILE_ANSWER),
    ("null", "null", BAD_PROFILE_ANSWER),
    ("not JSON", "<html>oops</html>", BAD_PROFILE_ANSWER),
    ("deeply nested", DEEP, BAD_PROFILE_ANSWER),
    ("deeply nested field", '{"id": "w", "display_name": ' + DEEP + "}", BAD_PROFILE_ANSWER),
    ("no id", json.dumps({"display_name": "x"}), BAD_PROFILE_ANSWER),
    ("id empty", json.dumps({"id": ""}), BAD_PROFILE_ANSWER),
    ("id null", json.dumps({"id": None}), BAD_PROFILE_ANSWER),
    ("id object", json.dumps({"id": {"x": 1}}), BAD_PROFILE_ANSWER),
    ("id list", json.dumps({"id": ["a"]}), BAD_PROFILE_ANSWER),
    ("id too long", json.dumps({"id": "a" * 500}), BAD_PROFILE_ANSWER),
    ("id with spaces", json.dumps({"id": "a b"}), BAD_PROFILE_ANSWER),
]


@pytest.fixture
def auth_client(client, db):
    from tests.factories import make_user

    client.force_login(make_user())
    return client


def assert_nothing_stored_and_told(response, provider_name, reason, caplog):
    assert response.status_code == 302 and response["Location"] == CONNECTED
    assert messages_of(response) == [CONNECT_FAILED.format(provider=provider_name, reason=reason)]
    assert not Connection.objects.exists()
    assert not Credential.objects.exists()
    assert not SocialAccount.objects.exists()
    assert not SocialToken.objects.exists()
    assert SECRET not in caplog.text
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 1  # one line


@pytest.mark.parametrize("slug", PROVIDERS)
@pytest.mark.parametrize(("body", "content_type", "reason"),
                         [row[1:] for row in TOKEN_ANSWERS], ids=[row[0] for row in TOKEN_ANSWERS])
def test_hostile_token_answers_store_nothing(auth_client, mocked_responses, caplog, slug, body,
                                             content_type, reason):
    caplog.set_level(logging.DEBUG)
    name, token_url, profile_url = PROVIDERS[slug]
    _, query = start(auth_client, f"{slug}_login")
    # A callback, so that a missing Content-Type stays missing (responses adds one otherwise).
    mocked_responses.add_callback("POST", token_url(), content_type=None, callback=lambda _: (
        200, {"Content-Type": content_type} if content_type else {}, body))
    mocked_responses.get(profile_url(), json=GOOD_PROFILE)
    response = callback(auth_client, query["state"], name=f"{slug}_callback")
    assert_nothing_stored_and_told(response, name, reason, caplog)


@pytest.mark.parametrize("slug", PROVIDERS)
@pytest.mark.parametrize(("body", "reason"), [row[1:] for row in PROFILE_ANSWERS],
                         ids=[row[0] for row in PROFILE_ANSWERS])
def test_hostile_profile_answers_store_nothing(auth_client, mocked_responses, caplog, slug, body,
                                               reason):
    caplog.set_level(logging.DEBUG)
    name, token_url, profile_url = PROVIDERS[slug]
    _, query = start(auth_client, f"{slug}_login")
    mocked_responses.post(token_url(), body=token_json(expires_in=3600),
                          content_type="application/json")
    mocked_responses.get(profile_url(), body=body, content_type="application/json")
    response = callback(auth_client, query["state"], name=f"{slug}_callback")
    assert_nothing_stored_and_told(response, name, reason, caplog)


@pytest.mark.parametrize(("value", "seconds"), [
    (3600, 3600), ("3600", 3600), (3600.0, 3600), (1, 1), (MAX_LIFETIME_SECONDS,
                                                           MAX_LIFETIME_SECONDS),
])
def test_sane_lifetimes_are_read(value, seconds):
    assert parse_expires_in(value) == seconds


@pytest.mark.parametrize("slug", PROVIDERS)
def test_a_good_answer_with_odd_but_valid_shapes_connects(auth_client, mocked_responses, slug):
    _, token_url, profile_url = PROVIDERS[slug]
    _, query = start(auth_client, f"{slug}_login")
    mocked_responses.post(token_url(), body=f"access_token={SECRET}&expires_in=3600",
                          content_type="application/x-www-form-urlencoded")
    mocked_responses.get(profile_url(), json={**GOOD_PROFILE, "huge": ["x"] * 10_000})
    response = callback(auth_client, query["state"], name=f"{slug}_callback")
    assert response["Location"] == CONNECTED
    connection = Connection.objects.get()
    assert connection.credential.access_token == SECRET
    assert connection.credential.expires_at is not None
    # Only the declared profile keys are kept on the allauth account (data minimisation).
    assert "huge" not in connection.social_account.extra_data
    assert reverse(f"{slug}_callback")


@pytest.mark.parametrize("slug", PROVIDERS)
def test_the_callback_view_catches_what_a_stock_adapter_lets_through(
    auth_client, mocked_responses, caplog, monkeypatch, slug
):
    """A future provider on allauth's own parse_token still ends on our page."""
    from allauth.socialaccount.providers.oauth2.views import OAuth2Adapter

    from integrations.providers.sandbox.allauth.views import SandboxOAuth2Adapter
    from integrations.providers.spotify.allauth.views import SpotifyOAuth2Adapter

    adapter = {"spotify": SpotifyOAuth2Adapter, "sandbox": SandboxOAuth2Adapter}[slug]
    monkeypatch.setattr(adapter, "parse_token", OAuth2Adapter.parse_token)
    name, token_url, profile_url = PROVIDERS[slug]
    _, query = start(auth_client, f"{slug}_login")
    mocked_responses.post(token_url(), body=token_json(expires_in="3600.5"),
                          content_type="application/json")
    mocked_responses.get(profile_url(), json=GOOD_PROFILE)
    response = callback(auth_client, query["state"], name=f"{slug}_callback")
    assert_nothing_stored_and_told(response, name, BAD_TOKEN_ANSWER, caplog)


def test_a_hostile_answer_on_reconnect_keeps_what_was_stored(auth_client, mocked_responses):
    from tests.integrations.test_connect_oauth import mock_spotify

    _, query = start(auth_client)
    mock_spotify(mocked_responses)
    callback(auth_client, query["state"])
    before = Connection.objects.get()
    auth_client.get(CONNECTED)  # uses up the "Connected" message

    mocked_responses.reset()
    _, query = start(auth_client)
    mocked_responses.post(PROVIDERS["spotify"][1](), body=token_json(expires_in="abc"),
                          content_type="application/json")
    mocked_responses.get(PROVIDERS["spotify"][2](), json={"id": "wizzler"})
    response = callback(auth_client, query["state"])
    assert messages_of(response) == [
        CONNECT_FAILED.format(provider="Spotify", reason=BAD_TOKEN_ANSWER)]
    after = Connection.objects.get()
    assert (after.pk, after.social_account_id) == (before.pk, before.social_account_id)
    assert after.credential.access_token == "AT-spotify-1"
    assert SocialAccount.objects.count() == 1


def test_every_oauth_provider_in_the_catalog_uses_the_guarded_callback():
    from django.urls import resolve

    from integrations.providers.registry import all_providers

    oauth = [p for p in all_providers() if p.allauth_id]
    assert {p.allauth_id for p in oauth} >= {"spotify", "sandbox"}
    for provider in oauth:
        view = resolve(reverse(f"{provider.allauth_id}_callback")).func
        assert getattr(view, "reads_answers_safely", False), provider.slug
