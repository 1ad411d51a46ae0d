"""A credential no configured Fernet key decrypts is a state, never a 500.

integrations/credentials.py and integrations/models/fields.py: every page, the sync, the test,
disconnect, the admin, rotate_encryption_keys and the database system check handle it.
"""

import io
from datetime import timedelta

import pytest
from allauth.socialaccount.models import SocialAccount
from cryptography.fernet import Fernet
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from fernet_fields.hkdf import derive_fernet_key

from consent.services import consent_set
from integrations import admin as integrations_admin
from integrations import views
from integrations.credentials import (
    CREDENTIAL_UNREADABLE,
    CREDENTIAL_UNREADABLE_CODE,
    credential_for_use,
)
from integrations.exceptions import ReauthRequired
from integrations.maintenance import tokens_refresh_expiring
from integrations.models import AuditEvent, Connection, Credential, ExternalItem, SyncRun
from integrations.models.fields import Undecryptable
from integrations.services import REVOKE_SKIPPED_UNREADABLE, connection_disconnect
from integrations.sync import sync_execute, sync_request
from integrations.tokens import credential_fresh, token_refresh, token_revoke
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

ACCESS_TOKEN = "AT-fake-access-0001"


@pytest.fixture
def user():
    return make_user()


def raw(credential, column="access_token") -> bytes:
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM integrations_credential WHERE id = %s",
                       [credential.pk])
        return bytes(cursor.fetchone()[0])


def encrypt_with_unrelated_key(connection: Connection) -> None:
    """What a database restored under another deployment's keys holds."""
    stranger = Fernet(derive_fernet_key("another-deployment-key"))
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE integrations_credential SET access_token = %s, refresh_token = %s "
            "WHERE connection_id = %s",
            [stranger.encrypt(b"AT-theirs"), stranger.encrypt(b"RT-theirs"), connection.pk],
        )


@pytest.fixture
def unreadable(user):
    connection = make_connection(user, "sandbox")
    encrypt_with_unrelated_key(connection)
    return connection


# --- the field ---------------------------------------------------------------------------------


def test_an_unreadable_secret_loads_as_a_state_and_saving_keeps_its_ciphertext(
    user, fernet_keys
):
    fernet_keys(["key-old"])
    credential = make_connection(user, "sandbox").credential
    before = raw(credential)
    fernet_keys(["key-new"])  # the old key removed before rotate_encryption_keys ran

    loaded = Credential.objects.get(pk=credential.pk)
    assert isinstance(loaded.access_token, Undecryptable)
    assert loaded.access_token == "" and not loaded.is_readable
    assert "AT-" not in repr(loaded.access_token) + str(loaded.access_token)
    loaded.token_type = "bearer"
    loaded.save()  # saving other fields must not destroy the secret
    Credential.objects.filter(pk=credential.pk).update(refresh_token=loaded.refresh_token)
    assert raw(credential) == before

    fernet_keys(["key-new", "key-old"])  # the operator puts the old key back
    assert Credential.objects.get(pk=credential.pk).access_token == ACCESS_TOKEN


def test_credential_for_use_asks_to_reconnect(unreadable, user):
    with pytest.raises(ReauthRequired) as caught:
        credential_for_use(connection=unreadable)
    assert caught.value.message == CREDENTIAL_UNREADABLE
    assert caught.value.code == CREDENTIAL_UNREADABLE_CODE
    readable = make_connection(user, "spotify", external_id="ext-2")
    assert credential_for_use(connection=readable).access_token == ACCESS_TOKEN


