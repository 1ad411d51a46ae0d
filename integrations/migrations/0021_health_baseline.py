"""A baseline health for every connection never recorded (``health_state`` blank: rows from
before migration 0014), so their first real change is told rather than swallowed by the silent
first record of ``health_record``.

The state is computed from the row's own fields with the historical model (no app code: it
must keep working as the app changes), a simplified ``connection_health``: needs reauth ->
needs reconnecting; disabled or sync off -> idle; 3 or more failed syncs or tests in a row, or
in error -> failing; 1 or more -> degraded; never a success -> idle; else healthy. What it
cannot see (a credential that can no longer be read, a stale connection, a provider with
nothing to sync) may differ from the full judgement: the next real record (a sync, a test, a
tick's record) corrects it, and that correction is told as a change like any other.
Reversing leaves the states (they are what the app would record anyway).

Before 0020 a failed periodic test wrote its error to ``last_error``: where the tests' count
is the larger (it is the one health quotes), that error moves to ``last_test_error`` (and
leaves ``last_error`` when no sync failure goes with it). Not atomic: each batch commits on
its own, so a deploy's still-running workers never wait on a lock held for the whole table.
"""

from django.db import migrations
from django.db.models import F
from django.utils import timezone

BATCH = 1000
FAILING_AFTER = 3
DEGRADED_AFTER = 1


def baseline_state(row) -> str:
    if row.status == "needs_reauth":
        return "needs_reconnect"
    if row.status == "disabled" or not row.sync_enabled:
        return "idle"
    failures = max(row.consecutive_failures, row.consecutive_test_failures)
    if failures >= FAILING_AFTER or row.status == "error":
        return "failing"
    if failures >= DEGRADED_AFTER:
        return "degraded"
    if row.last_success_at is None:
        return "idle"
    return "healthy"


def fill(apps, schema_editor):
    Connection = apps.get_model("integrations", "Connection")
    now = timezone.now()
    # Batches by pk (keyset), each read whole before it is written: a cursor left open over
    # the rows being updated is unsafe on SQLite (no isolation within one connection).
    last = 0
    while True:
        batch = list(Connection.objects.filter(health_state="", pk__gt=last).order_by("pk")
                     .only("pk", "status", "sync_enabled", "consecutive_failures",
                           "consecutive_test_failures", "last_success_at")[:BATCH])
        if not batch:
            return
        for row in batch:
            row.health_state, row.health_changed_at = baseline_state(row), now
        Connection.objects.bulk_update(batch, ["health_state", "health_changed_at"])
        last = batch[-1].pk


def move_test_errors(apps, schema_editor):
    Connection = apps.get_model("integrations", "Connection")
    by_tests = Connection.objects.filter(
        consecutive_test_failures__gt=F("consecutive_failures"), last_test_error="")
    by_tests.filter(consecutive_failures=0).update(last_test_error=F("last_error"),
                                                   last_error="")
    by_tests.update(last_test_error=F("last_error"))


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("integrations", "0020_connection_last_test_error"),
    ]

    operations = [
        migrations.RunPython(move_test_errors, migrations.RunPython.noop),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
