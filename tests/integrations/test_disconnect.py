"""services.connection_disconnect: revoke where possible, delete everything imported."""

import pytest
from allauth.socialaccount.models import SocialAccount

from consent.models import ConsentGrant
from consent.services import consent_set
from integrations.models import (
    ApiCall,
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    Interest,
    SyncRun,
    UserInterest,
)
from integrations.services import connection_disconnect
from tests.factories import make_connection, make_user


@pytest.fixture
def user(db):
    return make_user()


def add_imported_data(connection):
    item = ExternalItem.objects.create(connection=connection, kind="track", external_id="t1",
                                       title="Song", content_hash="h")
    interest = Interest.objects.create(slug="music-rock", label="Rock", category="music")
    UserInterest.objects.create(user=connection.user, interest=interest, connection=connection,
                                weight=1.0, purpose="matching")
    SyncRun.objects.create(connection=connection, trigger="manual", status="succeeded")
    return item


def test_sandbox_disconnect_revokes_and_purges(user, sandbox, client):
    from integrations.sandbox.models import SandboxGrant
    from tests.integrations.sandbox.conftest import OAuthDriver

    tokens = OAuthDriver(client).tokens("demo-listener")
    account = SocialAccount.objects.create(user=user, provider="sandbox", uid="demo-listener")
    connection = make_connection(user, "sandbox", external_id="demo-listener",
                                 access_token=tokens["access_token"],
                                 refresh_token=tokens["refresh_token"])
    Connection.objects.filter(pk=connection.pk).update(social_account=account)
    connection.refresh_from_db()
    add_imported_data(connection)
    consent_set(user=user, purpose="matching", granted=True, provider="sandbox")

    result = connection_disconnect(connection=connection, actor="ada@example.com")

    assert result.revoked is True
    assert ("POST", "/sandbox/oauth/revoke") in sandbox.calls
    assert SandboxGrant.objects.get().revoked is True
    # the revoked access token no longer works at the provider
    api = OAuthDriver(client).api("me", tokens["access_token"])
    assert api.status_code == 401
    for model in (Connection, Credential, ExternalItem, UserInterest, SyncRun, SocialAccount):
        assert not model.objects.exists(), model.__name__
    assert not ConsentGrant.objects.filter(provider="sandbox").exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditEvent.Action.REVOKED, AuditEvent.Action.DISCONNECTED} <= actions
    assert ApiCall.objects.filter(path="/sandbox/oauth/revoke").exists()  # the log line stays


def test_failed_revocation_still_disconnects(user, sandbox, settings, no_sleep):
    connection = make_connection(user, "sandbox", access_token="sbx_at_x", refresh_token="")
    # An unreachable provider: nothing answers for this host, so every attempt fails.
    settings.THINKALIKE_SANDBOX_URL = "http://sandbox-down.test/sandbox"
    result = connection_disconnect(connection=connection)
    assert result.revoked is False and result.revoke_note
    assert not Connection.objects.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REVOKE_FAILED).exists()


def test_spotify_has_no_revocation_and_says_where_to_revoke(user, mocked_responses):
    connection = make_connection(user, "spotify")
    add_imported_data(connection)
    result = connection_disconnect(connection=connection)
    assert result.revoked is False
    assert "spotify.com/account/apps" in result.revoke_note
    assert len(mocked_responses.calls) == 0
    assert not ExternalItem.objects.exists() and not UserInterest.objects.exists()


def test_other_users_data_is_untouched(user, mocked_responses):
    other = make_user("bob@example.com")
    mine = make_connection(user, "spotify")
    theirs = make_connection(other, "spotify", external_id="bob")
    add_imported_data(mine)
    ExternalItem.objects.create(connection=theirs, kind="track", external_id="t1", title="X",
                                content_hash="h")
    connection_disconnect(connection=mine)
    assert Connection.objects.get() == theirs
    assert ExternalItem.objects.filter(connection=theirs).count() == 1
