"""A change of health to failing or needs reconnecting: one notice and one e-mail, not one per
attempt (notices/services.py, through integrations/health_record.py)."""

import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.services import consent_set
from integrations import health
from integrations.health_record import connection_health_record
from integrations.models import Connection, SyncRun
from integrations.reauth import connection_mark_reauth
from integrations.services import connection_update_settings
from integrations.sync import sync_execute, sync_request
from notices.models import Notice
from notices.services import (
    EMAIL_REASONS,
    EMAIL_SUBJECT,
    EMAIL_TASK,
    TITLES,
    notice_email_send,
    notification_settings_update,
)
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

OL = "https://openlibrary.org"
SHELVES = ("want-to-read", "currently-reading", "already-read")
PRIVATE = "Shelf want-to-read not found or not accessible"


@pytest.fixture(autouse=True)
def _queued(monkeypatch, q_sync):
    # Syncs are not queued (each test runs them); the e-mail task runs inline (q_sync).
    monkeypatch.setattr("integrations.sync.enqueue_many", lambda func, batch: None)


@pytest.fixture
def user():
    user = make_user()
    consent_set(user=user, purpose="matching", granted=True)
    return user


@pytest.fixture
def connection(user):
    return make_connection(user, "openlibrary", external_id="reader", access_token="",
                           refresh_token="", expires_in=None)


@pytest.fixture
def sync(mocked_responses, django_capture_on_commit_callbacks):
    """Run one sync of the connection against a working or a private reading log, committing
    (so e-mails queued on commit are sent)."""

    def run(connection, *, works: bool) -> SyncRun:
        mocked_responses.reset()
        for shelf in SHELVES:
            body = ({"page": 1, "numFound": 0, "reading_log_entries": []} if works
                    else {"error": PRIVATE})
            mocked_responses.get(f"{OL}/people/reader/books/{shelf}.json", json=body)
        with django_capture_on_commit_callbacks(execute=True):
            queued = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL)
            return sync_execute(run_id=queued.pk)

    return run


def state_of(connection) -> str:
    return Connection.objects.get(pk=connection.pk).health_state


def test_three_failed_syncs_make_one_notice_and_one_email_and_a_fourth_adds_nothing(
        connection, sync, mailoutbox):
    assert sync(connection, works=True).status == SyncRun.Status.SUCCEEDED
    assert state_of(connection) == health.HEALTHY
    for _ in range(2):
        sync(connection, works=False)
    assert state_of(connection) == health.DEGRADED
    assert not Notice.objects.exists() and mailoutbox == []

    sync(connection, works=False)  # the third in a row: failing
    assert state_of(connection) == health.FAILING
    notice = Notice.objects.get()
    assert (notice.kind, notice.state, notice.provider) == ("failing", "open", "openlibrary")
    assert notice.title == TITLES["failing"].format(name="Open Library")
    assert notice.body.startswith("The last 3 syncs failed: ") and PRIVATE in notice.body
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ada@example.com"]
    assert mail.subject == EMAIL_SUBJECT.format(title=notice.title)
    assert reverse("integrations:connection_detail", args=[connection.pk]) in mail.body
    # Fixed words: what the provider wrote stays in the app (the notice), not in the e-mail.
    assert EMAIL_REASONS["failing"].format(name="Open Library") in mail.body
    assert PRIVATE not in mail.body and "reading_log" not in mail.body
    notice.refresh_from_db()
    assert notice.emailed_at is not None

    sync(connection, works=False)  # a fourth: still failing, nothing new
    assert state_of(connection) == health.FAILING
    assert Notice.objects.count() == 1 and len(mailoutbox) == 1


def test_needs_reconnect_notifies_once(connection, sync, mailoutbox,
                                       django_capture_on_commit_callbacks):
    sync(connection, works=True)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            connection_mark_reauth(connection=connection, reason="Open Library refused the key")
    assert state_of(connection) == health.NEEDS_RECONNECT
    notice = Notice.objects.get()
    assert notice.kind == Notice.Kind.NEEDS_RECONNECT
    assert "refused the key" in notice.body
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject.endswith("Open Library needs reconnecting")


