"""The allauth provider for the sandbox, against the real sandbox through the bridge."""

import pytest
import responses
from allauth.socialaccount.models import SocialToken
from allauth.socialaccount.providers.base import ProviderException
from django.test import RequestFactory

from integrations.allauth.oauth2 import ConnectOAuth2Mixin
from integrations.providers.sandbox.allauth.views import SandboxOAuth2Adapter

pytestmark = pytest.mark.django_db


@pytest.fixture
def adapter(rf: RequestFactory):
    return SandboxOAuth2Adapter(rf.get("/"))


def test_urls_follow_settings_at_call_time(adapter, settings):
    settings.THINKALIKE_SANDBOX_URL = "http://elsewhere.test/sb/"
    assert adapter.authorize_url == "http://elsewhere.test/sb/oauth/authorize"
    assert adapter.access_token_url == "http://elsewhere.test/sb/oauth/token"
    assert adapter.profile_url == "http://elsewhere.test/sb/api/v1/me"
    assert adapter.basic_auth is True


def test_provider_declaration(adapter):
    provider = adapter.get_provider()
    assert provider.id == "sandbox" and provider.pkce_enabled_default is True
    assert sorted(provider.get_scope()) == ["library.read", "profile.read"]
    assert provider.extract_uid({"id": 7}) == "7"


@pytest.mark.parametrize(("scope", "granted"), [
    ("profile.read library.read", ["library.read", "profile.read"]),
    ("b,a", ["a", "b"]),
    (["z", "y"], ["y", "z"]),
    (None, None),
])
def test_granted_scopes_are_recorded(adapter, scope, granted):
    data = {"access_token": "t", "expires_in": 60}
    if scope is not None:
        data["scope"] = scope
    assert isinstance(adapter, ConnectOAuth2Mixin)
    assert adapter.parse_token(data).granted_scopes == granted


def test_complete_login_reads_the_profile(adapter, sandbox, oauth):
    tokens = oauth.tokens("ana")
    token = SocialToken(token=tokens["access_token"])
    login = adapter.complete_login(adapter.request, None, token)
    assert login.account.uid == "ana"
    assert login.account.extra_data["display_name"] == "Ana"
    assert ("GET", "/sandbox/api/v1/me") in sandbox.calls


@pytest.mark.parametrize("payload", [[], {"display_name": "no id"}, {"id": ""}])
def test_a_malformed_profile_is_a_provider_error(adapter, mocked_responses, payload, settings):
    mocked_responses.add(responses.GET, f"{settings.THINKALIKE_SANDBOX_URL}/api/v1/me",
                         json=payload)
    with pytest.raises(ProviderException):
        adapter.complete_login(adapter.request, None, SocialToken(token="t"))


def test_a_rejected_token_raises_for_status(adapter, sandbox):
    import requests

    with pytest.raises(requests.HTTPError):
        adapter.complete_login(adapter.request, None, SocialToken(token="sbx_at_bad"))
