"""Re-encrypt every stored credential with the newest Fernet key."""

from django.core.management.base import BaseCommand, CommandError

from integrations.maintenance import credentials_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every credential with the newest encryption key. First put the new key "
        "FIRST in THINKALIKE_FERNET_KEYS (comma-separated, newest first) and keep the old keys "
        "after it, restart, then run this; once it has finished the old keys can be removed. "
        "Reads accept every listed key, writes use the first."
    )

    def handle(self, *args, **options):
        report = credentials_reencrypt()
        self.stdout.write(self.style.SUCCESS(
            f"Re-encrypted {report.reencrypted} credential(s) and {report.apps_reencrypted} "
            "personal OAuth app secret(s) with the newest key."))
        if report.unreadable_apps:
            ids = ", ".join(str(pk) for pk in report.unreadable_apps)
            self.stderr.write(
                f"{len(report.unreadable_apps)} personal OAuth app secret(s) could not be "
                f"decrypted (app ids: {ids}); their owners must save them again.")
        if report.unreadable:
            ids = ", ".join(str(pk) for pk in report.unreadable)
            # Non-zero exit: the old keys must not be removed while these rows still need them.
            raise CommandError(
                f"{len(report.unreadable)} credential(s) could not be decrypted with any "
                f"configured key and were left as they are (connection ids: {ids}). Put the "
                "key they were written with back in THINKALIKE_FERNET_KEYS and run this again, "
                "or have those people reconnect."
            )
