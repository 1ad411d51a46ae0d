"""privacy: "delete everything" (the account stays) and account deletion (revoke every token,
delete everything, then the user)."""

import json

import pytest
import responses
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from consent.models import ConsentEvent, ConsentGrant
from consent.services import consent_set
from integrations import txguard
from integrations.api_tokens import api_token_create
from integrations.models import (
    ApiCall,
    ApiToken,
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    OAuthClientApp,
    StreamState,
    SyncRun,
    UserInterest,
)
from integrations.sync import sync_request
from library.models import LibraryConflict, LibraryEntry, LibraryPush
from privacy import api as privacy_api
from privacy import views
from privacy.forms import TYPE_THE_WORD
from privacy.services import PURGE_ALL_REFUSED, account_delete, user_data_purge_all
from tests.api.schema_check import CheckedClient
from tests.factories import make_connection, make_user
from tests.integrations import test_purge
from tests.library.builders import linked_entry, list_person

pytestmark = pytest.mark.django_db

PASSWORD = "pw-0123456789"  # make_user's
GITHUB_TOKEN = "gho_fake_github_token_0001"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """The password tries are counted in the cache, which on Redis outlives a test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ada():
    """AniList and MyAnimeList (and Kitsu) connected; entries only on each, one on both, one
    added here; interests, checkpoints, pushes and conflicts on both (tests/integrations)."""
    return test_purge.ada.__wrapped__()


@pytest.fixture
def grace():
    person = list_person("grace@example.com")
    person["entry"] = linked_entry(person["anilist"], "1", status="CURRENT", mal_id=1)
    test_purge.interest_from(person["anilist"])
    StreamState.objects.create(connection=person["anilist"], stream="anime_list", cursor={"p": 1})
    return person


def nothing_left_for(user) -> None:
    assert not ExternalItem.objects.filter(connection__user=user).exists()
    assert not UserInterest.objects.filter(user=user).exists()
    assert not StreamState.objects.filter(connection__user=user).exists()
    assert not LibraryEntry.objects.filter(user=user).exists()
    assert not LibraryPush.objects.filter(connection__user=user).exists()
    assert not LibraryConflict.objects.filter(entry__user=user).exists()


def grace_is_intact(grace) -> None:
    assert LibraryEntry.objects.filter(pk=grace["entry"].pk).exists()
    assert ExternalItem.objects.filter(connection=grace["anilist"]).count() == 1
    assert UserInterest.objects.filter(user=grace["user"]).count() == 1
    assert StreamState.objects.filter(connection=grace["anilist"]).count() == 1
    assert Connection.objects.filter(user=grace["user"]).count() == 3


# --- delete everything, keeping the account ------------------------------------------------------

def test_delete_everything_leaves_nothing_imported_and_keeps_the_account(ada, grace):
    user = ada["user"]
    consent_set(user=user, purpose="matching", granted=True)
    api_token_create(user=user, name="laptop")

    result = user_data_purge_all(user=user, actor="user:1")

    nothing_left_for(user)
    grace_is_intact(grace)
    assert result.refused == [] and result.connections == 3
    # entries: only AniList, only MyAnimeList, the shared one (gone with its last service's
    # purge) and the one added here
    assert result.counts["library_entries"] == 4
    assert result.counts["items"] == 4 and result.counts["interests"] == 2
    assert result.counts["checkpoints"] == 2
    # What stays: the account, connections with credentials and settings, consent, tokens.
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert Connection.objects.filter(user=user).count() == 3
    assert Credential.objects.filter(connection__user=user).count() == 3
    assert ConsentGrant.objects.filter(user=user).exists()
    assert ConsentEvent.objects.filter(user=user).exists()
    assert ApiToken.objects.filter(user=user).count() == 1
    assert AuditEvent.objects.filter(user=user, action=AuditEvent.Action.DATA_PURGED,
                                     message__startswith="library:").exists()


def test_a_connection_whose_sync_runs_is_refused_and_reported(ada):
    ani, mal = ada["anilist"], ada["myanimelist"]
    assert sync_request(connection=ani, trigger=SyncRun.Trigger.MANUAL) is not None

    result = user_data_purge_all(user=ada["user"])

    assert [(r.id, r.provider) for r in result.refused] == [(ani.pk, "anilist")]
    assert not result.complete
    assert ExternalItem.objects.filter(connection=ani).count() == 2  # left as it was
    assert not ExternalItem.objects.filter(connection=mal).exists()
    # Entries AniList still links stay with it; the one added here goes.
    assert LibraryEntry.objects.filter(pk=ada["only_ani"].pk).exists()
    assert LibraryEntry.objects.filter(pk=ada["shared"].pk).exists()
    assert not LibraryEntry.objects.filter(pk__in=[ada["local"].pk, ada["only_mal"].pk]).exists()


def test_the_delete_everything_page_explains_and_asks_to_confirm(ada, client):
    user = ada["user"]
    client = reauthenticated(client, user)
    url = reverse("privacy:delete_all")
    page = client.get(url).content.decode()
    assert "What stays" in page and "consent answers and their history" in page
    assert "AniList" in page

    refused = client.post(url, {"confirm": "yes"})
    assert refused.status_code == 400
    assert TYPE_THE_WORD in refused.content.decode()
    assert ExternalItem.objects.filter(connection__user=user).count() == 4

    done = client.post(url, {"confirm": "DELETE"}, follow=True)
    nothing_left_for(user)
    assert views.PURGED_ALL.format(items=4, interests=2, entries=4) in done.content.decode()


def test_the_page_names_the_connections_it_could_not_purge(ada, client):
    client = reauthenticated(client, ada["user"])
    sync_request(connection=ada["anilist"], trigger=SyncRun.Trigger.MANUAL)
    done = client.post(reverse("privacy:delete_all"), {"confirm": "DELETE"}, follow=True)
    assert PURGE_ALL_REFUSED.format(names="AniList") in done.content.decode()


def test_the_delete_pages_need_a_login(client):
    for name in ("privacy:delete_all", "privacy:delete_account"):
        response = client.post(reverse(name), {"confirm": "DELETE"})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_api_purges_everything(ada, grace):
    api = CheckedClient()
    api.force_authenticate(ada["user"])
    response = api.post("/api/v1/data/purge/", {"password": PASSWORD}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["deleted"]["items"] == 4 and body["deleted"]["library_entries"] == 4
    assert body["refused"] == [] and body["connections"] == 3
    nothing_left_for(ada["user"])
    grace_is_intact(grace)


def test_the_api_answers_409_with_the_refused_connections(ada):
    ani = ada["anilist"]
    sync_request(connection=ani, trigger=SyncRun.Trigger.MANUAL)
    api = CheckedClient()
    api.force_authenticate(ada["user"])
    response = api.post("/api/v1/data/purge/", {"password": PASSWORD}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["error"]["code"] == "sync_running"
    assert body["refused"] == [{"id": ani.pk, "provider": "anilist", "name": "AniList",
                                "label": ani.account_label}]
    assert body["deleted"]["items"] == 2  # MyAnimeList's were purged


# --- account deletion ------------------------------------------------------------------------

@pytest.fixture
def octo(sandbox, client, settings, mocked_responses, no_sleep):
    """A person with the sandbox (a real OAuth grant at the sandbox), GitHub (whose revoke
    endpoint is mocked) and Spotify (no revocation API) connected, each with data."""
    from tests.integrations.sandbox.conftest import OAuthDriver

    user = make_user("octo@example.com")
    tokens = OAuthDriver(client).tokens("demo-listener")
    account = SocialAccount.objects.create(user=user, provider="sandbox", uid="demo-listener")
    sandbox_connection = make_connection(user, "sandbox", external_id="demo-listener",
                                         access_token=tokens["access_token"],
                                         refresh_token=tokens["refresh_token"])
    Connection.objects.filter(pk=sandbox_connection.pk).update(social_account=account)
    github = make_connection(user, "github", external_id="1", access_token=GITHUB_TOKEN,
                             refresh_token="", expires_in=None)
    spotify = make_connection(user, "spotify", external_id="octo")
    for connection in (sandbox_connection, github, spotify):
        ExternalItem.objects.create(connection=connection, kind="track", external_id="x",
                                    title="Personal title", content_hash="h")
        test_purge.interest_from(connection, slug="music-rock")
    consent_set(user=user, purpose="matching", granted=True)
    api_token_create(user=user, name="script")
    OAuthClientApp.objects.create(user=user, provider="github", client_id="mine",
                                  client_secret="my-app-secret")
    # A line naming a title, as an action's audit line may: it must not outlive the account.
    AuditEvent.objects.create(user=user, provider="github", connection_ref=github.pk,
                              action=AuditEvent.Action.ACTION_SUCCEEDED,
                              message="star: Personal title", actor=f"user:{user.pk}")
    ApiCall.objects.create(connection=spotify, provider="spotify", method="GET",
                           host="api.spotify.com", path="/v1/users/octo/playlists", status_code=200)
    app = settings.SOCIALACCOUNT_PROVIDERS["github"]["APPS"][0]
    seen_in_transaction = []

    def github_revoke(request):
        seen_in_transaction.append(txguard.open_transaction())
        return 204, {}, ""

    mocked_responses.add_callback(
        "DELETE", f"https://api.github.com/applications/{app['client_id']}/token",
        callback=github_revoke)
    return {"user": user, "sandbox": sandbox, "github_revokes": seen_in_transaction,
            "mocked": mocked_responses}


def github_revoke_calls(octo) -> list:
    return [call for call in octo["mocked"].calls
            if call.request.method == "DELETE" and "api.github.com" in call.request.url]


def test_account_deletion_revokes_every_token_once_and_deletes_the_user(octo, grace):
    user = octo["user"]
    user_pk = user.pk

    result = account_delete(user=user)

    sandbox_revokes = [c for c in octo["sandbox"].calls if c == ("POST", "/sandbox/oauth/revoke")]
    assert len(sandbox_revokes) == 1
    assert len(github_revoke_calls(octo)) == 1
    assert json.loads(github_revoke_calls(octo)[0].request.body) == {
        "access_token": GITHUB_TOKEN}
    assert octo["github_revokes"] == [None]  # no transaction was open during the call
    outcomes = {r.provider: (r.revoked, r.note) for r in result.revokes}
    assert outcomes["sandbox"] == (True, "") and outcomes["github"] == (True, "")
    assert outcomes["spotify"][0] is False
    assert "spotify.com/account/apps" in outcomes["spotify"][1]  # where to revoke by hand
    assert not get_user_model().objects.filter(pk=user_pk).exists()
    for model in (Connection, Credential, ExternalItem, UserInterest, SocialAccount,
                  ApiToken, OAuthClientApp, ConsentGrant, ConsentEvent):
        assert not model.objects.filter(pk__in=model.objects.exclude(
            **{_owner(model): grace["user"]}).values("pk")).exists(), model.__name__
    grace_is_intact(grace)


def _owner(model) -> str:
    return {Connection: "user", Credential: "connection__user", ExternalItem: "connection__user",
            UserInterest: "user", SocialAccount: "user", ApiToken: "user",
            OAuthClientApp: "user", ConsentGrant: "user", ConsentEvent: "user"}[model]


def test_the_audit_lines_outlive_the_account_without_personal_data(octo):
    user = octo["user"]
    account_delete(user=user)
    lines = AuditEvent.objects.filter(user__isnull=True)
    assert {line.provider for line in lines} >= {"sandbox", "github", "spotify"}
    assert lines.filter(action=AuditEvent.Action.DISCONNECTED).count() == 3
    assert lines.filter(action=AuditEvent.Action.REVOKED).count() == 2
    assert all(line.connection_ref for line in lines)
    for line in lines:
        assert "Personal title" not in line.message
        assert not line.actor.startswith("user:") and "@" not in line.actor
    # The request log stays (staff counts) without the path that named the person.
    logged = ApiCall.objects.get(host="api.spotify.com")
    assert logged.path == "" and logged.connection is None and logged.status_code == 200


def test_a_failed_revocation_is_reported_and_keeps_no_data(octo, settings):
    settings.THINKALIKE_SANDBOX_URL = "http://sandbox-down.test/sandbox"
    user = octo["user"]
    result = account_delete(user=user)
    outcome = next(r for r in result.revokes if r.provider == "sandbox")
    assert outcome.revoked is False and outcome.note
    assert not Connection.objects.exists()
    assert not get_user_model().objects.filter(email="octo@example.com").exists()


def test_the_page_needs_a_recent_authentication(octo, client):
    user = octo["user"]
    client.force_login(user)
    url = reverse("privacy:delete_account")
    for response in (client.get(url), client.post(url, {"confirm": "DELETE"})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert not github_revoke_calls(octo)

    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    page = client.get(url)
    assert page.status_code == 200
    assert "Delete my account" in page.content.decode()


def reauthenticated(client, user) -> Client:
    client.force_login(user)
    assert client.post(reverse("account_reauthenticate"), {"password": PASSWORD}
                       ).status_code == 302
    return client


def test_deleting_the_account_on_the_page_logs_out_and_says_goodbye(octo, client):
    user = octo["user"]
    client = reauthenticated(client, user)
    url = reverse("privacy:delete_account")

    wrong = client.post(url, {"confirm": "delete"})
    assert wrong.status_code == 400 and get_user_model().objects.filter(pk=user.pk).exists()

    done = client.post(url, {"confirm": "DELETE"})
    assert done.status_code == 302 and done["Location"] == reverse("privacy:goodbye")
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    goodbye = client.get(done["Location"]).content.decode()
    assert "Your account was deleted" in goodbye
    assert "Spotify" in goodbye and "spotify.com/account/apps" in goodbye
    assert "our access was revoked" in goodbye
    assert GITHUB_TOKEN not in goodbye
    # signed out: a page behind the login sends to the login page
    assert client.get(reverse("privacy:delete_all")).status_code == 302
    # shown once
    assert "Access at your services" not in client.get(reverse("privacy:goodbye")
                                                       ).content.decode()


def test_the_page_refuses_a_post_without_csrf(octo, client):
    user = octo["user"]
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = reauthenticated(client, user).cookies  # the recent sign-in's session
    response = strict.post(reverse("privacy:delete_account"), {"confirm": "DELETE"})
    assert response.status_code == 403
    assert get_user_model().objects.filter(pk=user.pk).exists()
    response = strict.post(reverse("privacy:delete_all"), {"confirm": "DELETE"})
    assert response.status_code == 403
    assert ExternalItem.objects.filter(connection__user=user).count() == 3


# --- DELETE /api/v1/account/ --------------------------------------------------------------------

@pytest.fixture
def octo_api(octo):
    _, plain = api_token_create(user=octo["user"], name="tests")
    api = CheckedClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return api


def test_the_api_needs_the_password(octo, octo_api):
    user = octo["user"]
    missing = octo_api.delete("/api/v1/account/", {}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()["error"]["fields"]
    wrong = octo_api.delete("/api/v1/account/", {"password": "guess"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "wrong_password"
    assert wrong.json()["error"]["message"] == privacy_api.WRONG_PASSWORD
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert Connection.objects.filter(user=user).count() == 3
    assert not github_revoke_calls(octo)


def test_the_api_deletes_the_account_with_the_password(octo, octo_api, grace):
    user_pk = octo["user"].pk
    response = octo_api.delete("/api/v1/account/", {"password": PASSWORD}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["deleted"] is True
    assert {(r["provider"], r["revoked"]) for r in body["revokes"]} == {
        ("sandbox", True), ("github", True), ("spotify", False)}
    assert not get_user_model().objects.filter(pk=user_pk).exists()
    assert len(github_revoke_calls(octo)) == 1
    grace_is_intact(grace)
    # the token it came with died with the account
    assert octo_api.get("/api/v1/connections/").status_code == 401


def test_the_api_limits_password_tries(octo, octo_api):
    codes = [octo_api.delete("/api/v1/account/", {"password": f"guess-{n}"},
                             format="json").status_code for n in range(6)]
    assert codes == [400] * 5 + [429]


def test_a_session_delete_without_csrf_is_refused(octo):
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(octo["user"])
    response = session.delete("/api/v1/account/", {"password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert get_user_model().objects.filter(pk=octo["user"].pk).exists()


# --- review fixes: what happens meanwhile ------------------------------------------------------

@pytest.fixture
def closing(monkeypatch):
    """Run ``during(user)`` inside every disconnect of an account deletion (before the real
    one): what another tab or a running sync does meanwhile."""
    from privacy import services as privacy_services

    real = privacy_services.connection_disconnect
    hooks = []

    def disconnect(*, connection, actor=""):
        for hook in hooks:
            hook(connection)
        return real(connection=connection, actor=actor)

    monkeypatch.setattr(privacy_services, "connection_disconnect", disconnect)
    return hooks


def test_the_connect_paths_refuse_an_account_being_deleted(closing):
    from integrations.exceptions import ProviderNotAvailable
    from integrations.providers.base import AccountInfo
    from integrations.providers.registry import get_provider
    from integrations.services import (
        ACCOUNT_CLOSING,
        connection_store_credentials,
        connection_store_oauth,
    )
    from integrations.tokens import TokenGrant

    user = make_user("closing@example.com")
    make_connection(user, "spotify", external_id="s")
    refusals = []

    def connect_meanwhile(connection):
        account = SocialAccount.objects.create(user=user, provider="github", uid="77")
        for connect in (
            lambda: connection_store_oauth(
                user=user, provider=get_provider("github"), social_account=account,
                grant=TokenGrant(access_token="gho_x", refresh_token="", expires_at=None,
                                 scopes=[]), label="octo"),
            lambda: connection_store_credentials(
                user=user, provider=get_provider("stripe"),
                account=AccountInfo(external_id="acct_1", label="Stripe"),
                fields={"token": "sk_test_x"}),
        ):
            with pytest.raises(ProviderNotAvailable) as caught:
                connect()
            refusals.append(caught.value.message)
        account.delete()

    closing.append(connect_meanwhile)
    account_delete(user=user)
    assert refusals == [ACCOUNT_CLOSING, ACCOUNT_CLOSING]
    assert not get_user_model().objects.filter(pk=user.pk).exists()


def test_a_connection_added_meanwhile_is_disconnected_and_audited_too(closing):
    user = make_user("closing@example.com")
    first = make_connection(user, "spotify", external_id="s")
    added = []

    def add_once(connection):  # a path that does not check the account (the admin, a shell)
        if not added:
            added.append(make_connection(user, "stripe", external_id="acct_late"))

    closing.append(add_once)
    result = account_delete(user=user)

    assert [r.provider for r in result.revokes] == ["spotify", "stripe"]
    disconnected = AuditEvent.objects.filter(action=AuditEvent.Action.DISCONNECTED)
    assert set(disconnected.values_list("connection_ref", flat=True)) == {first.pk,
                                                                         added[0].pk}
    assert not get_user_model().objects.filter(pk=user.pk).exists()


def test_a_connection_that_keeps_coming_back_stops_the_deletion_instead_of_cascading(closing):
    from privacy.services import DISCONNECT_ROUNDS, AccountDeletionIncomplete

    user = make_user("closing@example.com")
    make_connection(user, "spotify", external_id="s")
    made = []

    def add_every_time(connection):
        made.append(make_connection(user, "stripe" if len(made) % 2 == 0 else "spotify",
                                    external_id=f"again-{len(made)}"))

    closing.append(add_every_time)
    with pytest.raises(AccountDeletionIncomplete):
        account_delete(user=user)
    user.refresh_from_db()
    assert user.is_active  # not deleted: open again, the person can try again
    assert Connection.objects.filter(user=user).count() == 1  # the last one, never cascaded
    # one per disconnect: the first round had one connection, each later round one more
    assert len(made) == DISCONNECT_ROUNDS


def test_the_account_is_closed_while_its_connections_are_disconnected(closing):
    user = make_user("closing@example.com")
    make_connection(user, "spotify", external_id="s")
    seen = []
    closing.append(lambda connection: seen.append(
        get_user_model().objects.get(pk=user.pk).is_active))
    account_delete(user=user)
    assert seen == [False]


def test_a_path_a_sync_logs_during_the_deletion_is_blanked_too(closing):
    user = make_user("closing@example.com")
    spotify = make_connection(user, "spotify", external_id="octo")

    def sync_logs(connection):  # a sync still running writes its request log meanwhile
        ApiCall.objects.create(connection=connection, provider="spotify", method="GET",
                               host="api.spotify.com", path="/v1/users/octo/playlists",
                               status_code=200)

    closing.append(sync_logs)
    account_delete(user=user)
    logged = ApiCall.objects.get(host="api.spotify.com")
    assert logged.path == "" and logged.connection is None
    assert not ApiCall.objects.exclude(path="").filter(connection_id=spotify.pk).exists()


def test_a_failed_revocation_outlives_the_account_as_a_fixed_phrase(octo, settings):
    from privacy.services import REVOKE_FAILED_KEPT

    settings.THINKALIKE_SANDBOX_URL = "http://sandbox-down.test/sandbox"
    account_delete(user=octo["user"])
    failed = AuditEvent.objects.filter(user__isnull=True,
                                       action=AuditEvent.Action.REVOKE_FAILED)
    assert failed.exists()
    assert set(failed.values_list("message", flat=True)) == {REVOKE_FAILED_KEPT}


def test_the_delete_everything_page_needs_a_recent_authentication(ada, client):
    user = ada["user"]
    client.force_login(user)
    url = reverse("privacy:delete_all")
    for response in (client.get(url), client.post(url, {"confirm": "DELETE"})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert ExternalItem.objects.filter(connection__user=user).count() == 4


def test_the_api_purge_needs_the_password(ada):
    api = CheckedClient()
    api.force_authenticate(ada["user"])
    missing = api.post("/api/v1/data/purge/", {}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()["error"]["fields"]
    wrong = api.post("/api/v1/data/purge/", {"password": "guess"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "wrong_password"
    assert ExternalItem.objects.filter(connection__user=ada["user"]).count() == 4


def test_the_password_tries_are_counted_across_both_endpoints(octo, octo_api):
    codes = [octo_api.delete("/api/v1/account/", {"password": f"guess-{n}"},
                             format="json").status_code for n in range(3)]
    codes += [octo_api.post("/api/v1/data/purge/", {"password": f"guess-{n}"},
                            format="json").status_code for n in range(3)]
    assert codes == [400] * 5 + [429]
    # even the right password waits for the next hour
    refused = octo_api.delete("/api/v1/account/", {"password": PASSWORD}, format="json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused.json()["error"]["code"] == "too_many_tries"
    assert get_user_model().objects.filter(pk=octo["user"].pk).exists()


def test_the_password_limit_survives_a_full_cache(octo, octo_api):
    """The tries are rows, not cache keys: filling the cache (the database cache culls a third
    of its keys once full; anyone can fill it with proxy requests) gives no fresh tries."""
    from django.core.cache import cache

    codes = []
    for n in range(8):
        for k in range(400):  # more than MAX_ENTRIES (300) between two tries
            cache.set(f"thinkalike:proxy:v1:entry:fill:{n}:{k}", "x", timeout=600)
        codes.append(octo_api.delete("/api/v1/account/", {"password": f"guess-{n}"},
                                     format="json").status_code)
    assert codes == [400] * 5 + [429] * 3


def test_a_slot_is_claimed_by_one_request_only(octo, monkeypatch):
    """Two requests that both find a slot free: the conditional UPDATE (or the unique INSERT)
    lets one of them have it."""
    from privacy.models import PasswordTrySlot
    from privacy.password_tries import PASSWORD_TRIES, password_try_claim

    user_pk = octo["user"].pk
    assert all(password_try_claim(user_id=user_pk) is None for _ in range(PASSWORD_TRIES))
    assert PasswordTrySlot.objects.filter(user_id=user_pk).count() == PASSWORD_TRIES
    assert password_try_claim(user_id=user_pk) is not None


def test_the_hour_slides_so_the_top_of_the_hour_gives_nothing_back(octo, fake_clock):
    from privacy.password_tries import PASSWORD_TRIES, password_try_claim

    user_pk = octo["user"].pk
    fake_clock.advance(3600 - fake_clock.time() % 3600 - 1)  # xx:59:59
    assert all(password_try_claim(user_id=user_pk) is None for _ in range(PASSWORD_TRIES))
    fake_clock.advance(2)  # the next clock hour has begun
    wait = password_try_claim(user_id=user_pk)
    assert wait is not None and 3590 <= wait <= 3600


def test_the_tries_come_back_in_the_next_hour(octo, octo_api, fake_clock):
    from privacy.password_tries import PASSWORD_TRIES, password_try_claim

    user_pk = octo["user"].pk
    assert [password_try_claim(user_id=user_pk) for _ in range(PASSWORD_TRIES)] == [
        None] * PASSWORD_TRIES
    wait = password_try_claim(user_id=user_pk)
    assert wait is not None and 0 < wait <= 3600
    fake_clock.advance(wait)
    assert password_try_claim(user_id=user_pk) is None


def test_a_stopped_deletion_is_told_on_the_page_and_the_api(octo, client, octo_api, monkeypatch):
    from privacy import services as privacy_services
    from privacy.services import ACCOUNT_DELETION_INCOMPLETE

    user = octo["user"]
    monkeypatch.setattr(privacy_services, "DISCONNECT_ROUNDS", 0)  # as if one kept coming
    page = reauthenticated(client, user).post(reverse("privacy:delete_account"),
                                              {"confirm": "DELETE"}, follow=True)
    assert ACCOUNT_DELETION_INCOMPLETE in page.content.decode()
    user.refresh_from_db()
    assert user.is_active and Connection.objects.filter(user=user).count() == 3

    response = octo_api.delete("/api/v1/account/", {"password": PASSWORD}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "deletion_incomplete"
    assert get_user_model().objects.filter(pk=user.pk, is_active=True).exists()


def test_an_account_saved_whole_meanwhile_stops_the_deletion(closing):
    """A flow that saves the whole user it loaded before the account was closed (allauth's
    connect does) opens it again: the deletion notices under the user lock and stops."""
    from privacy.services import AccountDeletionIncomplete

    user = make_user("closing@example.com")
    make_connection(user, "spotify", external_id="s")
    stale = get_user_model().objects.get(pk=user.pk)  # loaded while still active
    closing.append(lambda connection: stale.save())
    with pytest.raises(AccountDeletionIncomplete):
        account_delete(user=user)
    assert get_user_model().objects.filter(pk=user.pk, is_active=True).exists()


def test_two_deletions_of_one_account_at_once_both_end_well(closing):
    """A double submit or two tabs: the later one to reach the user row finds it gone, which
    is done, not a 500."""
    user = make_user("closing@example.com")
    make_connection(user, "spotify", external_id="s")
    other = get_user_model().objects.get(pk=user.pk)
    ran = []

    def other_request(connection):
        if not ran:
            ran.append(1)
            account_delete(user=other)   # the other request gets through first
    closing.append(other_request)
    account_delete(user=user)
    assert not get_user_model().objects.filter(pk=user.pk).exists()


def test_a_connect_callback_finishing_after_the_deletion_cannot_bring_the_account_back(
        monkeypatch):
    """allauth's connect saves the request's user whole: after another tab deleted the
    account, that save would INSERT it again (active, with its password) and store a token."""
    from allauth.socialaccount.models import SocialAccount, SocialLogin

    from tests.integrations.test_connect_oauth import callback, mock_spotify, start

    user = make_user("tabs@example.com")
    browser = Client()
    browser.force_login(user)
    _, query = start(browser)
    real_save = SocialLogin.save

    def deleted_meanwhile(self, request, connect=False):
        account_delete(user=get_user_model().objects.get(pk=user.pk))  # the other tab
        return real_save(self, request, connect=connect)

    monkeypatch.setattr(SocialLogin, "save", deleted_meanwhile)
    with responses.RequestsMock() as mocked:
        mock_spotify(mocked)
        response = callback(browser, query["state"])

    assert response.status_code in (302, 403)  # refused (allauth's error page or ours)
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not Connection.objects.filter(user_id=user.pk).exists()
    assert not SocialAccount.objects.filter(user_id=user.pk).exists()


def test_saving_named_fields_or_a_new_user_is_not_checked(django_assert_num_queries):
    user = make_user("plain@example.com")
    with django_assert_num_queries(1):
        user.save(update_fields=["last_login"])
    with django_assert_num_queries(2):  # the guard's SELECT, then the UPDATE
        user.save()


def test_staff_delete_an_account_with_the_action_that_revokes_first(octo, admin_client):
    """Django's own delete cascades in one transaction, where no provider may be called: for a
    person with connections it is refused, and the action deletes as the person would."""
    user = octo["user"]
    assert admin_client.get(reverse("admin:auth_user_delete", args=[user.pk])).status_code == 403
    changelist = reverse("admin:auth_user_changelist")
    choices = admin_client.get(changelist).context["action_form"].fields["action"].choices
    assert [name for name, _ in choices if name] == ["delete_accounts"]

    response = admin_client.post(changelist, {"action": "delete_accounts",
                                              "_selected_action": [user.pk]}, follow=True)

    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert len(github_revoke_calls(octo)) == 1
    text = response.content.decode()
    assert "account deleted; 2 of 3 services" in text and "Spotify was not revoked" in text


def test_staff_may_still_delete_an_account_without_connections(admin_client):
    plain = make_user("plain@example.com")
    response = admin_client.post(reverse("admin:auth_user_delete", args=[plain.pk]),
                                 {"post": "yes"})
    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=plain.pk).exists()
