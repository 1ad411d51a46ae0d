"""services.connection_disconnect: revoke where possible, delete everything imported."""

import threading

import pytest
from allauth.socialaccount.models import SocialAccount
from django.db import connection as db
from django.db import connections, transaction

from consent.models import ConsentGrant
from consent.services import consent_set
from integrations.models import (
    ApiCall,
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    Interest,
    StreamState,
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
    # The log line of the revoke stays (staff counts), unlinked and without its path: no path
    # outlives its connection.
    revoke_line = ApiCall.objects.get(method="POST", status_code=200, path="",
                                      connection__isnull=True)
    assert revoke_line.host


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


# --- a disconnect deletes what the purge deletes -----------------------------------------------

@pytest.fixture
def ada(db):
    from tests.integrations import test_purge

    return test_purge.ada.__wrapped__()


def test_disconnect_deletes_what_the_purge_deletes(ada):
    from library.models import LibraryConflict, LibraryEntry, LibraryPush, ListSyncSettings

    ani, mal = ada["anilist"], ada["myanimelist"]
    ani_pk = ani.pk  # delete() clears the instance's pk

    result = connection_disconnect(connection=ani, actor="user:1")

    assert not Connection.objects.filter(pk=ani_pk).exists()
    assert not ExternalItem.objects.filter(connection_id=ani_pk).exists()
    assert not UserInterest.objects.filter(connection_id=ani_pk).exists()
    assert not StreamState.objects.filter(connection_id=ani_pk).exists()
    assert not LibraryPush.objects.filter(connection_id=ani_pk).exists()
    assert not LibraryConflict.objects.filter(provider="anilist").exists()
    assert not ListSyncSettings.objects.filter(connection_id=ani_pk).exists()
    # The entry only AniList fed goes (ExternalItem.library_entry alone would have kept it).
    assert not LibraryEntry.objects.filter(pk=ada["only_ani"].pk).exists()
    # The entry on both stays, linked only to the other service, with its rows there.
    shared = LibraryEntry.objects.get(pk=ada["shared"].pk)
    assert list(shared.external_items.values_list("connection", flat=True)) == [mal.pk]
    assert LibraryPush.objects.filter(connection=mal, entry=shared).count() == 1
    assert LibraryConflict.objects.filter(provider="myanimelist", entry=shared).count() == 1
    assert LibraryEntry.objects.filter(pk__in=[ada["local"].pk, ada["only_mal"].pk]).count() == 2
    assert ExternalItem.objects.filter(connection=mal).count() == 2
    assert result.purged.items == 2 and result.purged.interests == 1
    assert result.purged.other == {"library_entries": 1, "library_pushes": 1,
                                   "library_conflicts": 1}
    line = AuditEvent.objects.get(connection_ref=ani_pk, action=AuditEvent.Action.DISCONNECTED)
    assert line.message == ("2 imported items deleted, 1 library conflicts, 1 library entries, "
                            "1 library pushes")


def test_disconnect_is_not_blocked_by_a_running_sync(ada):
    """Unlike the purge: the connection row goes too, so the sync cannot bring data back, and a
    stuck sync must not keep a person connected."""
    from integrations.sync import sync_holds, sync_request
    from library.models import LibraryEntry

    ani = ada["anilist"]
    ani_pk = ani.pk  # delete() clears the instance's pk
    assert sync_request(connection=ani, trigger=SyncRun.Trigger.MANUAL) is not None
    assert sync_holds(connection_pk=ani_pk)

    connection_disconnect(connection=ani)

    assert not Connection.objects.filter(pk=ani_pk).exists()
    assert not SyncRun.objects.filter(connection_id=ani_pk).exists()
    assert not ExternalItem.objects.filter(connection_id=ani_pk).exists()
    assert not LibraryEntry.objects.filter(pk=ada["only_ani"].pk).exists()


def test_a_second_disconnect_of_the_same_connection_deletes_nothing_more(ada):
    ani = ada["anilist"]
    stale = Connection.objects.get(pk=ani.pk)
    connection_disconnect(connection=ani)
    result = connection_disconnect(connection=stale)
    assert result.purged is None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.DISCONNECTED).count() == 1


def lock_waiters_appear() -> bool:
    """Whether another session of this database comes to wait on a lock (within 10 s)."""
    for _ in range(200):
        with db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                           " AND datname = current_database()")
            if cursor.fetchone()[0]:
                return True
        threading.Event().wait(0.05)
    return False


@pytest.mark.skipif(db.vendor != "postgresql",
                    reason="threads that wait on row locks need PostgreSQL (CI's second leg)")
@pytest.mark.django_db(transaction=True)
def test_a_sync_write_in_flight_cannot_land_in_a_disconnect(user, monkeypatch):
    """A sync page written but not committed when the disconnect starts. PostgreSQL checks the
    foreign key (taking its lock on the connection row) at commit: the disconnect's row lock
    makes that commit wait, then fail on the missing row, so nothing of it remains. (Without
    the lock the page commits between the deletion's reads and the connection's delete, and
    the disconnect fails on the foreign key instead.)"""
    from integrations import services

    connection = make_connection(user, "spotify")
    written, release, purged, proceed = (threading.Event() for _ in range(4))
    page_errors, disconnect_errors = [], []
    real_purge_rows = services._purge_rows

    def purge_rows_then_pause(target):
        result = real_purge_rows(target)
        purged.set()
        proceed.wait(10)
        return result

    monkeypatch.setattr(services, "_purge_rows", purge_rows_then_pause)

    def sync_page():
        try:
            with transaction.atomic():
                ExternalItem.objects.create(connection_id=connection.pk, kind="track",
                                            external_id="late", title="Late", content_hash="h")
                written.set()
                release.wait(10)
        except Exception as exc:  # the commit's foreign key check
            page_errors.append(exc)
        finally:
            connections.close_all()

    def disconnect():
        try:
            connection_disconnect(connection=Connection.objects.get(pk=connection.pk))
        except Exception as exc:
            disconnect_errors.append(exc)
        finally:
            connections.close_all()

    page, gone = threading.Thread(target=sync_page), threading.Thread(target=disconnect)
    page.start()
    assert written.wait(10)
    gone.start()
    assert purged.wait(10)
    release.set()  # the page commits now, in the middle of the disconnect
    assert lock_waiters_appear(), "the page's commit did not wait for the disconnect"
    proceed.set()
    page.join(10)
    gone.join(10)
    assert disconnect_errors == []
    assert [type(exc).__name__ for exc in page_errors] == ["IntegrityError"]
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert not ExternalItem.objects.exists()
