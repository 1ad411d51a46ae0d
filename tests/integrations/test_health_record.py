"""integrations/health_record.py: the recorded health changes once per change, however many
workers see it."""

import pytest
from django.utils import timezone

from integrations import health, health_record
from integrations.health_record import connection_health_record
from integrations.models import Connection
from integrations.models.connections import HEALTH_CHOICES
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


def failing(user):
    connection = make_connection(user, "openlibrary", expires_in=None)
    Connection.objects.filter(pk=connection.pk).update(consecutive_failures=3,
                                                       last_error="down")
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
    assert heard == [("", health.FAILING)]
    assert Connection.objects.get(pk=connection.pk).health_changed_at == now


def test_two_workers_reading_the_same_old_state_notify_once(monkeypatch, heard):
    connection = failing(make_user())
    # Both read the row before either writes: the same stale snapshot for both calls.
    stale = health_record._current(connection.pk)
    monkeypatch.setattr(health_record, "_current", lambda pk: _copy(stale))
    connection_health_record(connection=connection, now=timezone.now())
    connection_health_record(connection=connection, now=timezone.now())
    assert heard == [("", health.FAILING)]
    assert Notice.objects.count() == 1


def _copy(connection):
    clone = Connection.objects.select_related("credential").get(pk=connection.pk)
    clone.health_state = connection.health_state  # what was read before the other wrote
    return clone


def test_a_gone_connection_records_nothing(heard):
    connection = failing(make_user())
    Connection.objects.filter(pk=connection.pk).delete()
    assert connection_health_record(connection=connection, now=timezone.now()) is None
    assert heard == []
