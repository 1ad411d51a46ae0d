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
def consent_clear(
    *, user: AbstractBaseUser, purpose: str, provider: str, source: str = ConsentEvent.Source.PAGE
) -> bool:
    """Remove ``user``'s answer for ``purpose`` for one ``provider``, so the answer for every
    provider applies to it again. Returns True when there was one; its removal is an event
    with ``granted=None``. The answer for every provider cannot be removed, only changed.
    """
    if purpose not in PURPOSES:
        raise UnknownPurpose(purpose)
    if provider == ALL_PROVIDERS:
        raise ValueError("only a per-provider answer can be cleared")
    grant = ConsentGrant.objects.select_for_update().filter(
        user=user, provider=provider, purpose=purpose).first()
    if grant is None:
        return False
    grant.delete()
    ConsentEvent.objects.create(
        user=user, provider=provider, purpose=purpose, granted=None, source=source,
        policy_version=settings.THINKALIKE_CONSENT_POLICY_VERSION,
    )
    return True


@transaction.atomic
def consent_clear_provider(
    *, user: AbstractBaseUser, provider: str, source: str = ConsentEvent.Source.DISCONNECT
) -> int:
    """Forget every per-provider answer (granted or not); each removal is one event.

    The event says ``granted=False``: nothing is granted for this provider specifically any
    more, and the history shows why the answer is gone. Returns how many answers were removed.
    """
    grants = list(
        ConsentGrant.objects.select_for_update().filter(user=user, provider=provider)
        .order_by("purpose")
    )
    ConsentEvent.objects.bulk_create([
        ConsentEvent(
            user=user, provider=provider, purpose=grant.purpose, granted=False, source=source,
            policy_version=settings.THINKALIKE_CONSENT_POLICY_VERSION,
        )
        for grant in grants
    ])
    ConsentGrant.objects.filter(pk__in=[grant.pk for grant in grants]).delete()
    return len(grants)
