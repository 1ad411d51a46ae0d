"""Per-connection sync settings: services.connection_update_settings, the connection page's
form (views.connection_settings), and that the engine honours each setting."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent.services import consent_set
from integrations import views
from integrations.models import AuditEvent, Connection, SyncRun
from integrations.services import connection_update_settings
from integrations.sync import (
    SKIP_SYNC_OFF,
    SKIP_TURNED_OFF,
    sync_dispatch_due,
    sync_execute,
    sync_request,
)
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return make_user()


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr("integrations.sync.enqueue_many",
                        lambda func, batch: calls.extend(args for args, _ in batch))
    return calls


@pytest.fixture
def sandbox_connection(user, sandbox, client):
    from tests.integrations.sandbox.conftest import OAuthDriver

    tokens = OAuthDriver(client).tokens("demo-listener")
    consent_set(user=user, purpose="matching", granted=True, provider="")
    return make_connection(user, "sandbox", external_id="demo-listener",
                           access_token=tokens["access_token"],
                           refresh_token=tokens["refresh_token"])


def settings_events():
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.SETTINGS_CHANGED)
                .values_list("message", flat=True))


# -- the service ------------------------------------------------------------------------------

def test_turning_auto_sync_off_unschedules_and_on_again_makes_it_due(user):
    connection = make_connection(user, "sandbox")
    connection_update_settings(connection=connection, auto_sync=False, actor="t")
    connection.refresh_from_db()
    assert connection.auto_sync is False and connection.next_sync_at is None
    connection_update_settings(connection=connection, auto_sync=True, actor="t")
    connection.refresh_from_db()
    assert connection.next_sync_at is not None and connection.next_sync_at <= timezone.now()
    assert settings_events() == ["automatic sync on", "automatic sync off"]


def test_a_change_of_nothing_writes_no_audit_line_and_keeps_the_schedule(user):
    connection = make_connection(user, "sandbox")
    later = timezone.now() + timedelta(hours=2)
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=later)
    connection.refresh_from_db()
    connection_update_settings(connection=connection, sync_enabled=True, auto_sync=True,
                               streams={"tracks": True})
    connection.refresh_from_db()
    assert connection.next_sync_at == later and settings_events() == []


def test_stream_toggles_are_kept_by_name_and_audited_by_label(user):
    connection = make_connection(user, "sandbox")
    connection_update_settings(connection=connection, streams={"tracks": False})
    connection.refresh_from_db()
    assert connection.stream_settings == {"tracks": False}
    assert connection.stream_enabled("tracks") is False
    assert connection.stream_enabled("top_artists") is True
    assert settings_events() == ["Saved tracks off"]


def test_an_undeclared_stream_raises_and_changes_nothing(user):
    connection = make_connection(user, "sandbox")
    with pytest.raises(KeyError):
        connection_update_settings(connection=connection, sync_enabled=False,
                                   streams={"tracks": False, "secrets": True})
    connection.refresh_from_db()
    assert connection.sync_enabled is True and connection.stream_settings == {}


# -- the engine honours the settings ----------------------------------------------------------

def test_the_dispatcher_skips_auto_sync_off_but_a_manual_sync_runs(user, queued):
    connection = make_connection(user, "sandbox")
    connection_update_settings(connection=connection, auto_sync=False)
    # Even with a due date left over from before (written by hand here).
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=timezone.now())
    assert sync_dispatch_due() == 0
    assert sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL) is not None


def test_sync_off_refuses_every_sync(user, queued):
    connection = make_connection(user, "sandbox")
    connection_update_settings(connection=connection, sync_enabled=False)
    assert sync_dispatch_due() == 0
    assert sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL) is None


def test_a_run_queued_before_sync_was_turned_off_is_skipped(user, queued, sandbox_connection,
                                                            sandbox):
    run = sync_request(connection=sandbox_connection, trigger=SyncRun.Trigger.MANUAL)
    connection_update_settings(connection=sandbox_connection, sync_enabled=False)
    sandbox.calls.clear()
    run = sync_execute(run_id=run.pk)
    assert run.status == SyncRun.Status.SKIPPED
    assert {s["reason"] for s in run.streams.values()} == {SKIP_SYNC_OFF}
    assert sandbox.calls == []
    sandbox_connection.refresh_from_db()
    assert sandbox_connection.next_sync_at is None  # nothing scheduled while sync is off


def test_a_stream_turned_off_is_skipped_by_the_engine(user, queued, sandbox_connection,
                                                      sandbox):
    connection_update_settings(connection=sandbox_connection, streams={"tracks": False})
    sandbox.calls.clear()
    run = sync_execute(run_id=sync_request(connection=sandbox_connection,
                                           trigger=SyncRun.Trigger.MANUAL).pk)
    assert run.streams["tracks"] == {"status": "skipped", "reason": SKIP_TURNED_OFF}
    assert run.streams["top_artists"]["status"] == "succeeded"
    assert not any("track" in path for path in sandbox.paths())
    assert sandbox_connection.items.filter(kind="track").count() == 0


def test_a_run_ending_while_auto_sync_is_off_schedules_nothing(user, queued, sandbox_connection):
    connection_update_settings(connection=sandbox_connection, auto_sync=False)
    run = sync_execute(run_id=sync_request(connection=sandbox_connection,
                                           trigger=SyncRun.Trigger.MANUAL).pk)
    assert run.status == SyncRun.Status.SUCCEEDED
    sandbox_connection.refresh_from_db()
    assert sandbox_connection.last_sync_at is not None
    assert sandbox_connection.next_sync_at is None


# -- the page ---------------------------------------------------------------------------------

@pytest.fixture
def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_the_settings_form_with_the_current_values(browser, user):
    connection = make_connection(user, "sandbox")
    Connection.objects.filter(pk=connection.pk).update(auto_sync=False,
                                                       stream_settings={"tracks": False})
    page = browser.get(reverse("integrations:connection_detail", args=[connection.pk]))
    form = page.context["settings_form"]
    assert form["sync_enabled"].value() is True and form["auto_sync"].value() is False
    assert form["stream_tracks"].value() is False and form["stream_top_artists"].value() is True
    action = reverse("integrations:connection_settings", args=[connection.pk])
    assert f'action="{action}"' in page.content.decode()


def test_the_form_saves_through_the_service(browser, user):
    connection = make_connection(user, "sandbox")
    url = reverse("integrations:connection_settings", args=[connection.pk])
    # Unticked boxes are not sent: auto sync and tracks go off.
    response = browser.post(url, {"sync_enabled": "on", "stream_top_artists": "on"}, follow=True)
    assert views.SETTINGS_SAVED in [str(m) for m in response.context["messages"]]
    connection.refresh_from_db()
    assert (connection.sync_enabled, connection.auto_sync) == (True, False)
    assert connection.stream_settings == {"tracks": False, "top_artists": True}
    assert AuditEvent.objects.get(action=AuditEvent.Action.SETTINGS_CHANGED).actor == (
        f"user:{user.pk}")


def test_another_persons_connection_is_404(browser):
    theirs = make_connection(make_user("grace@example.com"), "sandbox")
    response = browser.post(reverse("integrations:connection_settings", args=[theirs.pk]), {})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.sync_enabled is True


def test_the_form_needs_its_csrf_token_and_a_post(user):
    connection = make_connection(user, "sandbox")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    url = reverse("integrations:connection_settings", args=[connection.pk])
    assert client.post(url, {}).status_code == 403
    assert client.get(url).status_code == 405
    connection.refresh_from_db()
    assert connection.sync_enabled is True


def test_signed_out_is_sent_to_sign_in(user):
    connection = make_connection(user, "sandbox")
    response = Client().post(reverse("integrations:connection_settings", args=[connection.pk]))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_scheduling_without_a_date_gets_one(user):
    # A manual run that ended while automatic sync was off left no date; saving the settings
    # with everything on must not leave the connection unscheduled for ever.
    connection = make_connection(user, "sandbox")
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=None)
    connection.refresh_from_db()
    connection_update_settings(connection=connection, auto_sync=True, sync_enabled=True)
    connection.refresh_from_db()
    assert connection.next_sync_at is not None and connection.next_sync_at <= timezone.now()
