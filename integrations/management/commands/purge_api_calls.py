"""Trim the outbound request log to its retention period."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.maintenance import api_calls_purge


class Command(BaseCommand):
    help = ("Delete outbound request log rows (and django-q2 success rows) older than --days "
            "(default: THINKALIKE_API_CALL_RETENTION_DAYS).")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, metavar="N",
                            help="Keep the last N days (default: the retention setting).")

    def handle(self, *args, **options):
        days = options["days"]
        if days is None:
            days = settings.THINKALIKE_API_CALL_RETENTION_DAYS
        if days < 0:
            raise CommandError("--days cannot be negative.")
        deleted = api_calls_purge(older_than_days=days)
        self.stdout.write(self.style.SUCCESS(
            f"Deleted {deleted} outbound request log row(s) older than {days} day(s)."))
