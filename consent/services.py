"""Consent changes. Each one writes its ConsentEvent in the same transaction (append-only)."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from .models import ALL_PROVIDERS, ConsentEvent, ConsentGrant
from .purposes import PURPOSES


class UnknownPurpose(ValueError):
    pass


@transaction.atomic
def consent_set(
    *,
    user: AbstractBaseUser,
    purpose: str,
    granted: bool,
    provider: str = ALL_PROVIDERS,
    source: str = ConsentEvent.Source.PAGE,
) -> bool:
    """Record ``user``'s answer for ``purpose`` (for ``provider``, or all providers if "").

    Returns True when the answer changed. An unchanged answer writes nothing; a changed one
    updates the grant and appends a ConsentEvent atomically. Withdrawal hides data from the
    purpose at once because every hand-out asks ``allows`` at read time.
    """
    if purpose not in PURPOSES:
        raise UnknownPurpose(purpose)
    grant, created = ConsentGrant.objects.select_for_update().get_or_create(
        user=user, provider=provider, purpose=purpose, defaults={"granted": granted}
    )
    if not created and grant.granted == granted:
        return False
    if not created:
        grant.granted = granted
        grant.save(update_fields=["granted", "updated_at"])
    ConsentEvent.objects.create(
        user=user,
        provider=provider,
        purpose=purpose,
        granted=granted,
        source=source,
        policy_version=settings.THINKALIKE_CONSENT_POLICY_VERSION,
    )
    return True


@transaction.atomic
def consent_clear_provider(*, user: AbstractBaseUser, provider: str, source: str) -> int:
    """Forget per-provider answers when a connection is removed; each removal is an event."""
    removed = 0
    for grant in ConsentGrant.objects.select_for_update().filter(user=user, provider=provider):
        if grant.granted:
            ConsentEvent.objects.create(
                user=user, provider=provider, purpose=grant.purpose, granted=False,
                source=source, policy_version=settings.THINKALIKE_CONSENT_POLICY_VERSION,
            )
        grant.delete()
        removed += 1
    return removed
