"""A person's own OAuth app (integrations/oauth_apps.py): saving and removing it, the secret
encrypted and never shown, the connect going through it (allauth's adapter), and refresh using
the app that issued the token, never another."""

import io
import json
import logging
import threading
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connections, transaction
from django.db import connection as db
from django.urls import reverse

from integrations.exceptions import ReauthRequired
from integrations.models import ApiCall, AuditEvent, Connection, Credential, OAuthClientApp
from integrations.oauth_apps import (
    APP_CHANGED,
    APP_REMOVED,
    APP_UNREADABLE,
    CLIENT_ID_INVALID,
    NOT_SUPPORTED,
    SECRET_INVALID,
    SECRET_REQUIRED,
    PersonalAppInvalid,
    PersonalAppUnsupported,
    client_for_credential,
    oauth_app_delete,
    oauth_app_for,
    oauth_app_save,
)
from integrations.providers.anilist import client as anilist
from integrations.providers.contract import fixture
from integrations.providers.myanimelist import client as mal
from integrations.providers.registry import get_provider
from integrations.tokens import token_refresh
from tests.factories import make_connection, make_user

MAL = get_provider("myanimelist")
ANILIST = get_provider("anilist")
OPERATOR_ID = "mal-test-client-id-0f1e2d3c4b5a"  # settings_test.py
OPERATOR_SECRET = "mal-test-client-secret-0123456789"
OWN_ID = "own-mal-client-id-7777"
OWN_SECRET = "own-mal-client-secret-SHOULD-NEVER-SHOW-4242"
TOKEN = fixture(mal.__file__, "token")
ME = fixture(mal.__file__, "me")


@pytest.fixture
def person(db, client):
    user = make_user("otaku@example.com")
    client.force_login(user)
    return user


def own_app(user, client_id=OWN_ID, secret=OWN_SECRET) -> OAuthClientApp:
    return oauth_app_save(user=user, provider=MAL, client_id=client_id, client_secret=secret)


def raw_secret(app: OAuthClientApp) -> bytes:
    with db.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM integrations_oauthclientapp WHERE id = %s",
                       [app.pk])
        return bytes(cursor.fetchone()[0])


def form(body: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body).items()}


# --- saving and removing ----------------------------------------------------------------------

def test_save_creates_then_updates_and_keeps_the_secret_when_left_empty(person):
    app = own_app(person)
    assert (app.client_id, app.client_secret) == (OWN_ID, OWN_SECRET)
    again = oauth_app_save(user=person, provider=MAL, client_id=f"  {OWN_ID}  ", client_secret="")
    assert again.pk == app.pk and OAuthClientApp.objects.count() == 1
    oauth_app_save(user=person, provider=MAL, client_id="other-id", client_secret="other-secret")
    stored = OAuthClientApp.objects.get()
    assert (stored.client_id, stored.client_secret) == ("other-id", "other-secret")
    actions = list(AuditEvent.objects.filter(user=person).values_list("action", "message"))
    assert actions == [("app_saved", "client id other-id"), ("app_saved", f"client id {OWN_ID}"),
                       ("app_saved", f"client id {OWN_ID}")]
    assert all(OWN_SECRET not in message for _, message in actions)


def test_a_new_client_id_needs_its_own_secret(person):
    own_app(person)
    with pytest.raises(PersonalAppInvalid) as caught:  # else OWN_SECRET is sent as other-id's
        oauth_app_save(user=person, provider=MAL, client_id="other-id", client_secret="  ")
    assert caught.value.fields == {"client_secret": SECRET_REQUIRED}
    stored = OAuthClientApp.objects.get()
    assert (stored.client_id, stored.client_secret) == (OWN_ID, OWN_SECRET)
    assert AuditEvent.objects.count() == 1