# --- what the person sees ----------------------------------------------------------------------


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def test_connection_page_says_reconnect_and_offers_disconnect(client_in, unreadable):
    response = client_in.get(reverse("integrations:connection_detail", args=[unreadable.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert escape(CREDENTIAL_UNREADABLE) in html
    assert "Reconnect" in html and "Sync now" not in html
    assert "Next automatic sync" not in html
    assert reverse("integrations:disconnect", args=[unreadable.pk]) in html


def test_catalog_shows_needs_reconnecting(client_in, unreadable):
    response = client_in.get(reverse("integrations:connected_services"))

    assert response.status_code == 200
    card = next(c for c in response.context["cards"] if c.entry.provider.slug == "sandbox")
    assert card.needs_reconnect and card.status_words == "Needs reconnecting"
    assert "Next automatic sync" not in response.content.decode()


def test_sync_now_button_refuses_with_the_reconnect_message(client_in, unreadable):
    response = client_in.post(reverse("integrations:sync_now", args=[unreadable.pk]),
                              follow=True)

    assert response.status_code == 200
    assert views.SYNC_NEEDS_RECONNECT.format(name="Sandbox") in response.content.decode()
    assert not SyncRun.objects.filter(connection=unreadable).exists()


def test_disconnect_skips_the_revoke_and_deletes_everything(
    client_in, user, unreadable, mocked_responses
):
    account = SocialAccount.objects.create(user=user, provider="sandbox", uid="u1")
    Connection.objects.filter(pk=unreadable.pk).update(social_account=account)
    ExternalItem.objects.create(connection=unreadable, kind="track", external_id="t1",
                                title="Song", content_hash="h")

    response = client_in.post(reverse("integrations:disconnect", args=[unreadable.pk]),
                              follow=True)

    assert response.status_code == 200
    assert len(mocked_responses.calls) == 0  # nothing sent: there is no token to send
    assert not Connection.objects.exists() and not Credential.objects.exists()
    assert not ExternalItem.objects.exists() and not SocialAccount.objects.exists()
    assert escape(views.NOT_REVOKED.format(name="Sandbox", note=REVOKE_SKIPPED_UNREADABLE)) in (
        response.content.decode()
    )
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REVOKE_FAILED,
                                     message=REVOKE_SKIPPED_UNREADABLE).exists()


def test_disconnect_service_works_without_a_loaded_credential(unreadable, mocked_responses):
    connection = Connection.objects.get(pk=unreadable.pk)  # credential not joined
    result = connection_disconnect(connection=connection)
    assert not result.revoked and result.revoke_note == REVOKE_SKIPPED_UNREADABLE
    assert not Connection.objects.exists()


# --- sync, test, refresh -----------------------------------------------------------------------


def test_sync_fails_with_reconnect_and_flags_the_connection(unreadable, user, mocked_responses):
    consent_set(user=user, purpose="matching", granted=True)
    run = sync_request(connection=unreadable, trigger=SyncRun.Trigger.MANUAL)

    run = sync_execute(run_id=run.pk)

    assert run.status == SyncRun.Status.FAILED
    assert (run.error_code, run.error_message) == (CREDENTIAL_UNREADABLE_CODE,
                                                   CREDENTIAL_UNREADABLE)
    unreadable.refresh_from_db()
    assert unreadable.status == Connection.Status.NEEDS_REAUTH
    assert unreadable.last_error == CREDENTIAL_UNREADABLE
    assert len(mocked_responses.calls) == 0


def test_refresh_tokens_reports_and_flags_unreadable_rows(unreadable, mocked_responses):
    report = tokens_refresh_expiring(within=timedelta(hours=2), connection_ids=[unreadable.pk])

    assert report.failed == {unreadable.pk: CREDENTIAL_UNREADABLE}
    assert len(mocked_responses.calls) == 0
    unreadable.refresh_from_db()
    assert unreadable.status == Connection.Status.NEEDS_REAUTH


@pytest.mark.parametrize("call", ["fresh", "refresh", "refresh_after_401"])
def test_token_paths_ask_to_reconnect_without_calling_out(unreadable, mocked_responses, call):
    calls = {
        "fresh": lambda: credential_fresh(connection=unreadable),
        "refresh": lambda: token_refresh(connection=unreadable),
        "refresh_after_401": lambda: token_refresh(connection=unreadable,
                                                   stale_access_token="AT-theirs"),
    }
    with pytest.raises(ReauthRequired) as caught:
        calls[call]()

    assert (caught.value.code, caught.value.message) == (CREDENTIAL_UNREADABLE_CODE,
                                                         CREDENTIAL_UNREADABLE)
    assert len(mocked_responses.calls) == 0


def test_revoke_does_not_send_an_unreadable_token(unreadable, mocked_responses):
    with pytest.raises(ReauthRequired):
        token_revoke(connection=unreadable)
    assert len(mocked_responses.calls) == 0


# --- staff -------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(staff)
    return client


def test_admin_shows_cannot_be_decrypted(staff_client, unreadable):
    changelist = staff_client.get(reverse("admin:integrations_connection_changelist"))
    change = staff_client.get(reverse("admin:integrations_connection_change",
                                      args=[unreadable.pk]))

    for response in (changelist, change):
        assert response.status_code == 200
        assert integrations_admin.CREDENTIAL_UNREADABLE_STAFF in response.content.decode()


def test_admin_test_connection_action_says_reconnect(staff_client, unreadable):
    response = staff_client.post(
        reverse("admin:integrations_connection_changelist"),
        {"action": "test_connection", "_selected_action": [unreadable.pk]}, follow=True,
    )

    assert response.status_code == 200
    assert escape(CREDENTIAL_UNREADABLE) in response.content.decode()


# --- operators ---------------------------------------------------------------------------------


def test_rotate_names_unreadable_rows_exits_non_zero_and_reencrypts_the_rest(user, unreadable):
    good = make_connection(user, "spotify", external_id="ext-2").credential
    good_before, bad_before = raw(good), raw(unreadable.credential)

    with pytest.raises(CommandError) as caught:
        call_command("rotate_encryption_keys", stdout=io.StringIO())

    assert f"connection ids: {unreadable.pk}" in str(caught.value)
    assert caught.value.returncode != 0
    assert raw(good) != good_before  # re-encrypted all the same
    assert Credential.objects.get(pk=good.pk).access_token == ACCESS_TOKEN
    assert raw(unreadable.credential) == bad_before  # left exactly as it was


def test_database_check_reports_unreadable_credentials(unreadable):
    found = checks.run_checks(databases=["default"], tags=[checks.Tags.database])
    assert [m.id for m in found if m.id == "thinkalike.W002"] == ["thinkalike.W002"]
    assert str(unreadable.pk) in next(m.msg for m in found if m.id == "thinkalike.W002")
    # Plain `check` (no --database) never queries.
    assert "thinkalike.W002" not in {m.id for m in checks.run_checks()}


def test_database_check_is_quiet_when_every_credential_reads(user):
    make_connection(user, "sandbox")
    found = checks.run_checks(databases=["default"], tags=[checks.Tags.database])
    assert "thinkalike.W002" not in {m.id for m in found}


def test_reconnecting_makes_an_unreadable_credential_readable(
        unreadable, django_capture_on_commit_callbacks):
    from integrations.providers.registry import get_provider
    from integrations.services import connection_store_oauth
    from integrations.tokens import TokenGrant, is_expiring

    account = SocialAccount.objects.create(user=unreadable.user, provider="sandbox",
                                           uid="sandbox-user")
    with django_capture_on_commit_callbacks():
        connection_store_oauth(  # the provider sends no refresh token this time
            user=unreadable.user, provider=get_provider("sandbox"), social_account=account,
            grant=TokenGrant(access_token="AT-new",
                             expires_at=timezone.now() + timedelta(seconds=10)),
            label="me",
        )

    credential = credential_for_use(connection=unreadable)
    assert credential.is_readable
    assert (credential.access_token, credential.refresh_token) == ("AT-new", "")
    # A 10-second token is renewed at half its life, not before its first use.
    assert not is_expiring(credential)
