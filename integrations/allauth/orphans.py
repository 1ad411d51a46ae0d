"""SocialAccounts without a Connection: reported by a system check, removed by a command.

The connect flow keeps them from appearing (integrations/allauth/receivers.py); these catch
what an earlier version or a killed process left behind. An orphan keeps every other member
from connecting that external account, because allauth's (provider, uid) is unique.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from allauth.socialaccount.models import SocialAccount
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)

# allauth saves the account a moment before our receiver saves its Connection: a younger
# account may be a connect in progress, not an orphan.
ORPHAN_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class OrphanAccount:
    pk: int
    provider: str
    uid: str
    user_id: int


def orphan_social_accounts() -> QuerySet[SocialAccount]:
    return SocialAccount.objects.filter(
        connection__isnull=True, date_joined__lt=timezone.now() - ORPHAN_GRACE
    ).order_by("pk")


def social_accounts_delete_orphans(*, dry_run: bool = False) -> list[OrphanAccount]:
    """Delete every orphan SocialAccount (or only list them); returns what was found."""
    orphans = [OrphanAccount(a.pk, a.provider, a.uid, a.user_id)
               for a in orphan_social_accounts()]
    if not dry_run and orphans:
        # Filtered again: a reconnect meanwhile may have given an account its Connection.
        SocialAccount.objects.filter(
            pk__in=[o.pk for o in orphans], connection__isnull=True).delete()
        logger.info("deleted %d orphan social account(s)", len(orphans))
    return orphans
