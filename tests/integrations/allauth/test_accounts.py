"""A SocialAccount never exists without its Connection, and every disconnect is ours.

Covers integrations/allauth/{adapter,receivers,orphans,checks}.py, the
remove_orphan_social_accounts command, and the /accounts/3rdparty/ route in thinkalike/urls.py.
"""

from datetime import timedelta
from io import StringIO
from urllib.parse import urlparse

import pytest
import time_machine
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialAccount, SocialLogin, SocialToken
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from integrations.allauth.adapter import (
    ALREADY_CONNECTED,
    CONNECT_FAILED,
    DISCONNECT_HERE,
    LINK_EXPIRED,
    ConnectOnlySocialAccountAdapter,
)
from integrations.allauth.oauth2 import BAD_TOKEN_ANSWER
from integrations.allauth.orphans import ORPHAN_GRACE
from integrations.models import Connection, Credential
from tests.factories import make_user
from tests.integrations.test_connect_oauth import (
    CONNECTED,
    callback,
    messages_of,
    mock_spotify,
    start,
)

TOKEN_URL = "https://accounts.spotify.com/api/token"


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def auth_client(client, user):
    client.force_login(user)
    return client


def connect_spotify(client, rsps, **kwargs):
    rsps.reset()
    _, query = start(client)
    mock_spotify(rsps, **kwargs)
    return callback(client, query["state"])


def make_orphan(user, uid="lost", age=ORPHAN_GRACE + timedelta(minutes=1)):
    account = SocialAccount.objects.create(user=user, provider="spotify", uid=uid)
    SocialAccount.objects.filter(pk=account.pk).update(date_joined=timezone.now() - age)
    return account


# --- no orphan is created ---------------------------------------------------------------------

@pytest.mark.parametrize("access_token", ["", None])
def test_an_empty_access_token_leaves_no_account_and_blocks_nobody(
    client, user, mocked_responses, access_token
):
    client.force_login(user)
    _, query = start(client)
    mocked_responses.post(TOKEN_URL, json={"access_token": access_token, "expires_in": 3600})
    mocked_responses.get("https://api.spotify.com/v1/me", json={"id": "wizzler"})
    response = callback(client, query["state"])
    assert response["Location"] == CONNECTED
    assert not SocialAccount.objects.exists() and not Connection.objects.exists()

    other = make_user("bob@example.com")
    client.force_login(other)
    response = connect_spotify(client, mocked_responses)  # the same Spotify account "wizzler"
    assert Connection.objects.get().user == other
    assert SocialAccount.objects.get().user == other


def test_pre_social_login_refuses_a_login_without_a_token(rf, user):
    """The adapter's guard, for an allauth adapter that lacks ConnectOAuth2Mixin."""
    request = rf.get("/")
    request.user, request.session = user, {}
    request._messages = FallbackStorage(request)
    for token in (None, SocialToken(token=""), SocialToken(token=None)):
        login = SocialLogin(account=SocialAccount(provider="spotify", uid="wizzler"))
        login.token, login.state = token, {"process": "connect"}
        with pytest.raises(ImmediateHttpResponse) as refused:
            ConnectOnlySocialAccountAdapter(request).pre_social_login(request, login)
        assert refused.value.response["Location"] == CONNECTED
    assert [str(m) for m in get_messages(request)] == [
        CONNECT_FAILED.format(provider="Spotify", reason=BAD_TOKEN_ANSWER)] * 3
    assert not SocialAccount.objects.exists()


@pytest.mark.parametrize("failure", [ValueError, RuntimeError])
def test_a_failed_store_deletes_the_account_allauth_just_saved(
    auth_client, mocked_responses, monkeypatch, failure
):
    def broken(**kwargs):
        assert SocialAccount.objects.filter(uid="wizzler").exists()  # saved by allauth
        raise failure("store failed")

    monkeypatch.setattr("integrations.allauth.receivers.connection_store_oauth", broken)
    with pytest.raises(failure):  # our bug stays a 500 with its traceback, but leaves nothing
        connect_spotify(auth_client, mocked_responses)
    assert not SocialAccount.objects.exists() and not Connection.objects.exists()


def test_reconnecting_another_external_account_removes_the_old_account(
    auth_client, user, mocked_responses
):
    connect_spotify(auth_client, mocked_responses, uid="first")
    connect_spotify(auth_client, mocked_responses, uid="second", access="AT-spotify-2")
    connection = Connection.objects.get(user=user)
    assert connection.external_account_id == "second"
    assert list(SocialAccount.objects.values_list("uid", flat=True)) == ["second"]
    assert connection.social_account.uid == "second"


# --- the check and the command -----------------------------------------------------------------

