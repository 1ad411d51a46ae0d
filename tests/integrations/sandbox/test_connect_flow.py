"""The whole allauth connect flow against the sandbox: connect -> consent -> callback."""

from urllib.parse import urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.http import QueryDict

pytestmark = pytest.mark.django_db


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_connect_through_the_consent_page(client, sandbox, django_user_model):
    user = django_user_model.objects.create_user("u", "u@example.com", "pw")
    client.force_login(user)

    to_sandbox = client.post("/accounts/sandbox/login/", {"process": "connect"})
    authorize = urlsplit(to_sandbox["Location"])
    assert authorize.netloc == "sandbox.test"
    params = QueryDict(authorize.query).dict()
    assert params["code_challenge_method"] == "S256"  # PKCE is on by default

    assert client.get(local(to_sandbox["Location"])).status_code == 200
    back = client.post(authorize.path, {**params, "account": "ana", "allow": "1"})
    callback = client.get(local(back["Location"]))

    assert callback.status_code == 302
    account = SocialAccount.objects.get(user=user, provider="sandbox")
    assert account.uid == "ana"
    assert str(account.get_provider_account()) == "Ana"
    assert sandbox.calls == [("POST", "/sandbox/oauth/token"), ("GET", "/sandbox/api/v1/me")]
