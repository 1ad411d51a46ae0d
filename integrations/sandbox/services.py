"""State changes of the sandbox: codes, grants, refresh, revocation, and the request log.

Invariant: a plaintext code or token exists only in the response that hands it out; the
database holds its SHA-256 hash, and every lookup hashes the presented value first.

Invariant of the rate limit: admission is decided and recorded in one transaction that
excludes every other admission, so no window of any client ever holds more counted requests
than the limit, whatever number of threads and processes serve the sandbox.
"""

import base64
import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import SandboxAuthCode, SandboxGrant, SandboxKnobs, SandboxRequest
from .windows import fixed_window_counts, sliding_window_counts

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


def grant_holding_access_token(token: str) -> SandboxGrant | None:
    """The grant behind a bearer token in any state: the rate limit needs its client first."""
    return SandboxGrant.objects.filter(access_hash=hash_secret(token)).first()


@transaction.atomic
def knobs_count_answered_request() -> int:
    """Count one answered data-API request; revoke every grant when the count reaches
    ``revoke_after_requests``. Returns the count since the knobs were last saved."""
    knobs = SandboxKnobs.objects.select_for_update().filter(pk=1).first()
    if knobs is None or not knobs.revoke_after_requests:
        return 0
    same_run = knobs.answered_since == knobs.saved_at
    count = knobs.answered_requests + 1 if same_run else 1
    # update(), not save(): save() would move saved_at and restart the count.
    SandboxKnobs.objects.filter(pk=1).update(
        answered_requests=count, answered_since=knobs.saved_at
    )
    if count == knobs.revoke_after_requests:
        grant_revoke_all()
    return count


# --- Rate limit and request log -------------------------------------------------------------

@dataclass(frozen=True)
class Admission:
    admitted: bool
    limit: int
    remaining: int
    reset_at: float  # Unix time when the oldest counted request leaves the window
    retry_after: int  # whole seconds until a slot frees; 0 when admitted
    log_id: int | None = None


@transaction.atomic
def request_admit(
    *, client_id: str, account: str, path: str, limit: int, window_seconds: float
) -> Admission:
    """Admit and log one request under a sliding limit of ``limit`` per ``window_seconds``.

    A refused request is logged as a 429 that does not count. An admitted one is logged as a
    counted 200; ``request_finish`` corrects it once the real answer is known.
    """
    # On PostgreSQL the row lock serialises admissions; on SQLite the IMMEDIATE transaction
    # already holds the database's write lock (select_for_update is a no-op there).
    SandboxKnobs.objects.select_for_update().filter(pk=1).first()
    now = time.time()
    in_window = SandboxRequest.objects.filter(
        client_id=client_id, counted=True, at__gt=now - window_seconds
    )
    recent = list(in_window.order_by("at").values_list("at", flat=True))
    if len(recent) >= limit:
        frees_at = recent[len(recent) - limit] + window_seconds
        SandboxRequest.objects.create(
            at=now, client_id=client_id, account=account, path=path, status=429, counted=False
        )
        return Admission(False, limit, 0, frees_at, max(1, math.ceil(frees_at - now)))
    row = SandboxRequest.objects.create(
        at=now, client_id=client_id, account=account, path=path, status=200, counted=True
    )
    return Admission(
        True, limit, limit - len(recent) - 1, (recent or [now])[0] + window_seconds, 0, row.pk
    )


def request_finish(*, admission: Admission, status: int) -> None:
    """Record the real status of an admitted request; a 304 gives its slot back."""
    if admission.log_id is not None and status != 200:
        SandboxRequest.objects.filter(pk=admission.log_id).update(
            status=status, counted=status != 304
        )


def request_log(*, client_id: str, account: str, path: str, status: int) -> None:
    """Log a request answered while the rate limit is off (``log_requests`` is on)."""
    SandboxRequest.objects.create(
        at=time.time(), client_id=client_id, account=account, path=path, status=status,
        counted=status != 304,
    )


def request_log_clear() -> int:
    return SandboxRequest.objects.all().delete()[0]


def counted_request_times(since: float | None = None, *, client_id: str | None = None
                          ) -> list[float]:
    """Sorted Unix times of the logged requests that counted against the limit."""
    requests = SandboxRequest.objects.filter(counted=True)
    if since is not None:
        requests = requests.filter(at__gte=since)
    if client_id is not None:
        requests = requests.filter(client_id=client_id)
    return list(requests.order_by("at").values_list("at", flat=True))


def max_requests_in_any_window(
    window_seconds: float, since: float | None = None, *, client_id: str | None = None
) -> int:
    """The most counted requests in any ``[t, t + window)``: never above a working limit."""
    times = counted_request_times(since, client_id=client_id)
    return max(sliding_window_counts(times, window_seconds), default=0)


def requests_per_window(
    window_seconds: float, since: float | None = None, *, client_id: str | None = None
) -> list[int]:
    """Counted requests per consecutive window from ``since`` (or the first request)."""
    times = counted_request_times(since, client_id=client_id)
    return fixed_window_counts(times, window_seconds, start=since)