def test_a_recovery_resolves_the_notice_and_a_new_failure_notifies_again(
        connection, sync, mailoutbox):
    for _ in range(3):
        sync(connection, works=False)
    first = Notice.objects.get()
    sync(connection, works=True)
    assert state_of(connection) == health.HEALTHY
    first.refresh_from_db()
    assert first.state == Notice.State.RESOLVED and first.resolved_at is not None
    recovered = Notice.objects.get(kind=Notice.Kind.RECOVERED)
    assert recovered.title == "Open Library is working again"
    assert recovered.emailed_at is None and len(mailoutbox) == 1  # no e-mail for good news

    for _ in range(3):
        sync(connection, works=False)
    assert Notice.objects.filter(kind=Notice.Kind.FAILING).count() == 2
    assert Notice.objects.filter(kind=Notice.Kind.FAILING, state="open").count() == 1
    assert len(mailoutbox) == 2


def test_opting_out_still_makes_the_notice_but_sends_no_email(user, connection, sync,
                                                               mailoutbox):
    notification_settings_update(user=user, email_on_health=False)
    for _ in range(3):
        sync(connection, works=False)
    notice = Notice.objects.get()
    assert notice.kind == Notice.Kind.FAILING and notice.emailed_at is None
    assert mailoutbox == []


def test_an_email_that_cannot_be_sent_is_logged_not_raised_nor_retried(
        connection, sync, monkeypatch, caplog):
    attempts = []

    def broken(*args, **kwargs):
        attempts.append(args)
        raise ConnectionRefusedError("smtp.example.com refused")

    monkeypatch.setattr("notices.services.send_mail", broken)
    with caplog.at_level(logging.WARNING, logger="notices.services"):
        for _ in range(4):
            run = sync(connection, works=False)
    assert run.status == SyncRun.Status.FAILED  # the sync itself ended normally
    notice = Notice.objects.get()
    assert notice.emailed_at is None
    assert len(attempts) == 1
    assert "could not be sent (ConnectionRefusedError)" in caplog.text


def test_turning_sync_off_resolves_the_open_notice_without_a_new_one(connection, sync,
                                                                    mailoutbox):
    for _ in range(3):
        sync(connection, works=False)
    connection_update_settings(connection=connection, sync_enabled=False)
    assert state_of(connection) == health.IDLE
    assert list(Notice.objects.values_list("kind", "state")) == [("failing", "resolved")]


def test_no_secret_reaches_the_notice_or_the_email(user, mailoutbox,
                                                   django_capture_on_commit_callbacks):
    connection = make_connection(user, "openlibrary", external_id="reader",
                                 access_token="AT-fake-access-SECRET", expires_in=None)
    Connection.objects.filter(pk=connection.pk).update(
        consecutive_failures=3, last_error="upstream said token=AT-fake-access-SECRET",
        health_state=health.DEGRADED)
    with django_capture_on_commit_callbacks(execute=True):
        connection_health_record(connection=connection, now=timezone.now())
    notice = Notice.objects.get()
    assert notice.body.startswith("The last 3 syncs failed: upstream said token=")
    assert "AT-fake-access-SECRET" not in notice.body
    assert len(mailoutbox) == 1 and "AT-fake-access-SECRET" not in mailoutbox[0].body


def test_the_email_is_queued_on_commit_not_sent_by_the_worker_that_saw_the_change(
        connection, mailoutbox, monkeypatch, django_capture_on_commit_callbacks):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)  # a real queue: the task waits for a worker
    queued = []
    monkeypatch.setattr("notices.services.enqueue_many",
                        lambda func, calls: queued.extend((func, *call) for call in calls))
    Connection.objects.filter(pk=connection.pk).update(
        consecutive_failures=3, last_error="down", health_state=health.DEGRADED)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        connection_health_record(connection=connection, now=timezone.now())
    notice = Notice.objects.get()
    assert queued == [] and mailoutbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert queued == [(EMAIL_TASK, (notice.pk,), f"notice-email-{notice.pk}")]
    assert mailoutbox == []  # queued, not sent here
    from notices.tasks import send_notice_email

    assert send_notice_email(notice.pk) is True  # what the worker runs
    assert len(mailoutbox) == 1
    assert send_notice_email(notice.pk) is False and len(mailoutbox) == 1  # once


