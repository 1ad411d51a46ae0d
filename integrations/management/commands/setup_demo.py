"""Prepare the sandbox demo: a demo user, a staff login, the cache table and the schedules; with
the stand-ins on, the demo user's Stripe and SendGrid connections and dashboard widgets, and
MyAnimeList and Kitsu connections whose first syncs are queued."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations.models import Connection
from integrations.providers.base import AccountInfo, Provider
from integrations.providers.registry import get_provider
from integrations.providers.sendgrid.provider import key_account
from integrations.providers.stripe.provider import MODE_LABEL
from integrations.providers.stripe.provider import account_id as stripe_account_id
from integrations.sandbox.standins import anime_lists, kitsu
from integrations.services import connection_store_credentials
from integrations.tokens import TokenGrant, grant_from_response

DEMO_EMAIL = "demo@example.com"
ADMIN_EMAIL = "admin@example.com"


# The account each stand-in's example key belongs to: what the connect form's test call would
# find (Stripe: a test-mode key's fingerprint; SendGrid: the key's id). That call cannot be made
# here, as the server that answers for the stand-ins is not running yet.
def _stripe_account(key: str) -> AccountInfo:
    return AccountInfo(external_id=stripe_account_id(False, key), label=MODE_LABEL[False])


STAND_IN_ACCOUNTS = {"stripe": _stripe_account, "sendgrid": key_account}


# The anime list services sign in with tokens: MyAnimeList's example token stands for one its
# sign-in page would give (that page cannot be walked here); Kitsu's is the stand-in's answer to
# the demo account's password grant, asked in-process for the same reason as above.
def _mal_grant(provider: Provider) -> tuple[AccountInfo, TokenGrant]:
    account = anime_lists.MAL_ACCOUNT
    return (AccountInfo(external_id=str(account["id"]), label=account["name"]),
            TokenGrant(access_token=provider.stand_in_example))


def _kitsu_grant(provider: Provider) -> tuple[AccountInfo, TokenGrant]:
    answer = kitsu.password_grant(provider.stand_in_username, provider.stand_in_example)
    if answer is None:
        raise CommandError("The Kitsu stand-in refused its own demo account.")
    account = anime_lists.KITSU_ACCOUNT
    return (AccountInfo(external_id=account["id"], label=account["name"]),
            grant_from_response(answer))


STAND_IN_GRANTS = {"myanimelist": _mal_grant, "kitsu": _kitsu_grant}


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
        if settings.THINKALIKE_STAND_INS:
            from dashboard.demo import demo_widgets_create  # the dashboard builds on this app

            connected = [self._connect_stand_in(demo, slug) for slug in STAND_IN_ACCOUNTS]
            demo_widgets_create(user=demo, connections=connected)
            for slug in STAND_IN_GRANTS:
                self._connect_stand_in(demo, slug)

        url = options["url"].rstrip("/") + "/"
        self.stdout.write(self.style.SUCCESS(f"Demo ready. Open {url}"))
        self.stdout.write(f"  Log in as {DEMO_EMAIL} / {options['password']}")
        admin_password = options["admin_password"] if admin_created else "(unchanged)"
        self.stdout.write(f"  Staff admin at {url}admin/ as {ADMIN_EMAIL} / {admin_password}")

    def _connect_stand_in(self, user, slug: str) -> Connection:
        """The demo user's connection to ``slug``'s stand-in, made with its example key unless
        one exists (a connection the person made or changed is left alone)."""
        provider: Provider = get_provider(slug)
        existing = Connection.objects.filter(user=user, provider=slug).first()
        if existing is not None:
            return existing
        key = provider.stand_in_example
        if slug in STAND_IN_GRANTS:
            account, grant = STAND_IN_GRANTS[slug](provider)
            connection = connection_store_credentials(user=user, provider=provider,
                                                      account=account, fields={}, grant=grant)
        else:
            connection = connection_store_credentials(
                user=user, provider=provider, account=STAND_IN_ACCOUNTS[slug](key),
                fields={"token": key})
        self.stdout.write(f"  Connected the demo user's {provider.name} to its stand-in.")
        return connection

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
