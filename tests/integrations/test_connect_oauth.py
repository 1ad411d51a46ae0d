"""The OAuth connect flow through allauth (integrations/allauth/*, services.connection_store_oauth).

Spotify's real URLs are mocked with ``responses``; the sandbox is reached through the
in-process bridge, so its authorisation server really runs.
"""

from urllib.parse import parse_qs, urlparse

import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.contrib.messages import get_messages
from django.db import connection as db_connection
from django.urls import reverse

from integrations.allauth.adapter import CONNECT_CANCELLED, SIGN_IN_FIRST
from integrations.allauth.receivers import CONNECTED as RECEIVER_CONNECTED
from integrations.models import Connection, Credential, SyncRun
from tests.factories import make_user

TOKEN_URL = "https://accounts.spotify.com/api/token"
ME_URL = "https://api.spotify.com/v1/me"
CONNECTED = "/connections/"


@pytest.fixture
def user(db):
    return make_user()


@pytest.fixture
def auth_client(client, user):
    client.force_login(user)
    return client


def start(client, name="spotify_login"):
    response = client.post(reverse(name) + "?process=connect")
    assert response.status_code == 302
    location = urlparse(response["Location"])
    return location, {k: v[0] for k, v in parse_qs(location.query).items()}


def callback(client, state, name="spotify_callback", **extra):
    return client.get(reverse(name), {"code": "the-code", "state": state, **extra})


def mock_spotify(rsps, *, access="AT-spotify-1", refresh="RT-spotify-1", uid="wizzler",
                 scope="user-top-read user-library-read"):
    token = {"access_token": access, "expires_in": 3600, "token_type": "Bearer", "scope": scope}
    if refresh:
        token["refresh_token"] = refresh
    rsps.post(TOKEN_URL, json=token)
    rsps.get(ME_URL, json={"id": uid, "display_name": "JM Wizzler", "type": "user"})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def raw_column(pk: int, column: str) -> bytes:
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM integrations_credential WHERE id = %s", [pk])
        return bytes(cursor.fetchone()[0])


def test_get_only_shows_a_confirmation_page(auth_client, mocked_responses):
    response = auth_client.get(reverse("spotify_login") + "?process=connect")
    assert response.status_code == 200
    assert len(mocked_responses.calls) == 0


