"""Personal API tokens: made, listed and revoked by their owner (page and API alike)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from .models import ApiToken

EXPIRY_CHOICES_DAYS = (7, 30, 90, 365)
DEFAULT_EXPIRY_DAYS = 90
MAX_TOKENS_PER_USER = 20


class TokenLimitReached(Exception):
    pass


class TokenNotAllowed(Exception):
    """A token asked for more than a token may do (see ``api_token_revoke``)."""


ONLY_ITSELF = ("A token can revoke only itself; revoke other tokens on the API tokens page.")


def api_token_create(*, user: AbstractBaseUser, name: str,
                     expires_in_days: int = DEFAULT_EXPIRY_DAYS,
                     made_with: ApiToken | None = None) -> tuple[ApiToken, str]:
    """A new token and its plain value, which exists only in this return value: the database
    keeps its hash. Raises ValueError for an expiry out of range, TokenLimitReached past the
    per-person limit (expired tokens are deleted first and do not count).

    ``made_with`` is the token the request came with, if any: what it makes expires no later
    than itself, or a leaked short-lived token would buy a year of access that revoking it
    would not end. (The answer shows the expiry given.)
    """
    name = name.strip()
    if not name:
        raise ValueError("Give the token a name, so you can tell it from your others.")
    if not 1 <= expires_in_days <= settings.THINKALIKE_API_TOKEN_MAX_DAYS:
        raise ValueError(
            f"A token lasts from 1 to {settings.THINKALIKE_API_TOKEN_MAX_DAYS} days."
        )
    now = timezone.now()
    ApiToken.objects.filter(user=user, expiry__lte=now).delete()
    if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        raise TokenLimitReached(
            f"You have {MAX_TOKENS_PER_USER} tokens; revoke one you no longer use first."
        )
    token, plain = ApiToken.objects.create(
        user=user, expiry=timedelta(days=expires_in_days), name=name[:100]
    )
    if made_with is not None and made_with.expiry is not None and token.expiry > made_with.expiry:
        token.expiry = made_with.expiry
        token.save(update_fields=["expiry"])
    return token, plain


def api_token_revoke(*, user: AbstractBaseUser, token_key: str,
                     revoked_with: ApiToken | None = None) -> bool:
    """Delete the owner's token; False when they have none by that key.

    ``revoked_with`` is the token the request came with, if any: it may revoke only itself
    (TokenNotAllowed otherwise), so a leaked token cannot lock its owner's other scripts out.
    """
    if revoked_with is not None and revoked_with.token_key != token_key:
        raise TokenNotAllowed(ONLY_ITSELF)
    deleted, _ = ApiToken.objects.filter(user=user, token_key=token_key).delete()
    return bool(deleted)


def api_tokens_for_owner(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created", "token_key")