def test_smtp_has_a_timeout(monkeypatch):
    import importlib

    from django.core.mail import get_connection

    import thinkalike.settings as base

    assert base.EMAIL_TIMEOUT == 10
    monkeypatch.setenv("EMAIL_TIMEOUT", "4")
    try:
        assert importlib.reload(base).EMAIL_TIMEOUT == 4
    finally:
        monkeypatch.delenv("EMAIL_TIMEOUT")
        importlib.reload(base)
    smtp = get_connection("django.core.mail.backends.smtp.EmailBackend")
    assert smtp.timeout == 10


def test_a_successful_sync_ends_the_failed_tests_in_a_row_a_failed_one_does_not(connection,
                                                                               sync):
    Connection.objects.filter(pk=connection.pk).update(consecutive_test_failures=2,
                                                       last_test_error="a test failed")
    sync(connection, works=False)
    row = Connection.objects.get(pk=connection.pk)
    assert (row.consecutive_test_failures, row.last_test_error) == (2, "a test failed")
    sync(connection, works=True)
    row = Connection.objects.get(pk=connection.pk)
    assert (row.consecutive_test_failures, row.last_test_error) == (0, "")  # and its error


# --- the queued e-mail judges again when it runs ------------------------------------------------

def _queued_failing_notice(connection, monkeypatch, django_capture_on_commit_callbacks):
    """A change to failing whose e-mail is queued (not sent yet): returns the notice."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr("notices.services.enqueue_many", lambda func, calls: None)
    Connection.objects.filter(pk=connection.pk).update(
        consecutive_failures=3, last_error="down", health_state=health.DEGRADED)
    with django_capture_on_commit_callbacks(execute=True):
        connection_health_record(connection=connection, now=timezone.now())
    return Notice.objects.get(kind=Notice.Kind.FAILING)


def test_the_queued_email_is_sent_while_everything_still_holds(
        connection, mailoutbox, monkeypatch, django_capture_on_commit_callbacks):
    notice = _queued_failing_notice(connection, monkeypatch, django_capture_on_commit_callbacks)
    assert notice_email_send(notice_id=notice.pk) is True
    assert len(mailoutbox) == 1


def test_opting_out_before_the_queued_email_runs_sends_nothing(
        user, connection, mailoutbox, monkeypatch, django_capture_on_commit_callbacks):
    notice = _queued_failing_notice(connection, monkeypatch, django_capture_on_commit_callbacks)
    notification_settings_update(user=user, email_on_health=False)
    assert notice_email_send(notice_id=notice.pk) is False
    assert mailoutbox == [] and Notice.objects.get(pk=notice.pk).emailed_at is None


def test_a_closed_account_gets_no_queued_email(
        user, connection, mailoutbox, monkeypatch, django_capture_on_commit_callbacks):
    notice = _queued_failing_notice(connection, monkeypatch, django_capture_on_commit_callbacks)
    type(user).objects.filter(pk=user.pk).update(is_active=False)  # account deletion started
    assert notice_email_send(notice_id=notice.pk) is False
    assert mailoutbox == []


def test_a_notice_resolved_before_the_queued_email_runs_sends_nothing(
        connection, mailoutbox, monkeypatch, django_capture_on_commit_callbacks):
    notice = _queued_failing_notice(connection, monkeypatch, django_capture_on_commit_callbacks)
    # It works again before a worker picks the e-mail up: the notice is resolved.
    Connection.objects.filter(pk=connection.pk).update(
        consecutive_failures=0, last_error="", last_success_at=timezone.now())
    connection_health_record(connection=connection, now=timezone.now())
    assert Notice.objects.get(pk=notice.pk).state == Notice.State.RESOLVED
    assert notice_email_send(notice_id=notice.pk) is False
    assert mailoutbox == []
