"""Create or update the django-q2 schedules this project runs. Safe to run on every deploy.

Schedule names are not unique in django-q2, so uniqueness by name is enforced here: the oldest
row of a name is kept and updated, any other row of that name is deleted. ``func`` values are
stored dotted paths (see integrations/tasks.py): renaming a task needs a data migration.
"""

from dataclasses import dataclass

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    schedule_type: str
    minutes: int | None = None


SCHEDULES = (
    # One dispatcher for every connection, not a Schedule row per connection.
    ScheduleSpec("thinkalike-dispatch-due-syncs", "integrations.tasks.dispatch_due_syncs",
                 Schedule.MINUTES, 1),
    ScheduleSpec("thinkalike-refresh-expiring-tokens",
                 "integrations.tasks.refresh_expiring_tokens", Schedule.MINUTES, 10),
    ScheduleSpec("thinkalike-purge-api-calls", "integrations.tasks.purge_api_calls",
                 Schedule.DAILY),
    # The staff health digest e-mail: hourly, so a failed day is completed by the next run; it
    # goes out at most once a day, from THINKALIKE_DIGEST_HOUR (integrations/digest.py).
    ScheduleSpec("thinkalike-staff-health-digest",
                 "integrations.tasks.send_staff_health_digest", Schedule.HOURLY),
    ScheduleSpec("thinkalike-close-stale-action-runs",
                 "integrations.tasks.close_stale_action_runs", Schedule.MINUTES, 10),
    # Periodic connection tests, spread over THINKALIKE_CONNECTION_TEST_INTERVAL_MINUTES; keep
    # the minutes equal to THINKALIKE_CONNECTION_TEST_TICK_MINUTES (the per-tick budget share).
    ScheduleSpec("thinkalike-test-connections", "integrations.tasks.test_due_connections",
                 Schedule.MINUTES, 5),
    # Library pushes that failed with "try later", waited for a reconnect, or lost their queue.
    ScheduleSpec("thinkalike-retry-library-pushes", "library.tasks.retry_pushes",
                 Schedule.MINUTES, 5),
    # Exports past their expiry lose their file; exports left by a dead worker are queued again.
    ScheduleSpec("thinkalike-expire-exports", "privacy.tasks.expire_exports",
                 Schedule.MINUTES, 15),
)


def schedule_ensure(spec: ScheduleSpec) -> tuple[str, int]:
    """Make exactly one schedule named ``spec.name`` match ``spec``.

    Returns ("created" | "updated" | "unchanged", number of duplicate rows removed).
    """
    wanted = {"func": spec.func, "schedule_type": spec.schedule_type, "minutes": spec.minutes,
              "repeats": -1, "args": None, "kwargs": None, "hook": None, "cron": None,
              "cluster": None}
    with transaction.atomic():
        rows = list(Schedule.objects.select_for_update().filter(name=spec.name).order_by("pk"))
        if not rows:
            Schedule.objects.create(name=spec.name, next_run=timezone.now(), **wanted)
            return "created", 0
        keep, duplicates = rows[0], rows[1:]
        if duplicates:
            Schedule.objects.filter(pk__in=[row.pk for row in duplicates]).delete()
        changed = {k: v for k, v in wanted.items() if getattr(keep, k) != v}
        if not changed:
            return "unchanged", len(duplicates)
        if {"schedule_type", "minutes"} & changed.keys():
            changed["next_run"] = timezone.now()  # start the new rhythm now
        for field, value in changed.items():
            setattr(keep, field, value)
        keep.save(update_fields=list(changed))
        return "updated", len(duplicates)


class Command(BaseCommand):
    help = ("Create or update this project's django-q2 schedules (sync dispatcher every "
            "minute, token refresh every 10 minutes, log purge daily). Idempotent.")

    def handle(self, *args, **options):
        for spec in SCHEDULES:
            outcome, removed = schedule_ensure(spec)
            line = f"{spec.name}: {outcome}"
            if removed:
                line += f" ({removed} duplicate(s) removed)"
            self.stdout.write(self.style.SUCCESS(line))
