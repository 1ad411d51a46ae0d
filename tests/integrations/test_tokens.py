"""integrations/tokens.py: refresh before expiry, rotation, invalid_grant, temporary failures."""

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from integrations.exceptions import ReauthRequired, TryLater
from integrations.models import AuditEvent, Connection, Credential, ExternalItem
from integrations.tokens import access_token_for, token_refresh
from tests.factories import make_connection, make_user

TOKEN_URL = "https://accounts.spotify.com/api/token"


@pytest.fixture
def user(db):
    return make_user()


def test_fresh_token_makes_no_http_call(user, mocked_responses):
    connection = make_connection(user, expires_in=3600)
    assert access_token_for(connection=connection) == "AT-fake-access-0001"
    assert len(mocked_responses.calls) == 0


def test_token_within_margin_is_refreshed_first(user, mocked_responses):
    connection = make_connection(user, expires_in=60)  # margin is 300 s
    mocked_responses.post(TOKEN_URL, json={
        "access_token": "AT-2", "refresh_token": "RT-2", "expires_in": 3600,
        "scope": "user-top-read user-library-read", "token_type": "Bearer",
    })
    assert access_token_for(connection=connection) == "AT-2"
    request = mocked_responses.calls[0].request
    body = parse_qs(request.body)
    assert body == {"grant_type": ["refresh_token"], "refresh_token": ["RT-fake-refresh-0001"]}
    assert request.headers["Authorization"].startswith("Basic ")  # Spotify: client in Basic
    credential = Credential.objects.get()
    assert (credential.access_token, credential.refresh_token) == ("AT-2", "RT-2")
    assert credential.expires_at > timezone.now() + timedelta(minutes=50)
    assert credential.refreshed_at is not None
    assert Connection.objects.get().scopes == ["user-library-read", "user-top-read"]


def test_refresh_without_new_refresh_token_keeps_the_old_one(user, mocked_responses):
    connection = make_connection(user, expires_in=10)
    mocked_responses.post(TOKEN_URL, json={"access_token": "AT-3", "expires_in": 3600})
    token_refresh(connection=connection)
    assert Credential.objects.get().refresh_token == "RT-fake-refresh-0001"


def test_stale_token_after_another_worker_refreshed_makes_no_call(user, mocked_responses):
    connection = make_connection(user, access_token="AT-current")
    assert token_refresh(connection=connection, stale_access_token="AT-old") == "AT-current"
    assert len(mocked_responses.calls) == 0


def test_invalid_grant_sets_needs_reauth_and_keeps_data(user, mocked_responses):
    connection = make_connection(user, expires_in=10)
    ExternalItem.objects.create(connection=connection, kind="artist", external_id="a1",
                                title="Radiohead", content_hash="x")
    mocked_responses.post(TOKEN_URL, status=400, json={
        "error": "invalid_grant", "error_description": "Refresh token revoked"})
    with pytest.raises(ReauthRequired):
        token_refresh(connection=connection)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert ExternalItem.objects.filter(connection=connection).count() == 1
    assert Credential.objects.get().refresh_token == "RT-fake-refresh-0001"  # rolled back intact
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MARKED_REAUTH).count() == 1


def test_temporary_token_endpoint_failure_does_not_flag(user, mocked_responses):
    connection = make_connection(user, expires_in=10)
    mocked_responses.post(TOKEN_URL, status=503)
    with pytest.raises(TryLater):
        token_refresh(connection=connection)
    assert Connection.objects.get().status == Connection.Status.ACTIVE
    assert len(mocked_responses.calls) == 1  # a refresh is never retried blindly


def test_missing_refresh_token_means_reconnect(user, mocked_responses):
    connection = make_connection(user, refresh_token="", expires_in=10)
    with pytest.raises(ReauthRequired):
        token_refresh(connection=connection)
    assert len(mocked_responses.calls) == 0
    assert Connection.objects.get().status == Connection.Status.NEEDS_REAUTH
