"""Refresh OAuth access tokens that are about to expire, before a sync finds them expired."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.maintenance import tokens_refresh_expiring


class Command(BaseCommand):
    help = (
        "Refresh the access tokens of active OAuth connections that expire soon. By default "
        "'soon' is twice THINKALIKE_REFRESH_MARGIN_SECONDS. A refused refresh marks the "
        "connection for reconnecting and is listed here."
    )

    def add_arguments(self, parser):
        parser.add_argument("--connection", type=int, action="append", dest="connections",
                            metavar="ID", help="Only this connection (repeatable).")
        parser.add_argument("--within-minutes", type=int, metavar="N",
                            help="Refresh tokens expiring within N minutes (default: twice the "
                                 "refresh margin setting).")

    def handle(self, *args, **options):
        minutes = options["within_minutes"]
        if minutes is None:
            within = timedelta(seconds=settings.THINKALIKE_REFRESH_MARGIN_SECONDS * 2)
        elif minutes < 0:
            raise CommandError("--within-minutes cannot be negative.")
        else:
            within = timedelta(minutes=minutes)
        report = tokens_refresh_expiring(within=within, connection_ids=options["connections"])
        self.stdout.write(self.style.SUCCESS(f"Refreshed {report.refreshed} token(s)."))
        for connection_id, message in sorted(report.failed.items()):
            self.stdout.write(self.style.ERROR(f"Connection #{connection_id}: {message}"))
