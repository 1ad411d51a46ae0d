"""Delete allauth social accounts that have no connection (reported by check thinkalike.W010)."""

from django.core.management.base import BaseCommand

from integrations.allauth.orphans import social_accounts_delete_orphans


class Command(BaseCommand):
    help = ("Delete allauth social accounts without a Connection; they keep other members from "
            "connecting the same external account.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="List the orphan accounts without deleting them.")

    def handle(self, *args, **options):
        dry_run = options["dry_run"]
        orphans = social_accounts_delete_orphans(dry_run=dry_run)
        for orphan in orphans:
            self.stdout.write(f"{orphan.provider} account {orphan.uid} of user {orphan.user_id} "
                              f"(social account {orphan.pk})")
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(self.style.SUCCESS(f"{verb} {len(orphans)} orphan social account(s)."))