def test_a_first_save_racing_another_updates_the_row_it_lost_to(person, monkeypatch):
    """Two first saves at once: neither finds a row to lock, the other inserts first. The
    loser saves over that row instead of failing on the unique constraint (a 500)."""
    theirs = OAuthClientApp.objects.create(user=person, provider="myanimelist",
                                           client_id="theirs", client_secret="their-secret")
    manager, lookups = OAuthClientApp.objects, []
    real_lookup = manager.select_for_update

    def looked_before_the_other_committed(*args, **kwargs):
        lookups.append(1)
        return manager.none() if len(lookups) == 1 else real_lookup(*args, **kwargs)

    monkeypatch.setattr(manager, "select_for_update", looked_before_the_other_committed)
    app = own_app(person)
    assert len(lookups) == 2 and app.pk == theirs.pk
    stored = OAuthClientApp.objects.get()
    assert (stored.client_id, stored.client_secret) == (OWN_ID, OWN_SECRET)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(db.vendor != "postgresql",
                    reason="the insert race needs PostgreSQL (run in CI's second leg)")
def test_first_saves_raced_for_real_all_succeed_and_leave_one_row():
    users = [make_user(f"racer{n}@example.com") for n in range(10)]
    barrier, errors = threading.Barrier(4), []

    def save(user, n):
        try:
            barrier.wait()
            own_app(user, client_id=f"id-{n}", secret=f"secret-{n}")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    for user in users:  # four first saves at once, per person
        threads = [threading.Thread(target=save, args=(user, n)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    for app in OAuthClientApp.objects.all():  # each app's secret is its own client id's
        assert app.client_secret == app.client_id.replace("id-", "secret-")
    assert OAuthClientApp.objects.count() == len(users)


def test_the_secret_is_encrypted_at_rest(person):
    app = own_app(person)
    assert OWN_SECRET.encode() not in raw_secret(app)
    assert OAuthClientApp.objects.get().client_secret == OWN_SECRET


@pytest.mark.parametrize(("client_id", "secret", "errors"), [
    ("", OWN_SECRET, {"client_id": CLIENT_ID_INVALID}),
    ("has space", OWN_SECRET, {"client_id": CLIENT_ID_INVALID}),
    ("x" * 256, OWN_SECRET, {"client_id": CLIENT_ID_INVALID}),
    ("id\u00e9", OWN_SECRET, {"client_id": CLIENT_ID_INVALID}),
    (OWN_ID, "", {"client_secret": SECRET_REQUIRED}),
    (OWN_ID, "two words", {"client_secret": SECRET_INVALID}),
    (OWN_ID, "s" * 1001, {"client_secret": SECRET_INVALID}),
])
def test_bad_input_saves_nothing(person, client_id, secret, errors):
    with pytest.raises(PersonalAppInvalid) as caught:
        oauth_app_save(user=person, provider=MAL, client_id=client_id, client_secret=secret)
    assert caught.value.fields == errors
    assert not OAuthClientApp.objects.exists() and not AuditEvent.objects.exists()


def test_a_client_id_of_255_printable_characters_is_fine(person):
    assert own_app(person, client_id="x" * 255).client_id == "x" * 255


def test_providers_that_do_not_declare_it_refuse(person):
    for slug in ("spotify", "github", "sandbox", "telegram"):
        provider = get_provider(slug)
        with pytest.raises(PersonalAppUnsupported) as caught:
            oauth_app_save(user=person, provider=provider, client_id="id", client_secret="s")
        assert caught.value.message == NOT_SUPPORTED.format(name=provider.name)
    assert not OAuthClientApp.objects.exists()
    assert MAL.personal_app and ANILIST.personal_app


def test_delete_removes_it_and_says_so_once(person):
    own_app(person)
    assert oauth_app_delete(user=person, provider=MAL) is True
    assert oauth_app_for(user=person, provider="myanimelist") is None
    assert oauth_app_delete(user=person, provider=MAL) is False
    assert AuditEvent.objects.filter(action="app_deleted").count() == 1


def test_one_app_per_person_and_provider(person):
    other = make_user("other@example.com")
    own_app(person)
    own_app(other, client_id="theirs")
    own_app(person, client_id="mine-again")
    assert sorted(OAuthClientApp.objects.values_list("user__email", "client_id")) == [
        ("otaku@example.com", "mine-again"), ("other@example.com", "theirs")]
    with pytest.raises(IntegrityError), transaction.atomic():
        OAuthClientApp.objects.create(user=person, provider="myanimelist", client_id="dup",
                                      client_secret="s")


# --- the connect ------------------------------------------------------------------------------

def start(client) -> dict:
    response = client.post(reverse("myanimelist_login") + "?process=connect")
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == mal.AUTHORIZE_URL
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def connect(client, mocked_responses, token=TOKEN) -> Credential:
    query = start(client)
    mocked_responses.post(mal.TOKEN_URL, json=token)
    mocked_responses.get(mal.API_BASE + mal.ME, json=ME)
    response = client.get(reverse("myanimelist_callback"),
                          {"code": "the-code", "state": query["state"]})
    assert response["Location"] == reverse("integrations:connected_services")
    return Credential.objects.get(connection__provider="myanimelist")


def test_the_connect_goes_through_the_persons_own_app(person, client, mocked_responses):
    app = own_app(person)
    assert start(client)["client_id"] == OWN_ID

    credential = connect(client, mocked_responses)

    exchange = form(mocked_responses.calls[0].request.body)
    assert (exchange["client_id"], exchange["client_secret"]) == (OWN_ID, OWN_SECRET)
    assert (credential.client_app_id, credential.client_id) == (app.pk, OWN_ID)


def test_without_an_own_app_the_operators_app_is_used(person, client, mocked_responses):
    assert start(client)["client_id"] == OPERATOR_ID
    credential = connect(client, mocked_responses)
    exchange = form(mocked_responses.calls[0].request.body)
    assert (exchange["client_id"], exchange["client_secret"]) == (OPERATOR_ID, OPERATOR_SECRET)
    assert (credential.client_app_id, credential.client_id) == (None, "")


def test_another_persons_app_is_never_used(person, client, mocked_responses):
    own_app(make_user("other@example.com"))
    assert start(client)["client_id"] == OPERATOR_ID
    connect(client, mocked_responses)
    assert form(mocked_responses.calls[0].request.body)["client_id"] == OPERATOR_ID


def test_an_own_app_for_another_provider_changes_nothing_here(person, client):
    oauth_app_save(user=person, provider=ANILIST, client_id="9999", client_secret="al-secret")
    assert start(client)["client_id"] == OPERATOR_ID


def test_reconnecting_after_removing_the_app_goes_back_to_the_operators(person, client,
                                                                       mocked_responses):
    own_app(person)
    connect(client, mocked_responses)
    oauth_app_delete(user=person, provider=MAL)
    mocked_responses.calls.reset()
    credential = connect(client, mocked_responses)
    assert form(mocked_responses.calls[0].request.body)["client_id"] == OPERATOR_ID
    assert (credential.client_app_id, credential.client_id) == (None, "")


NO_REFRESH_TOKEN = {k: v for k, v in TOKEN.items() if k != "refresh_token"}


def test_a_refresh_token_of_the_operators_app_is_dropped_on_reconnecting_through_an_own_one(
        person, client, mocked_responses):
    connect(client, mocked_responses)  # the operator's app issued TOKEN's refresh token
    own_app(person)
    credential = connect(client, mocked_responses, NO_REFRESH_TOKEN)
    assert credential.client_id == OWN_ID
    assert credential.access_token == TOKEN["access_token"] and credential.refresh_token == ""
    mocked_responses.calls.reset()
    with pytest.raises(ReauthRequired):  # nothing to renew with: reconnect, nothing is sent
        token_refresh(connection=credential.connection,
                      stale_access_token=credential.access_token)
    assert not mocked_responses.calls


def test_a_refresh_token_of_an_own_app_is_dropped_on_reconnecting_through_another(
        person, client, mocked_responses):
    own_app(person)
    connect(client, mocked_responses)
    oauth_app_delete(user=person, provider=MAL)  # back to the operator's app
    assert connect(client, mocked_responses, NO_REFRESH_TOKEN).refresh_token == ""
    own_app(person)
    connect(client, mocked_responses)
    own_app(person, client_id="another-own-client-id")  # another issuer at the provider
    assert connect(client, mocked_responses, NO_REFRESH_TOKEN).refresh_token == ""


def test_the_same_app_reconnecting_without_a_refresh_token_keeps_the_stored_one(
        person, client, mocked_responses):
    own_app(person)
    connect(client, mocked_responses)
    own_app(person, secret="rotated-secret-0001")  # same client id: same issuer
    credential = connect(client, mocked_responses, NO_REFRESH_TOKEN)
    assert credential.refresh_token == TOKEN["refresh_token"] and credential.client_id == OWN_ID


def test_an_own_app_makes_the_provider_connectable_without_the_operators(person, client,
                                                                        settings):
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers.pop("myanimelist")
    settings.SOCIALACCOUNT_PROVIDERS = providers
    assert not MAL.is_available()
    page = client.get(reverse("integrations:connected_services")).content.decode()
    assert "myanimelist_login" not in page and reverse("myanimelist_login") not in page
    own_app(person)
    page = client.get(reverse("integrations:connected_services")).content.decode()
    assert reverse("myanimelist_login") in page
    assert start(client)["client_id"] == OWN_ID


# --- refresh and revoke -----------------------------------------------------------------------

def connected_through(user, app: OAuthClientApp | None) -> Connection:
    connection = make_connection(user, "myanimelist", external_id="1234567",
                                 access_token="AT-old", refresh_token="RT-old", expires_in=60)
    Credential.objects.filter(connection=connection).update(
        client_app=app, client_id=app.client_id if app else "")
    return connection


def test_refresh_uses_the_app_that_issued_the_token(person, mocked_responses):
    connection = connected_through(person, own_app(person))
    mocked_responses.post(mal.TOKEN_URL, json=TOKEN)
    assert token_refresh(connection=connection) == TOKEN["access_token"]
    sent = form(mocked_responses.calls[0].request.body)
    assert (sent["client_id"], sent["client_secret"]) == (OWN_ID, OWN_SECRET)


def test_refresh_keeps_the_issuing_app_when_the_operators_app_changes(person, mocked_responses,
                                                                     settings):
    connection = connected_through(person, own_app(person))
    settings.SOCIALACCOUNT_PROVIDERS = {**settings.SOCIALACCOUNT_PROVIDERS, "myanimelist": {
        "APPS": [{"client_id": "new-operator-id", "secret": "new-operator-secret"}]}}
    mocked_responses.post(mal.TOKEN_URL, json=TOKEN)
    token_refresh(connection=connection)
    assert form(mocked_responses.calls[0].request.body)["client_id"] == OWN_ID


def test_the_operators_tokens_refresh_with_the_operators_current_app(person, mocked_responses,
                                                                    settings):
    own_app(person)  # saved after connecting: the token was not issued to it
    connection = connected_through(person, None)
    settings.SOCIALACCOUNT_PROVIDERS = {**settings.SOCIALACCOUNT_PROVIDERS, "myanimelist": {
        "APPS": [{"client_id": "new-operator-id", "secret": "new-operator-secret"}]}}
    mocked_responses.post(mal.TOKEN_URL, json=TOKEN)
    token_refresh(connection=connection)
    sent = form(mocked_responses.calls[0].request.body)
    assert (sent["client_id"], sent["client_secret"]) == ("new-operator-id",
                                                          "new-operator-secret")


def test_a_removed_app_means_reconnect_and_nothing_is_sent(person, mocked_responses):
    connection = connected_through(person, own_app(person))
    oauth_app_delete(user=person, provider=MAL)
    with pytest.raises(ReauthRequired) as caught:
        token_refresh(connection=connection)
    assert caught.value.message == APP_REMOVED.format(provider="MyAnimeList")
    assert not mocked_responses.calls  # never the operator's app instead
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert connection.last_error == APP_REMOVED.format(provider="MyAnimeList")


def test_a_changed_client_id_means_reconnect(person, mocked_responses):
    connection = connected_through(person, own_app(person))
    own_app(person, client_id="a-new-client-id")
    with pytest.raises(ReauthRequired) as caught:
        token_refresh(connection=connection)
    assert caught.value.message == APP_CHANGED.format(provider="MyAnimeList")
    assert not mocked_responses.calls


def test_a_rotated_secret_of_the_same_app_is_used(person, mocked_responses):
    connection = connected_through(person, own_app(person))
    own_app(person, secret="rotated-secret-0001")
    mocked_responses.post(mal.TOKEN_URL, json=TOKEN)
    token_refresh(connection=connection)
    assert form(mocked_responses.calls[0].request.body)["client_secret"] == "rotated-secret-0001"


def test_revoke_and_refresh_pick_the_same_client(person):
    app = own_app(person)
    credential = Credential.objects.get(connection=connected_through(person, app))
    client = client_for_credential(credential, MAL)
    assert (client.client_id, client.secret) == (OWN_ID, OWN_SECRET)
    assert OWN_SECRET not in repr(client)
    endpoint = MAL.auth.token_endpoint(MAL, client)
    assert endpoint.body == {"client_id": OWN_ID, "client_secret": OWN_SECRET}
    assert endpoint.secrets == (OWN_SECRET,)
    assert MAL.auth.token_endpoint(MAL).body["client_id"] == OPERATOR_ID


# --- the page ---------------------------------------------------------------------------------

def test_the_page_saves_shows_the_client_id_but_never_the_secret(person, client):
    url = reverse("integrations:personal_app", args=["myanimelist"])
    page = client.get(url).content.decode()
    assert "http://testserver" + reverse("myanimelist_callback") in page
    response = client.post(url, {"client_id": OWN_ID, "client_secret": OWN_SECRET}, follow=True)
    page = response.content.decode()
    assert OWN_ID in page and "Secret saved" in page
    assert OWN_SECRET not in page
    assert OAuthClientApp.objects.get(user=person).client_secret == OWN_SECRET
    # The card says the person has their own app, and still never the secret.
    services = client.get(reverse("integrations:connected_services")).content.decode()
    assert "Your own app" in services and OWN_SECRET not in services


def test_the_page_shows_errors_and_saves_nothing(person, client):
    url = reverse("integrations:personal_app", args=["myanimelist"])
    page = client.post(url, {"client_id": "has space", "client_secret": OWN_SECRET})
    assert page.status_code == 200
    assert CLIENT_ID_INVALID in page.content.decode()
    assert OWN_SECRET not in page.content.decode()  # not rendered back into the form
    assert not OAuthClientApp.objects.exists()


def test_the_page_asks_for_the_secret_of_a_new_client_id(person, client):
    own_app(person)
    url = reverse("integrations:personal_app", args=["myanimelist"])
    page = client.post(url, {"client_id": "other-id", "client_secret": ""})
    assert page.status_code == 200 and SECRET_REQUIRED in page.content.decode()
    assert OAuthClientApp.objects.get().client_id == OWN_ID
    response = client.post(url, {"client_id": OWN_ID, "client_secret": ""})  # same id: kept
    assert response.status_code == 302
    assert OAuthClientApp.objects.get().client_secret == OWN_SECRET


def test_the_page_removes_it(person, client):
    own_app(person)
    response = client.post(reverse("integrations:personal_app_delete", args=["myanimelist"]))
    assert response.status_code == 302
    assert not OAuthClientApp.objects.exists()


def test_the_page_exists_only_for_providers_that_take_one(person, client):
    assert client.get(reverse("integrations:personal_app", args=["spotify"])).status_code == 404
    assert client.get(reverse("integrations:personal_app", args=["nope"])).status_code == 404


def test_the_page_needs_a_signed_in_person(client, db):
    response = client.get(reverse("integrations:personal_app", args=["myanimelist"]))
    assert response.status_code == 302 and "login" in response["Location"]


# --- encryption keys --------------------------------------------------------------------------

def test_key_rotation_reencrypts_the_secret(person, fernet_keys, settings):
    app = own_app(person)
    before = raw_secret(app)
    fernet_keys(["a-brand-new-key", *settings.FERNET_KEYS])
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "1 personal OAuth app secret(s)" in out.getvalue()
    assert raw_secret(app) != before
    fernet_keys(["a-brand-new-key"])  # the old key removed: the secret still reads
    assert OAuthClientApp.objects.get().client_secret == OWN_SECRET


def test_an_unreadable_secret_is_never_sent_and_asks_to_save_it_again(person, client,
                                                                     fernet_keys,
                                                                     mocked_responses):
    connection = connected_through(person, own_app(person))
    fernet_keys(["another-key-entirely"])
    with pytest.raises(ReauthRequired) as caught:
        client_for_credential(OAuthClientApp.objects.get().credentials.get(), MAL)
    assert caught.value.message == APP_UNREADABLE.format(provider="MyAnimeList")
    assert not mocked_responses.calls
    # Not offered to allauth either: the connect falls back to the operator's app.
    assert start(client)["client_id"] == OPERATOR_ID
    page = client.get(reverse("integrations:personal_app", args=["myanimelist"]))
    assert "Cannot be read any more" in page.content.decode()
    with pytest.raises(ReauthRequired):
        token_refresh(connection=connection)
    assert not mocked_responses.calls


def test_anilist_connects_through_the_persons_own_app(person, client, mocked_responses):
    oauth_app_save(user=person, provider=ANILIST, client_id="5151", client_secret=OWN_SECRET)
    response = client.post(reverse("anilist_login") + "?process=connect")
    query = {k: v[0] for k, v in parse_qs(urlparse(response["Location"]).query).items()}
    assert query["client_id"] == "5151"
    mocked_responses.post(anilist.TOKEN_URL, json={
        "token_type": "Bearer", "expires_in": 31536000, "access_token": "AL-access-token"})
    mocked_responses.post(anilist.API_BASE, json={"data": {"Viewer": {"id": 12345,
                                                                      "name": "someone"}}})
    client.get(reverse("anilist_callback"), {"code": "the-code", "state": query["state"]})
    exchange = json.loads(mocked_responses.calls[0].request.body)
    assert (exchange["client_id"], exchange["client_secret"]) == ("5151", OWN_SECRET)
    assert Credential.objects.get(connection__provider="anilist").client_id == "5151"


def test_the_own_secret_is_in_no_log_line_or_outbound_record(person, mocked_responses, caplog):
    caplog.set_level(logging.DEBUG)
    connection = connected_through(person, own_app(person))
    mocked_responses.post(mal.TOKEN_URL, status=400, json={
        "error": "invalid_client", "message": f"bad client {OWN_SECRET}"})
    with pytest.raises(ReauthRequired):
        token_refresh(connection=connection)
    assert mocked_responses.calls  # it was sent, to the provider only
    assert OWN_SECRET not in caplog.text
    rows = " ".join(str(v) for row in ApiCall.objects.values() for v in row.values())
    rows += " ".join(str(v) for row in AuditEvent.objects.values() for v in row.values())
    rows += Connection.objects.get(pk=connection.pk).last_error
    assert "myanimelist" in rows and OWN_SECRET not in rows
