"""Read-side consent questions. ``allows`` is the one answer every data hand-out relies on."""

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import ALL_PROVIDERS, ConsentEvent, ConsentGrant
from .purposes import PURPOSES, Purpose


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
    return consent_events_for_owner(user=user)[:limit]


def consent_events_for_owner(*, user: AbstractBaseUser) -> QuerySet[ConsentEvent]:
    """Every consent change of ``user``, newest first (for paging)."""
    return ConsentEvent.objects.filter(user=user).order_by("-at", "-pk")


def consent_event_get_for_user(*, user: AbstractBaseUser, pk: int) -> ConsentEvent:
    """One consent change of ``user`` or 404: another person's id answers as a missing one."""
    return get_object_or_404(ConsentEvent.objects.select_related("user"), pk=pk, user=user)


@dataclass(frozen=True)
class ProviderAnswer:
    provider: str
    granted: bool


@dataclass(frozen=True)
class PurposeConsent:
    """One purpose with the person's answers: for every provider (None: never answered, which
    consent, being opt-in, reads as no) and per provider, where an answer wins over it."""

    purpose: Purpose
    granted: bool | None
    providers: list[ProviderAnswer]

    # The API serialises the purpose's own fields flat.
    @property
    def slug(self) -> str:
        return self.purpose.slug

    @property
    def name(self) -> str:
        return self.purpose.name

    @property
    def description(self) -> str:
        return self.purpose.description


def consent_by_purpose(*, user: AbstractBaseUser) -> list[PurposeConsent]:
    """Every purpose with ``user``'s explicit answers, in the catalog's order. One query."""
    answers = consent_map(user=user)
    return [
        PurposeConsent(
            purpose=purpose,
            granted=answers.get((ALL_PROVIDERS, purpose.slug)),
            providers=[
                ProviderAnswer(provider=provider, granted=granted)
                for (provider, slug), granted in sorted(answers.items())
                if slug == purpose.slug and provider != ALL_PROVIDERS
            ],
        )
        for purpose in PURPOSES.values()
    ]
