"""Small builders for test data. Tokens here are fake and recognisable, so leak tests can grep."""

import json
from datetime import timedelta

import requests
from django.contrib.auth import get_user_model
from django.utils import timezone

from consent.purposes import DASHBOARD
from consent.services import consent_set
from integrations.models import Connection, Credential
from integrations.redaction import fingerprint


def make_user(email: str = "ada@example.com", password: str = "pw-0123456789"):
    user = get_user_model().objects.create_user(
        username=email.split("@")[0], email=email, password=password
    )
    return user


def allow_dashboard(user, provider: str = "") -> None:
    """The person allows *Your dashboard* (for ``provider``, or every provider): the proxy
    reads nothing for them without it."""
    consent_set(user=user, purpose=DASHBOARD, granted=True, provider=provider)


def make_connection(
    user,
    provider: str = "spotify",
    *,
    external_id: str = "ext-1",
    access_token: str = "AT-fake-access-0001",
    refresh_token: str = "RT-fake-refresh-0001",
    expires_in: int | None = 3600,
    secret: str = "",
    status: str = Connection.Status.ACTIVE,
) -> Connection:
    connection = Connection.objects.create(
        user=user, provider=provider, external_account_id=external_id,
        account_label=f"label-{external_id}", status=status, next_sync_at=timezone.now(),
    )
    Credential.objects.create(
        connection=connection,
        access_token=access_token,
        refresh_token=refresh_token,
        secret=secret,
        token_type="Bearer",
        expires_at=timezone.now() + timedelta(seconds=expires_in) if expires_in else None,
        fingerprint=fingerprint(access_token),
    )
    return connection


def fake_response(status: int, body=None, headers=None) -> requests.Response:
    """A requests.Response as a provider would answer, for classify_response tests."""
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = json.dumps(body).encode() if body is not None else b""
    return response
