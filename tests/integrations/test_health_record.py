"""integrations/health_record.py: the recorded health changes once per change, however many
workers see it."""

import copy

import pytest
from django.utils import timezone

from integrations import health, health_record
from integrations.health_record import connection_health_record
from integrations.models import Connection
from integrations.models.connections import HEALTH_CHOICES
from integrations.providers.base import AccountInfo
from integrations.providers.registry import get_provider
from integrations.services import connection_store_credentials
from integrations.signals import health_changed
from notices.models import Notice
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    changes = []

    def listen(sender, *, connection, old, health, at, **kwargs):
        changes.append((old, health.state))

    health_changed.connect(listen, dispatch_uid="test-heard")
    yield changes
    health_changed.disconnect(dispatch_uid="test-heard")


def failing(user, *, recorded=health.DEGRADED):
    """A connection whose row says failing, last recorded ``recorded``."""
    connection = make_connection(user, "openlibrary", expires_in=None)
    Connection.objects.filter(pk=connection.pk).update(consecutive_failures=3,
                                                       last_error="down",
                                                       health_state=recorded)
    return connection


def test_the_model_offers_the_health_states():
    assert [value for value, _ in HEALTH_CHOICES] == health.STATES


def test_a_change_is_stored_and_told_once(heard):
    connection = failing(make_user())
    now = timezone.now()
    judged = connection_health_record(connection=connection, now=now)
    assert judged.state == health.FAILING
    row = Connection.objects.get(pk=connection.pk)
    assert (row.health_state, row.health_changed_at) == (health.FAILING, now)
    assert connection.health_state == health.FAILING  # the caller's copy follows
    connection_health_record(connection=connection, now=timezone.now())
    assert heard == [(health.DEGRADED, health.FAILING)]
    assert Connection.objects.get(pk=connection.pk).health_changed_at == now


def test_two_workers_reading_the_same_old_state_notify_once(monkeypatch, heard):
    connection = failing(make_user())
    # Both read the row before either writes: the same stale snapshot for both calls.
    stale = health_record._current(connection.pk)
    monkeypatch.setattr(health_record, "_current", lambda pk: _copy(stale))
    connection_health_record(connection=connection, now=timezone.now())
    connection_health_record(connection=connection, now=timezone.now())
    assert heard == [(health.DEGRADED, health.FAILING)]
    assert Notice.objects.count() == 1


def _copy(connection, *, stale=False):
    """A copy of ``connection`` as read: its recorded state (or every field, ``stale``) from
    before another worker wrote."""
    if stale:
        return copy.deepcopy(connection)
    clone = Connection.objects.select_related("credential").get(pk=connection.pk)
    clone.health_state = connection.health_state  # what was read before the other wrote
    return clone


def test_a_gone_connection_records_nothing(heard):
    connection = failing(make_user())
    Connection.objects.filter(pk=connection.pk).delete()
    assert connection_health_record(connection=connection, now=timezone.now()) is None
    assert heard == []


# --- the first record is a baseline --------------------------------------------------------------

def test_the_first_record_of_a_row_from_before_0014_is_silent(heard, mailoutbox,
                                                               django_capture_on_commit_callbacks):
    # Migration 0014 left every row blank: a deploy must not notify each failing connection.
    connection = failing(make_user(), recorded="")
    with django_capture_on_commit_callbacks(execute=True):
        judged = connection_health_record(connection=connection, now=timezone.now())
    assert judged.state == health.FAILING
    assert Connection.objects.get(pk=connection.pk).health_state == health.FAILING
    assert heard == [] and not Notice.objects.exists() and mailoutbox == []


def test_a_new_connection_is_recorded_at_connect_so_its_first_failure_notifies(
        heard, monkeypatch, mailoutbox, q_sync, django_capture_on_commit_callbacks):
    monkeypatch.setattr("integrations.sync.enqueue_many", lambda func, batch: None)
    user = make_user()
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_store_credentials(
            user=user, provider=get_provider("openlibrary"),
            account=AccountInfo(external_id="reader", label="reader"),
            fields={"username": "reader"})
    assert Connection.objects.get(pk=connection.pk).health_state == health.IDLE
    assert heard == []  # the baseline: idle, told to nobody
    Connection.objects.filter(pk=connection.pk).update(
        consecutive_failures=3, last_error="down", last_sync_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        connection_health_record(connection=connection, now=timezone.now())
    assert heard == [(health.IDLE, health.FAILING)]
    assert Notice.objects.get().kind == Notice.Kind.FAILING
    assert len(mailoutbox) == 1


# --- a stale read never wins ---------------------------------------------------------------------

def test_a_verdict_judged_on_a_stale_read_is_not_recorded(monkeypatch, heard):
    # Recorded healthy. A worker read the row while a periodic test had just failed (one
    # failure: degraded); before it wrote, a sync succeeded and reset the failures, and that
    # sync's own record found nothing changed. The stale worker must not record "degraded".
    connection = make_connection(make_user(), "openlibrary", expires_in=None)
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        last_sync_at=now, last_success_at=now, health_state=health.HEALTHY,
        consecutive_test_failures=1, last_error="down")
    stale = health_record._current(connection.pk)
    Connection.objects.filter(pk=connection.pk).update(consecutive_test_failures=0,
                                                       last_error="")
    monkeypatch.setattr(health_record, "_current", lambda pk: _copy(stale, stale=True))
    assert health.connection_health(stale, now=now).state == health.DEGRADED

    connection_health_record(connection=connection, now=now)

    fresh = Connection.objects.select_related("credential").get(pk=connection.pk)
    assert fresh.health_state == health.connection_health(fresh, now=now).state == health.HEALTHY
    assert heard == []
    assert connection.health_state == health.HEALTHY


def test_a_tick_records_the_never_recorded_silently_in_batches(heard, mailoutbox):
    from integrations.connection_tests import connection_tests_run_due

    user = make_user()
    never = failing(user, recorded="")
    sync_off = make_connection(make_user("off@example.com"), "openlibrary", expires_in=None)
    Connection.objects.filter(pk=sync_off.pk).update(sync_enabled=False, health_state="")
    assert health_record.connections_health_baseline(now=timezone.now(), limit=1) == 1

    result = connection_tests_run_due(now=timezone.now())

    assert result.baselined == 1  # the one the first batch left
    states = dict(Connection.objects.values_list("pk", "health_state"))
    assert states == {never.pk: health.FAILING, sync_off.pk: health.IDLE}
    assert heard == [] and mailoutbox == [] and not Notice.objects.exists()
    assert connection_tests_run_due(now=timezone.now()).baselined == 0
