import secrets
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.sandbox.models import SandboxAuthCode, SandboxKnobs

from .conftest import basic_auth

pytestmark = pytest.mark.django_db


def test_code_exchange_with_pkce_s256(oauth):
    verifier = secrets.token_urlsafe(48)
    response = oauth.exchange(oauth.code(verifier=verifier), verifier)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "library.read profile.read"
    assert body["access_token"].startswith("sbx_at_")
    assert body["refresh_token"].startswith("sbx_rt_")
    assert oauth.api("me", body["access_token"]).json() == {
        "id": "demo-listener", "display_name": "Demo-Listener",
    }


def test_wrong_or_missing_verifier_is_invalid_grant(oauth):
    verifier = secrets.token_urlsafe(48)
    assert oauth.exchange(oauth.code(verifier=verifier), "wrong" * 10).json() == {
        "error": "invalid_grant", "error_description": "the PKCE code verifier does not match",
    }
    response = oauth.exchange(oauth.code(verifier=verifier), None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_plain_pkce_is_accepted(oauth):
    code = oauth.code(code_challenge="a-plain-verifier-long-enough-0123456789abcdef",
                      code_challenge_method="plain")
    response = oauth.exchange(code, "a-plain-verifier-long-enough-0123456789abcdef")
    assert response.status_code == 200


def test_code_is_single_use(oauth):
    verifier = secrets.token_urlsafe(48)
    code = oauth.code(verifier=verifier)
    assert oauth.exchange(code, verifier).status_code == 200
    second = oauth.exchange(code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_expired_or_unknown_code_or_other_redirect_uri_is_refused(oauth):
    code = oauth.code()
    SandboxAuthCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert oauth.exchange(code).json()["error"] == "invalid_grant"
    assert oauth.exchange("sbx_code_made-up").json()["error"] == "invalid_grant"
    other = oauth.exchange(oauth.code(), redirect_uri="http://testserver/elsewhere/")
    assert other.json()["error"] == "invalid_grant"


def test_client_authentication(oauth, client):
    code = oauth.code()
    wrong = client.post("/sandbox/oauth/token", {"grant_type": "authorization_code", "code": code},
                        HTTP_AUTHORIZATION=basic_auth(secret="nope"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    anonymous = client.post("/sandbox/oauth/token", {"grant_type": "authorization_code"})
    assert anonymous.status_code == 401
    # Credentials in the body work as well as HTTP Basic.
    from django.conf import settings
    body_auth = client.post("/sandbox/oauth/token", {
        "grant_type": "authorization_code", "code": code,
        "redirect_uri": "http://testserver/accounts/sandbox/login/callback/",
        "client_id": settings.THINKALIKE_SANDBOX_CLIENT_ID,
        "client_secret": settings.THINKALIKE_SANDBOX_CLIENT_SECRET,
    })
    assert body_auth.status_code == 200


def test_unsupported_grant_type(oauth):
    response = oauth.token_request(grant_type="password", username="a", password="b")
    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type"}


def test_refresh_with_rotation_refuses_the_old_refresh_token(oauth):
    first = oauth.tokens()
    refreshed = oauth.token_request(
        grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert oauth.api("me", body["access_token"]).status_code == 200
    assert oauth.api("me", first["access_token"]).status_code == 401
    again = oauth.token_request(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    newest = oauth.token_request(grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert newest.status_code == 200


def test_refresh_without_rotation_keeps_the_refresh_token(oauth):
    knobs = SandboxKnobs.get()
    knobs.rotate_refresh_tokens = False
    knobs.token_lifetime_seconds = 120
    knobs.save()
    first = oauth.tokens()
    for _ in range(2):
        response = oauth.token_request(
            grant_type="refresh_token", refresh_token=first["refresh_token"]
        )
        assert response.status_code == 200
        assert "refresh_token" not in response.json()
        assert response.json()["expires_in"] == 120


def test_expired_access_token_is_refused(oauth):
    SandboxKnobs.objects.update_or_create(pk=1, defaults={"token_lifetime_seconds": 0})
    tokens = oauth.tokens()
    response = oauth.api("me", tokens["access_token"])
    assert response.status_code == 401


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_revoke_kills_access_and_refresh(oauth, client, which):
    tokens = oauth.tokens()
    response = client.post("/sandbox/oauth/revoke", {"token": tokens[which]},
                           HTTP_AUTHORIZATION=basic_auth())
    assert response.status_code == 200
    assert oauth.api("me", tokens["access_token"]).status_code == 401
    refreshed = oauth.token_request(grant_type="refresh_token",
                                    refresh_token=tokens["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


def test_revoke_unknown_token_is_200_but_needs_client_auth(client):
    ok = client.post("/sandbox/oauth/revoke", {"token": "sbx_at_unknown"},
                     HTTP_AUTHORIZATION=basic_auth())
    assert ok.status_code == 200
    unauthenticated = client.post("/sandbox/oauth/revoke", {"token": "sbx_at_unknown"})
    assert unauthenticated.status_code == 401
