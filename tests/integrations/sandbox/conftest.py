"""Helpers for driving the sandbox's OAuth server from tests."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from tests.sandbox_bridge import sandbox  # noqa: F401

REDIRECT_URI = "http://testserver/accounts/sandbox/login/callback/"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def basic_auth(client_id=None, secret=None) -> str:
    pair = f"{client_id or settings.THINKALIKE_SANDBOX_CLIENT_ID}:"
    pair += secret or settings.THINKALIKE_SANDBOX_CLIENT_SECRET
    return "Basic " + base64.b64encode(pair.encode()).decode()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class OAuthDriver:
    """Walks the consent page and the token endpoint the way allauth would."""

    client: object

    def authorize_params(self, **overrides) -> dict[str, str]:
        return {
            "client_id": settings.THINKALIKE_SANDBOX_CLIENT_ID, "redirect_uri": REDIRECT_URI,
            "response_type": "code", "state": "st4te", "scope": "library.read profile.read",
            **overrides,
        }

    def code(self, *, account="demo-listener", verifier=None, **overrides) -> str:
        params = self.authorize_params(**overrides)
        if verifier:
            params.update(code_challenge=s256(verifier), code_challenge_method="S256")
        response = self.client.post(
            "/sandbox/oauth/authorize", {**params, "account": account, "allow": "1"}
        )
        assert response.status_code == 302, response.content
        return query_of(response["Location"])["code"]

    def token_request(self, **data):
        return self.client.post(
            "/sandbox/oauth/token", data, HTTP_AUTHORIZATION=basic_auth()
        )

    def exchange(self, code: str, verifier: str | None = None, redirect_uri=REDIRECT_URI):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if verifier:
            data["code_verifier"] = verifier
        return self.token_request(**data)

    def tokens(self, account="demo-listener") -> dict:
        verifier = secrets.token_urlsafe(48)
        response = self.exchange(self.code(account=account, verifier=verifier), verifier)
        assert response.status_code == 200, response.content
        return response.json()

    def api(self, path: str, access_token: str, **params):
        return self.client.get(
            f"/sandbox/api/v1/{path}", params, HTTP_AUTHORIZATION=f"Bearer {access_token}"
        )


@pytest.fixture
def oauth(client, settings):
    settings.THINKALIKE_SANDBOX = True
    return OAuthDriver(client)
