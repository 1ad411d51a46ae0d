"""Prepare the sandbox demo: a demo user, a staff login, the cache table and the schedules."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

DEMO_EMAIL = "demo@example.com"
ADMIN_EMAIL = "admin@example.com"


class Command(BaseCommand):
    help = ("Set up the sandbox demo (idempotent): a demo user whose password is reset on each "
            "run, a staff superuser if there is none yet, the cache table and the schedules. "
            "Runs only with THINKALIKE_SANDBOX=1.")

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo-password-2026",
                            help="Password of demo@example.com.")
        parser.add_argument("--admin-password", default="admin-password-2026",
                            help="Password of admin@example.com when it is created.")
        parser.add_argument("--url", default="http://127.0.0.1:8000/",
                            help="Where the demo server will listen, for the printed hint.")

    def handle(self, *args, **options):
        if not settings.THINKALIKE_SANDBOX:
            raise CommandError("The demo runs against the built-in sandbox provider, which is "
                               "off. Set THINKALIKE_SANDBOX=1 and run this again.")
        with transaction.atomic():
            demo = self._user(DEMO_EMAIL, "demo")
            demo.set_password(options["password"])
            demo.save()
            admin_created = not self._exists(ADMIN_EMAIL)
            if admin_created:
                admin = get_user_model().objects.create_superuser(
                    username="admin", email=ADMIN_EMAIL, password=options["admin_password"])
                self._verified_email(admin)
        call_command("createcachetable", stdout=self.stdout, verbosity=0)
        call_command("setup_schedules", stdout=self.stdout)

        url = options["url"].rstrip("/") + "/"
        self.stdout.write(self.style.SUCCESS(f"Demo ready. Open {url}"))
        self.stdout.write(f"  Log in as {DEMO_EMAIL} / {options['password']}")
        admin_password = options["admin_password"] if admin_created else "(unchanged)"
        self.stdout.write(f"  Staff admin at {url}admin/ as {ADMIN_EMAIL} / {admin_password}")

    def _exists(self, email: str) -> bool:
        return get_user_model().objects.filter(email__iexact=email).exists()

    def _user(self, email: str, username: str):
        users = get_user_model().objects
        user = users.filter(email__iexact=email).order_by("pk").first()
        if user is None:
            user = users.create_user(username=username, email=email)
        self._verified_email(user)
        return user

    def _verified_email(self, user) -> None:
        address, _ = EmailAddress.objects.get_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True})
        if not (address.verified and address.primary):
            address.verified = address.primary = True
            address.save(update_fields=["verified", "primary"])
