"""Re-encrypt every stored credential with the newest Fernet key."""

from django.core.management.base import BaseCommand

from integrations.maintenance import credentials_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every credential with the newest encryption key. First put the new key "
        "FIRST in THINKALIKE_FERNET_KEYS (comma-separated, newest first) and keep the old keys "
        "after it, restart, then run this; once it has finished the old keys can be removed. "
        "Reads accept every listed key, writes use the first."
    )

    def handle(self, *args, **options):
        count = credentials_reencrypt()
        self.stdout.write(self.style.SUCCESS(
            f"Re-encrypted {count} credential(s) with the newest key."))
