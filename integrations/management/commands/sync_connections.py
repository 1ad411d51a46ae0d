"""Queue (or run here) syncs of chosen connections, or dispatch the ones that are due."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from integrations.models import Connection, SyncRun
from integrations.providers.registry import PROVIDERS
from integrations.services import connection_can_sync
from integrations.sync import sync_dispatch_due, sync_execute, sync_request


class Command(BaseCommand):
    help = (
        "Sync connections: queue a run for each selected connection (all of them when no filter "
        "is given), or run it in this process with --foreground. --due queues only the "
        "connections whose next sync is due, as the schedule does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Only this user's connections (email or id).")
        parser.add_argument("--provider", help="Only connections to this provider (slug).")
        parser.add_argument("--connection", type=int, action="append", dest="connections",
                            metavar="ID", help="Only this connection (repeatable).")
        parser.add_argument("--full", action="store_true",
                            help="A full sync instead of an incremental one.")
        parser.add_argument("--foreground", action="store_true",
                            help="Run each sync in this process and print its result.")
        parser.add_argument("--due", action="store_true",
                            help="Queue the connections that are due (no other option applies).")

    def handle(self, *args, **options):
        if options["due"]:
            if any(options[k] for k in ("user", "provider", "connections", "full", "foreground")):
                raise CommandError("--due picks connections by their schedule; it cannot be "
                                   "combined with other options.")
            queued = sync_dispatch_due()
            self.stdout.write(self.style.SUCCESS(f"Queued {queued} due connection(s)."))
            return

        connections = self._select(options)
        if not connections:
            self.stdout.write(self.style.WARNING("No connection matches."))
            return
        for connection in connections:
            if not connection_can_sync(connection):
                self.stdout.write(self.style.WARNING(
                    f"{connection}: skipped ({connection.get_status_display().lower()}, "
                    f"sync {'on' if connection.sync_enabled else 'off'})."
                ))
                continue
            run = sync_request(connection=connection, trigger=SyncRun.Trigger.COMMAND,
                               full=options["full"], enqueue=not options["foreground"])
            if run is None:
                self.stdout.write(self.style.WARNING(
                    f"{connection}: a sync is already queued or running."))
            elif options["foreground"]:
                self._report(connection, sync_execute(run_id=run.pk))
            else:
                self.stdout.write(self.style.SUCCESS(f"{connection}: queued sync run #{run.pk}."))

    def _select(self, options) -> list[Connection]:
        connections = Connection.objects.select_related("user").order_by("pk")
        if options["user"]:
            connections = connections.filter(user=self._user(options["user"]))
        if options["provider"]:
            if options["provider"] not in PROVIDERS:
                raise CommandError(f"Unknown provider {options['provider']!r}. Known providers: "
                                   f"{', '.join(sorted(PROVIDERS))}.")
            connections = connections.filter(provider=options["provider"])
        if options["connections"]:
            wanted = set(options["connections"])
            connections = connections.filter(pk__in=wanted)
            missing = wanted - {c.pk for c in connections}
            if missing:
                ids = ", ".join(map(str, sorted(missing)))
                filtered = options["user"] or options["provider"]
                scope = " for that user or provider" if filtered else ""
                raise CommandError(f"No connection with id {ids}{scope}.")
        return list(connections)

    def _user(self, value: str):
        users = get_user_model().objects
        user = (users.filter(pk=int(value)).first() if value.isdigit()
                else users.filter(email__iexact=value).first())
        if user is None:
            raise CommandError(f"No user with email or id {value!r}.")
        return user

    def _report(self, connection: Connection, run: SyncRun | None) -> None:
        if run is None or not run.is_finished:
            # A worker took the queued task first; it will finish the run.
            status = run.status if run else "gone"
            self.stdout.write(self.style.WARNING(
                f"{connection}: run #{run.pk if run else '?'} is {status} in a worker."))
            return
        duration = run.duration_seconds
        line = (
            f"{connection}: run #{run.pk} {run.status}; pages={run.pages} fetched={run.fetched} "
            f"created={run.created} updated={run.updated} unchanged={run.unchanged} "
            f"deleted={run.deleted} duration={duration or 0:.1f}s"
        )
        if run.error_message:
            line += f"; error: {run.error_message}"
        style = {
            SyncRun.Status.SUCCEEDED: self.style.SUCCESS,
            SyncRun.Status.SKIPPED: self.style.WARNING,
            SyncRun.Status.PARTIAL: self.style.WARNING,
        }.get(run.status, self.style.ERROR)
        self.stdout.write(style(line))
