"""The in-process bridge: plain ``requests`` calls reach the sandbox's real views."""

import secrets

import pytest
import requests
from django.conf import settings

from integrations.sandbox.models import SandboxGrant

pytestmark = pytest.mark.django_db


def test_requests_calls_reach_the_sandbox(sandbox, oauth):
    base = settings.THINKALIKE_SANDBOX_URL
    verifier = secrets.token_urlsafe(48)
    code = oauth.code(verifier=verifier)
    token = requests.post(
        f"{base}/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
              "redirect_uri": "http://testserver/accounts/sandbox/login/callback/"},
        auth=(settings.THINKALIKE_SANDBOX_CLIENT_ID, settings.THINKALIKE_SANDBOX_CLIENT_SECRET),
        timeout=5,
    )
    assert token.status_code == 200, token.text
    assert token.headers["Content-Type"] == "application/json"
    access = token.json()["access_token"]
    assert SandboxGrant.objects.count() == 1  # same database, same transaction

    headers = {"Authorization": f"Bearer {access}"}
    me = requests.get(f"{base}/api/v1/me", headers=headers, timeout=5)
    assert me.json()["id"] == "demo-listener"
    page = requests.get(f"{base}/api/v1/me/tracks", params={"limit": 100}, headers=headers,
                        timeout=5).json()
    assert page["next"].startswith("http://sandbox.test/sandbox/api/v1/me/tracks?")
    rest = requests.get(page["next"], headers=headers, timeout=5).json()
    assert len(page["items"]) + len(rest["items"]) == 120 and rest["next"] is None

    assert sandbox.calls == [
        ("POST", "/sandbox/oauth/token"), ("GET", "/sandbox/api/v1/me"),
        ("GET", "/sandbox/api/v1/me/tracks"), ("GET", "/sandbox/api/v1/me/tracks"),
    ]


def test_bridge_knobs_and_error_statuses(sandbox):
    sandbox.knobs(rate_limit_rate=1.0, retry_after_seconds=3)
    response = requests.get(f"{settings.THINKALIKE_SANDBOX_URL}/api/v1/me", timeout=5)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    sandbox.knobs(rate_limit_rate=0.0)
    unauthorised = requests.get(f"{settings.THINKALIKE_SANDBOX_URL}/api/v1/me", timeout=5)
    assert unauthorised.status_code == 401
    assert unauthorised.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    with pytest.raises(AttributeError):
        sandbox.knobs(no_such_knob=1)


def test_bridge_sends_the_form_body_and_basic_auth(sandbox):
    revoke = requests.post(
        f"{settings.THINKALIKE_SANDBOX_URL}/oauth/revoke", data={"token": "sbx_at_x"},
        auth=(settings.THINKALIKE_SANDBOX_CLIENT_ID, "wrong"), timeout=5,
    )
    assert revoke.status_code == 401
