"""State changes of the sandbox's authorisation server: codes, grants, refresh, revocation.

Invariant: a plaintext code or token exists only in the response that hands it out; the
database holds its SHA-256 hash, and every lookup hashes the presented value first.
"""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import SandboxAuthCode, SandboxGrant, SandboxKnobs

CODE_LIFETIME = timedelta(seconds=60)


class InvalidGrant(Exception):
    """The code or refresh token is unknown, used, expired, revoked or not this client's."""


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str | None  # None when the refresh token was kept (rotation off)
    expires_in: int
    scope: str


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def pkce_matches(*, challenge: str, method: str, verifier: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:  # "plain"
        expected = verifier
    return secrets.compare_digest(expected, challenge)


def auth_code_issue(
    *, account: str, client_id: str, redirect_uri: str, scope: str,
    code_challenge: str = "", code_challenge_method: str = "",
) -> str:
    code = new_secret("sbx_code_")
    SandboxAuthCode.objects.create(
        code_hash=hash_secret(code), account=account, client_id=client_id,
        redirect_uri=redirect_uri, scope=scope, code_challenge=code_challenge,
        code_challenge_method=code_challenge_method if code_challenge else "",
        expires_at=timezone.now() + CODE_LIFETIME,
    )
    return code


def _grant_issue(*, account: str, client_id: str, scope: str) -> IssuedTokens:
    lifetime = SandboxKnobs.get().token_lifetime_seconds
    access, refresh = new_secret("sbx_at_"), new_secret("sbx_rt_")
    SandboxGrant.objects.create(
        account=account, client_id=client_id, scope=scope,
        access_hash=hash_secret(access), refresh_hash=hash_secret(refresh),
        access_expires_at=timezone.now() + timedelta(seconds=lifetime),
    )
    return IssuedTokens(access, refresh, lifetime, scope)


def auth_code_redeem(
    *, code: str, client_id: str, redirect_uri: str, code_verifier: str
) -> IssuedTokens:
    code_hash = hash_secret(code)
    # Spend the code in one conditional UPDATE before any other check: two concurrent
    # exchanges cannot both win, and a wrong verifier or redirect URI burns the code.
    spent = SandboxAuthCode.objects.filter(
        code_hash=code_hash, used=False, expires_at__gt=timezone.now()
    ).update(used=True)
    if not spent:
        raise InvalidGrant("the code is unknown, used or expired")
    record = SandboxAuthCode.objects.get(code_hash=code_hash)
    if record.client_id != client_id or record.redirect_uri != redirect_uri:
        raise InvalidGrant("the code was issued to another client or redirect URI")
    if record.code_challenge and not pkce_matches(
        challenge=record.code_challenge, method=record.code_challenge_method,
        verifier=code_verifier,
    ):
        raise InvalidGrant("the PKCE code verifier does not match")
    return _grant_issue(account=record.account, client_id=client_id, scope=record.scope)


@transaction.atomic
def grant_refresh(*, refresh_token: str, client_id: str) -> IssuedTokens:
    grant = (
        SandboxGrant.objects.select_for_update()
        .filter(refresh_hash=hash_secret(refresh_token), client_id=client_id, revoked=False)
        .first()
    )
    if grant is None:
        raise InvalidGrant("the refresh token is unknown or revoked")
    knobs = SandboxKnobs.get()
    access = new_secret("sbx_at_")
    grant.access_hash = hash_secret(access)
    grant.access_expires_at = timezone.now() + timedelta(seconds=knobs.token_lifetime_seconds)
    refresh = None
    if knobs.rotate_refresh_tokens:
        refresh = new_secret("sbx_rt_")
        grant.refresh_hash = hash_secret(refresh)
    grant.save()
    return IssuedTokens(access, refresh, knobs.token_lifetime_seconds, grant.scope)


def grant_revoke(*, token: str, client_id: str) -> int:
    """Revoke the grant holding ``token`` as access or refresh token; unknown tokens are fine."""
    token_hash = hash_secret(token)
    matching = SandboxGrant.objects.filter(client_id=client_id, revoked=False)
    by_access = matching.filter(access_hash=token_hash)
    by_refresh = matching.filter(refresh_hash=token_hash)
    return (by_access | by_refresh).update(revoked=True)


def grant_revoke_all() -> int:
    return SandboxGrant.objects.filter(revoked=False).update(revoked=True)


def grant_for_access_token(token: str) -> SandboxGrant | None:
    """The live grant behind a bearer token, or None if unknown, expired or revoked."""
    return SandboxGrant.objects.filter(
        access_hash=hash_secret(token), revoked=False, access_expires_at__gt=timezone.now()
    ).first()
