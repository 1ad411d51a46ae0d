"""Migration 0021: connections never recorded (blank ``health_state``, from before 0014) get a
baseline from their own fields, so their first real change is told, not swallowed as a silent
first record."""

import importlib
from datetime import timedelta

import pytest
from django.db import connection as db
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from integrations import health
from integrations.models import Connection
from integrations.reauth import connection_mark_reauth
from notices.models import Notice
from tests.factories import make_connection, make_user

BEFORE = [("integrations", "0020_connection_last_test_error")]
AFTER = [("integrations", "0021_health_baseline")]
MIGRATION = importlib.import_module("integrations.migrations.0021_health_baseline")


def _migrate(target):
    executor = MigrationExecutor(db)
    executor.loader.build_graph()
    executor.migrate(target)


@pytest.mark.django_db(transaction=True)
def test_unrecorded_rows_get_a_baseline_and_their_next_change_is_told(monkeypatch, q_sync,
                                                                     mailoutbox):
    monkeypatch.setattr(MIGRATION, "BATCH", 3)  # several batches
    _migrate(BEFORE)  # 0021 only writes data: today's models fit 0020's tables
    now = timezone.now()
    ok = {"last_sync_at": now, "last_success_at": now}
    rows = {
        "reauth": ({"status": "needs_reauth", **ok}, health.NEEDS_RECONNECT),
        "disabled": ({"status": "disabled", **ok}, health.IDLE),
        "sync_off": ({"sync_enabled": False, "consecutive_failures": 5}, health.IDLE),
        "tests_failing": ({"consecutive_test_failures": 3, "last_error": "test boom", **ok},
                          health.FAILING),
        "syncs_failing": ({"consecutive_failures": 4, "last_error": "sync boom", **ok},
                          health.FAILING),
        "in_error": ({"status": "error", **ok}, health.FAILING),
        "one_failure": ({"consecutive_failures": 1, **ok}, health.DEGRADED),
        "two_test_failures": ({"consecutive_test_failures": 2, **ok}, health.DEGRADED),
        "never_worked": ({"last_sync_at": now}, health.IDLE),
        "working": (ok, health.HEALTHY),
    }
    pks = {}
    for i, (name, (fields, _)) in enumerate(rows.items()):
        made = make_connection(make_user(f"m{i}@example.com"), "openlibrary",
                               external_id=name, access_token="", refresh_token="",
                               expires_in=None)
        Connection.objects.filter(pk=made.pk).update(health_state="", **fields)
        pks[name] = made.pk
    recorded = make_connection(make_user("rec@example.com"), "openlibrary", external_id="rec",
                               access_token="", refresh_token="", expires_in=None)
    earlier = now - timedelta(days=3)
    Connection.objects.filter(pk=recorded.pk).update(  # recorded already: left alone
        health_state=health.DEGRADED, health_changed_at=earlier, **ok)

    _migrate(AFTER)

    states = dict(Connection.objects.filter(pk__in=pks.values())
                  .values_list("pk", "health_state"))
    assert {name: states[pk] for name, pk in pks.items()} == {
        name: state for name, (_, state) in rows.items()}
    assert not Connection.objects.filter(pk__in=pks.values(), health_changed_at=None).exists()
    assert Connection.objects.filter(pk=recorded.pk, health_state=health.DEGRADED,
                                     health_changed_at=earlier).exists()
    assert Notice.objects.count() == 0  # a baseline tells no one
    # A test's error written to last_error before 0020 moves to last_test_error, where health
    # quotes it; a sync's stays.
    errors = dict((pk, (sync, test)) for pk, sync, test in Connection.objects.filter(
        pk__in=[pks["tests_failing"], pks["syncs_failing"]]).values_list(
            "pk", "last_error", "last_test_error"))
    assert errors == {pks["tests_failing"]: ("", "test boom"),
                      pks["syncs_failing"]: ("sync boom", "")}
    tests_failing = Connection.objects.select_related("credential").get(pk=pks["tests_failing"])
    assert "test boom" in health.connection_health(tests_failing, now=now).reason

    # A working old row is then refused: a change from healthy, told.
    working = Connection.objects.get(pk=pks["working"])
    connection_mark_reauth(connection=working, reason="key revoked", actor="sync")
    assert Connection.objects.get(pk=working.pk).health_state == health.NEEDS_RECONNECT
    assert Notice.objects.filter(connection_id=working.pk,
                                 kind=Notice.Kind.NEEDS_RECONNECT).count() == 1
    assert len(mailoutbox) == 1

    _migrate(BEFORE)  # it reverses (the states stay)
    _migrate(MigrationExecutor(db).loader.graph.leaf_nodes())