def test_connect_stores_encrypted_tokens_scopes_and_queues_a_sync(
    auth_client, user, mocked_responses, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("integrations.sync.enqueue_many",
                        lambda func, batch: queued.extend((func, *args) for args, _ in batch))
    location, query = start(auth_client)
    assert location.netloc == "accounts.spotify.com"
    assert query["code_challenge_method"] == "S256" and query["state"]
    mock_spotify(mocked_responses)
    with django_capture_on_commit_callbacks(execute=True):
        response = callback(auth_client, query["state"])
    assert response["Location"] == CONNECTED
    assert messages_of(response) == [
        RECEIVER_CONNECTED.format(provider="Spotify", label="JM Wizzler")]

    token_body = parse_qs(mocked_responses.calls[0].request.body)
    assert "code_verifier" in token_body  # PKCE
    assert mocked_responses.calls[1].request.headers["Authorization"] == "Bearer AT-spotify-1"
    assert SocialToken.objects.count() == 0

    conn = Connection.objects.get(user=user)
    assert (conn.provider, conn.external_account_id, conn.account_label) == (
        "spotify", "wizzler", "JM Wizzler")
    assert conn.scopes == ["user-library-read", "user-top-read"]
    credential = Credential.objects.get(connection=conn)
    assert (credential.access_token, credential.refresh_token) == ("AT-spotify-1", "RT-spotify-1")
    raw = raw_column(credential.pk, "access_token")
    assert raw.startswith(b"gAAAA") and b"AT-spotify-1" not in raw
    assert b"RT-spotify-1" not in raw_column(credential.pk, "refresh_token")
    run = SyncRun.objects.get(connection=conn)
    assert run.trigger == SyncRun.Trigger.CONNECT
    assert queued == [("integrations.tasks.sync_run_task", run.pk)]


def test_wrong_state_is_refused_and_lands_on_our_page(auth_client, user, mocked_responses):
    start(auth_client)
    response = callback(auth_client, "forged-state")
    assert response.status_code == 302 and response["Location"] == CONNECTED
    assert len(mocked_responses.calls) == 0  # no token exchange with a forged state
    assert not Connection.objects.exists()


def test_cancel_lands_on_our_page_with_a_message(auth_client, mocked_responses):
    _, query = start(auth_client)
    response = auth_client.get(
        reverse("spotify_callback"), {"error": "access_denied", "state": query["state"]}
    )
    assert response["Location"] == CONNECTED
    assert CONNECT_CANCELLED.format(provider="Spotify") in messages_of(response)


def test_reconnect_keeps_the_refresh_token_when_none_is_sent(auth_client, user, mocked_responses):
    _, query = start(auth_client)
    mock_spotify(mocked_responses)
    callback(auth_client, query["state"])
    Connection.objects.filter(user=user).update(status=Connection.Status.NEEDS_REAUTH)

    mocked_responses.reset()
    _, query = start(auth_client)
    mock_spotify(mocked_responses, access="AT-spotify-2", refresh=None, scope="user-top-read")
    callback(auth_client, query["state"])

    conn = Connection.objects.get(user=user)
    credential = Credential.objects.get(connection=conn)
    assert (credential.access_token, credential.refresh_token) == ("AT-spotify-2", "RT-spotify-1")
    assert conn.status == Connection.Status.ACTIVE
    assert conn.scopes == ["user-top-read"]  # what was granted this time
    assert SocialAccount.objects.filter(user=user).count() == 1


def test_another_users_external_account_is_refused(client, user, mocked_responses):
    other = make_user("bob@example.com")
    client.force_login(other)
    _, query = start(client)
    mock_spotify(mocked_responses, access="AT-bob")
    callback(client, query["state"])
    assert Connection.objects.filter(user=other).exists()

    client.force_login(user)
    mocked_responses.reset()
    _, query = start(client)
    mock_spotify(mocked_responses, access="AT-intruder")  # same Spotify account "wizzler"
    response = callback(client, query["state"])
    assert not Connection.objects.filter(user=user).exists()
    assert "already connected to another ThinkAlike member" in " ".join(messages_of(response))
    bob = Credential.objects.get(connection__user=other)
    assert bob.access_token == "AT-bob"  # the intruder's token never replaced Bob's


def test_social_login_is_refused(client, db, mocked_responses):
    response = client.post(reverse("spotify_login") + "?process=login")
    _, query = response["Location"], parse_qs(urlparse(response["Location"]).query)
    mock_spotify(mocked_responses)
    response = client.get(reverse("spotify_callback"), {"code": "c", "state": query["state"][0]})
    assert response["Location"] == reverse("account_login")
    assert SIGN_IN_FIRST in messages_of(response)
    assert not SocialAccount.objects.exists()
    assert "_auth_user_id" not in client.session


def test_profile_403_is_an_error_message_not_a_500(auth_client, mocked_responses):
    _, query = start(auth_client)
    mocked_responses.post(TOKEN_URL, json={"access_token": "AT-x", "expires_in": 3600})
    mocked_responses.get(ME_URL, status=403, json={"error": {"status": 403, "message": "no"}})
    response = callback(auth_client, query["state"])
    assert response.status_code == 302 and response["Location"] == CONNECTED
    assert not Connection.objects.exists()


def test_sandbox_connect_through_its_real_oauth_server(auth_client, user, sandbox):
    location, query = start(auth_client, "sandbox_login")
    page = auth_client.get(location.path, query)  # the sandbox's consent page
    assert page.status_code == 200
    allow = auth_client.post(location.path, {**query, "account": "ana", "allow": "1"})
    back = urlparse(allow["Location"])
    response = auth_client.get(back.path + "?" + back.query)
    assert response["Location"] == CONNECTED
    conn = Connection.objects.get(user=user, provider="sandbox")
    assert conn.external_account_id == "ana"
    assert conn.scopes == ["library.read", "profile.read"]
    credential = Credential.objects.get(connection=conn)
    assert credential.access_token.startswith("sbx_at_")
    assert credential.refresh_token.startswith("sbx_rt_")
    assert credential.expires_at is not None


def test_a_callback_finishing_after_the_account_was_closed_saves_nothing(
        auth_client, user, mocked_responses):
    """Account deletion in another tab closes the account while this callback runs (after its
    request was signed in): the connect is refused before allauth saves anything, so the
    account is not opened again and no connection is left to cascade unrevoked."""
    import json

    from django.contrib.auth import get_user_model

    from integrations.allauth.adapter import CONNECT_FAILED
    from integrations.services import ACCOUNT_CLOSING

    _, query = start(auth_client)

    def token(request):
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)
        return 200, {}, json.dumps({"access_token": "AT-spotify-1", "expires_in": 3600,
                                    "token_type": "Bearer", "scope": "user-top-read"})

    mocked_responses.add_callback("POST", TOKEN_URL, callback=token)
    mocked_responses.get(ME_URL, json={"id": "wizzler", "display_name": "JM", "type": "user"})
    response = callback(auth_client, query["state"])
    assert response.status_code == 302 and response["Location"] == CONNECTED
    assert messages_of(response) == [
        CONNECT_FAILED.format(provider="Spotify", reason=ACCOUNT_CLOSING)]
    assert not Connection.objects.exists() and not SocialAccount.objects.exists()
    assert not get_user_model().objects.get(pk=user.pk).is_active  # still closed