def test_check_reports_orphans_older_than_a_connect_in_progress(user):
    assert [m for m in run_checks(databases=["default"]) if m.id == "thinkalike.W010"] == []
    young = make_orphan(user, "young", age=timedelta(seconds=5))
    assert not [m for m in run_checks(databases=["default"]) if m.id == "thinkalike.W010"]
    old = make_orphan(user, "old")
    warnings = [m for m in run_checks(databases=["default"]) if m.id == "thinkalike.W010"]
    assert len(warnings) == 1
    assert f"ids: {old.pk})" in warnings[0].msg and str(young.pk) not in warnings[0].msg
    assert "remove_orphan_social_accounts" in warnings[0].hint


def test_check_is_silent_without_a_database_and_with_linked_accounts(user, auth_client,
                                                                     mocked_responses):
    make_orphan(user)
    assert not [m for m in run_checks() if m.id == "thinkalike.W010"]  # plain check: no query
    SocialAccount.objects.all().delete()
    connect_spotify(auth_client, mocked_responses)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert not [m for m in run_checks(databases=["default"]) if m.id == "thinkalike.W010"]


def test_command_lists_with_dry_run_and_then_removes_only_orphans(
    user, auth_client, mocked_responses
):
    connect_spotify(auth_client, mocked_responses)
    SocialAccount.objects.update(date_joined=timezone.now() - timedelta(days=1))
    orphan = make_orphan(make_user("bob@example.com"), "lost-one")

    out = StringIO()
    call_command("remove_orphan_social_accounts", "--dry-run", stdout=out)
    assert "spotify account lost-one" in out.getvalue()
    assert "Would delete 1 orphan social account(s)." in out.getvalue()
    assert SocialAccount.objects.count() == 2

    out = StringIO()
    call_command("remove_orphan_social_accounts", stdout=out)
    assert "Deleted 1 orphan social account(s)." in out.getvalue()
    assert not SocialAccount.objects.filter(pk=orphan.pk).exists()
    assert Connection.objects.get().social_account is not None  # the linked one stays


# --- allauth's own disconnect page --------------------------------------------------------------

@pytest.mark.parametrize("method", ["get", "post"])
def test_allauths_connections_page_cannot_disconnect(auth_client, user, mocked_responses, method):
    connect_spotify(auth_client, mocked_responses)
    account = SocialAccount.objects.get()
    response = getattr(auth_client, method)("/accounts/3rdparty/", {"account": account.pk})
    assert response.status_code == 302 and response["Location"] == CONNECTED
    connection = Connection.objects.get(user=user)
    assert connection.status == Connection.Status.ACTIVE
    assert connection.social_account_id == account.pk
    assert Credential.objects.get(connection=connection).access_token == "AT-spotify-1"


def test_the_adapter_refuses_every_allauth_disconnect(user):
    account = SocialAccount(user=user, provider="spotify", uid="x")
    with pytest.raises(ValidationError, match=DISCONNECT_HERE):
        ConnectOnlySocialAccountAdapter().validate_disconnect(account, [account])


# --- a second Allow after Back -------------------------------------------------------------------

def sandbox_allow(client):
    location, query = start(client, "sandbox_login")
    allow = client.post(location.path, {**query, "account": "ana", "allow": "1"})
    back = urlparse(allow["Location"])
    return location, query, back


def test_a_second_allow_after_back_says_already_connected(auth_client, user, sandbox):
    location, query, back = sandbox_allow(auth_client)
    first = auth_client.get(back.path + "?" + back.query)
    assert first["Location"] == CONNECTED
    auth_client.get(CONNECTED)  # shows (and so uses up) the "Connected" message
    # Back to the consent page (same state), Allow again: a new code for a state already used.
    again = urlparse(auth_client.post(location.path, {**query, "account": "ana", "allow": "1"})
                     ["Location"])
    second = auth_client.get(again.path + "?" + again.query)
    assert second.status_code == 302 and second["Location"] == CONNECTED
    assert messages_of(second) == [ALREADY_CONNECTED.format(provider="Sandbox")]
    assert Connection.objects.get(user=user).status == Connection.Status.ACTIVE


def test_a_stale_callback_without_a_recent_connect_says_so(auth_client, user, sandbox):
    location, query, back = sandbox_allow(auth_client)
    auth_client.get(back.path + "?" + back.query)
    auth_client.get(CONNECTED)
    again = urlparse(auth_client.post(location.path, {**query, "account": "ana", "allow": "1"})
                     ["Location"])
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        late = auth_client.get(again.path + "?" + again.query)
    assert messages_of(late) == [LINK_EXPIRED.format(provider="Sandbox")]

    auth_client.get(CONNECTED)
    Connection.objects.all().delete()  # and with no connection at all
    response = auth_client.get(again.path + "?" + again.query)
    assert messages_of(response) == [LINK_EXPIRED.format(provider="Sandbox")]
