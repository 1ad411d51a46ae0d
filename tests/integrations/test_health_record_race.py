"""Two workers recording one connection's health at once, raced for real on PostgreSQL (each
thread holds its own connection): the verdict recorded is the fresh row's, never one judged
on a read that another worker's write made stale."""

import threading

import pytest
from django.db import connection as db
from django.db import connections
from django.utils import timezone

from integrations import health, health_record
from integrations.health_record import connection_health_record
from integrations.models import Connection
from integrations.signals import health_changed
from tests.factories import make_connection, make_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(db.vendor != "postgresql",
                       reason="the race needs PostgreSQL (run in CI's second leg)"),
]


def test_a_worker_whose_read_went_stale_does_not_record_its_verdict(monkeypatch):
    connection = make_connection(make_user(), "openlibrary", expires_in=None)
    now = timezone.now()
    # A periodic test has just failed (one failure: degraded); the recorded state is healthy.
    Connection.objects.filter(pk=connection.pk).update(
        last_sync_at=now, last_success_at=now, health_state=health.HEALTHY,
        consecutive_test_failures=1, last_error="down")
    heard = []
    health_changed.connect(lambda sender, **kw: heard.append(kw["health"].state),
                           dispatch_uid="race-heard", weak=False)
    judged_stale = threading.Event()
    sync_done = threading.Event()
    real = health_record.connection_health
    errors = []

    def slow_judge(row, *, now):
        verdict = real(row, now=now)
        if threading.current_thread().name == "test" and not judged_stale.is_set():
            judged_stale.set()
            sync_done.wait(timeout=20)  # a sync succeeds and records meanwhile
        return verdict

    monkeypatch.setattr(health_record, "connection_health", slow_judge)

    def tester():
        try:
            connection_health_record(connection=Connection.objects.get(pk=connection.pk),
                                     now=now)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def syncer():
        try:
            judged_stale.wait(timeout=20)
            Connection.objects.filter(pk=connection.pk).update(consecutive_test_failures=0,
                                                               last_error="")
            connection_health_record(connection=Connection.objects.get(pk=connection.pk),
                                     now=now)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            sync_done.set()
            connections.close_all()

    try:
        threads = [threading.Thread(target=tester, name="test"),
                   threading.Thread(target=syncer, name="sync")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        health_changed.disconnect(dispatch_uid="race-heard")
    assert not errors, errors
    fresh = Connection.objects.select_related("credential").get(pk=connection.pk)
    assert fresh.health_state == real(fresh, now=now).state == health.HEALTHY
    assert heard == []
