"""Read-side consent questions. ``allows`` is the one answer every data hand-out relies on."""

from django.contrib.auth.base_user import AbstractBaseUser

from .models import ALL_PROVIDERS, ConsentGrant
from .purposes import PURPOSES


def consent_map(*, user: AbstractBaseUser) -> dict[tuple[str, str], bool]:
    """Every explicit answer of ``user``: (provider or "", purpose) -> granted. One query."""
    return {
        (provider, purpose): granted
        for provider, purpose, granted in ConsentGrant.objects.filter(user=user).values_list(
            "provider", "purpose", "granted"
        )
    }


def allows_from_map(
    answers: dict[tuple[str, str], bool], purpose: str, provider: str | None = None
) -> bool:
    """``allows`` over a map from ``consent_map``, for pages that ask many questions at once."""
    if purpose not in PURPOSES:
        raise KeyError(f"unknown purpose {purpose!r}")
    if provider:
        specific = answers.get((provider, purpose))
        if specific is not None:
            return specific  # a per-provider answer overrides the all-providers one
    return answers.get((ALL_PROVIDERS, purpose), False)  # opt-in: no answer means no


def allows(user: AbstractBaseUser, purpose: str, provider: str | None = None) -> bool:
    """May data of ``user`` (from ``provider``, or from every provider) serve ``purpose``?

    Consent is opt-in: without an answer the result is False. A per-provider answer wins over
    the all-providers answer. An unknown purpose raises KeyError rather than answering.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    return allows_from_map(consent_map(user=user), purpose, provider)


def consent_history(*, user: AbstractBaseUser, limit: int = 20):
    """The user's latest consent changes, newest first."""
    from .models import ConsentEvent

    return ConsentEvent.objects.filter(user=user)[:limit]
