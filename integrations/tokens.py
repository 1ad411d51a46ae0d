"""Token store, refresh and revoke.

A refresh never holds the database across the network call (a transaction open for the 20 s
HTTP timeout would lock SQLite for every other writer). Instead:

1. **Lease.** One worker takes the credential's refresh lease with a conditional UPDATE
   (free or expired lease, unchanged ``refresh_generation``) in autocommit, so it is visible
   to every other worker at once. The lease lasts ``THINKALIKE_REFRESH_LEASE_SECONDS``, longer
   than the token request can (``refresh_lease_ttl``), so only a dead or stalled holder loses it.
2. **Request** the token endpoint with no transaction open (txguard.py enforces that).
3. **Write** the result with one conditional UPDATE: access token, rotated refresh token,
   expiry, ``refresh_generation + 1``, and the lease cleared when it is still ours. The rotated
   refresh token is stored in that UPDATE, before the new access token is handed to anyone.
4. **Everyone else** re-reads, and if the token is still due waits for the lease with backoff
   (``THINKALIKE_REFRESH_WAIT_SECONDS`` in all), taking it over once it has expired. A failure
   releases the lease at once; the workers that waited for it then try later rather than each
   repeating the failed request.

The invariant, which is why the write checks the generation rather than only the lease: **the
stored refresh token is only ever replaced by one the provider issued in exchange for it.** A
write lands only while ``refresh_generation`` is still the one read together with the refresh
token that was presented. So a holder that lost its lease to a takeover still stores its
rotated token when nobody stored one since (with strict rotation the taker, presenting the same
old token, gets ``invalid_grant``, sees the generation moved, and uses the stored token instead
of asking the person to reconnect); and when somebody did store one, ours was issued for the
same old token and the stored one stands. No rotated refresh token is dropped while the stored
one is the token it replaced. The one window left needs a holder stalled past its lease (longer
than the HTTP timeout) with the answer in hand: if the taker's ``invalid_grant`` arrives before
the stalled write, the connection is marked for reconnecting although the write then stores a
working token.

allauth does not refresh tokens, so this module reuses its provider configuration (token URL,
client id and secret, Basic or body client authentication) and does the rest itself. A grant
issued to a person's own OAuth app is refreshed and revoked with that app only
(``oauth_apps.client_for_credential``), never the operator's.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import OperationalError
from django.db.models import Case, F, Q, Value, When

from . import clock
from .auth import ClientApp
from .credentials import credential_for_use
from .exceptions import ProviderDataError, ReauthRequired, RenewingElsewhere, TryLater
from .models import Connection, Credential
from .oauth_apps import client_for_credential
from .providers.registry import get_provider
from .reauth import connection_mark_reauth
from .redaction import fingerprint
from .transport import body_seconds, new_session, response_json, send

logger = logging.getLogger(__name__)


def sleep(seconds: float) -> None:
    """Waits for another worker's lease, on ``integrations.clock`` like every other wait."""
    clock.sleep(seconds)


MAX_LIFETIME = 10 * 365 * 24 * 3600  # seconds
MAX_TOKEN_CHARS = 16_384  # JWTs run to a few KB; anything larger is not a token
TOKEN_CHARACTERS = re.compile(r"[\x21-\x7e]+")
FIRST_PAUSE, MAX_PAUSE = 0.05, 1.0  # seconds between looks at someone else's lease

NO_ACCESS_TOKEN = "the token endpoint answered without an access token"
CANNOT_RENEW = "{provider} access has expired and cannot be renewed; please reconnect"
REFUSED = "{provider} refused to renew access ({error}); please reconnect"
RENEW_FAILED = "{provider} could not renew access (HTTP {status})"
DISCONNECTED = "{provider} was disconnected while its access was being renewed"
RENEW_FAILED_ELSEWHERE = "{provider} could not renew access just now; will try again later"
RENEWING_ELSEWHERE = "{provider} access is being renewed elsewhere; will try again later"
GRANT_WRITE_ATTEMPTS = 4
GRANT_WRITE_PAUSE = 0.5  # seconds, doubled per attempt
NO_CREDENTIAL = "{provider} has no stored sign-in; please reconnect"


@dataclass(frozen=True)
class TokenGrant:
    """What a token endpoint gave us."""

    access_token: str
    refresh_token: str = ""  # "" when the provider sent none: keep the one we have
    expires_at: datetime | None = None
    token_type: str = "Bearer"
    scopes: list[str] | None = None  # None when the provider does not report scopes


def parse_scopes(raw: object) -> list[str] | None:
    """Sorted granted scopes, or None when the answer has none (use the requested ones)."""
    if isinstance(raw, str):  # space separated (RFC 6749); GitHub separates with commas
        return sorted({s for s in raw.replace(",", " ").split() if s})
    if isinstance(raw, list):
        return sorted({s for s in raw if isinstance(s, str) and s})
    return None


def is_token_string(value: object) -> bool:
    """A usable access or refresh token: RFC 6750 b64token / RFC 6749 A.12 characters
    (printable ASCII, no spaces, which would also break the Authorization header), not empty,
    not absurdly long. Connect (allauth/oauth2.py) and refresh both ask this."""
    return (isinstance(value, str) and 0 < len(value) <= MAX_TOKEN_CHARS
            and TOKEN_CHARACTERS.fullmatch(value) is not None)


def _lifetime(raw: object) -> int | None:
    """``expires_in`` in whole seconds, capped; None when absent or meaningless."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            return None
    if not isinstance(raw, int | float) or (isinstance(raw, float) and not math.isfinite(raw)):
        return None
    # A lifetime of zero or less is nonsense, not "expired": taken literally it would make
    # every request refresh first. Treated as unknown, a 401 still triggers the refresh.
    if raw <= 0:
        return None
    return int(min(raw, MAX_LIFETIME))


def grant_from_response(data: object) -> TokenGrant:
    """A grant from a decoded refresh response; ProviderDataError for anything unusable.

    More lenient than the connect-time check (allauth/oauth2.py) on purpose: by the time a
    refresh answers, the provider may already have rotated the refresh token, so an unreadable
    ``expires_in`` is treated as unknown rather than throwing the new tokens away.
    """
    if not isinstance(data, dict) or not is_token_string(data.get("access_token")):
        raise ProviderDataError(NO_ACCESS_TOKEN)
    lifetime = _lifetime(data.get("expires_in"))
    refresh = data.get("refresh_token")
    token_type = data.get("token_type")
    return TokenGrant(
        access_token=data["access_token"],
        refresh_token=refresh if is_token_string(refresh) else "",
        expires_at=clock.now() + timedelta(seconds=lifetime) if lifetime else None,
        token_type=token_type[:40] if isinstance(token_type, str) and token_type else "Bearer",
        scopes=parse_scopes(data.get("scope")),
    )


def credential_apply_grant(credential: Credential, grant: TokenGrant) -> None:
    """Copy a grant onto a credential (not saved). An absent refresh token keeps the old one."""
    credential.access_token = grant.access_token
    if grant.refresh_token:
        credential.refresh_token = grant.refresh_token
    credential.expires_at = grant.expires_at
    credential.token_type = grant.token_type
    credential.fingerprint = fingerprint(grant.access_token)
    # When this token was issued: is_expiring renews a short-lived token at half its life.
    credential.refreshed_at = clock.now()


def is_expiring(credential: Credential, *, margin: timedelta | None = None) -> bool:
    if credential.expires_at is None:
        return False
    margin = margin or timedelta(seconds=settings.THINKALIKE_REFRESH_MARGIN_SECONDS)
    if credential.refreshed_at and credential.expires_at > credential.refreshed_at:
        # A token living less than twice the margin would be "expiring" the moment it was
        # issued and be refreshed before every request: renew it at half its life instead.
        margin = min(margin, (credential.expires_at - credential.refreshed_at) / 2)
    return credential.expires_at - margin <= clock.now()


def _credential_readable(connection: Connection) -> Credential:
    """The stored credential; ReauthRequired when there is none or no key can decrypt it."""
    credential = credential_for_use(connection=connection)
    if credential is None:
        provider = get_provider(connection.provider)
        raise ReauthRequired(NO_CREDENTIAL.format(provider=provider.name))
    return credential


def credential_fresh(*, connection: Connection) -> Credential:
    """``connection``'s credential, refreshed first if it expires within the margin."""
    credential = _credential_readable(connection)
    if is_expiring(credential):
        token_refresh(connection=connection)
        credential = _credential_readable(connection)
    return credential


def access_token_for(*, connection: Connection) -> str:
    """A usable access token for ``connection``, refreshed first if it expires within the margin."""
    return credential_fresh(connection=connection).access_token


def token_refresh(*, connection: Connection, stale_access_token: str = "") -> str:
    """Refresh ``connection``'s token; return the access token to use.

    ``stale_access_token`` is the token a 401 was just received for: if the stored token is
    already a different one, another worker refreshed it and no request is made. Without it the
    refresh happens only when the token is within the expiry margin.
    Raises ReauthRequired (and marks the connection) when the provider refuses the refresh
    token, TryLater when the token endpoint has a temporary problem or another worker holds the
    refresh lease for longer than we wait (the connection keeps its status).
    Must be called with no transaction open: the lease has to be visible to other workers.
    """
    try:
        return _refresh(connection, stale_access_token)
    except ReauthRequired as exc:
        connection_mark_reauth(connection=connection, reason=exc.message, actor="token refresh")
        raise


def refresh_lease_ttl() -> timedelta:
    """How long a refresh lease lasts: the setting, but never less than the token request can
    take, or a slow but live holder would be taken over mid-request."""
    connect, read = settings.THINKALIKE_HTTP_TIMEOUT
    # Connect, wait for the first byte (read), then read the body (at most body_seconds()).
    request_seconds = connect + read + body_seconds()
    return timedelta(seconds=max(settings.THINKALIKE_REFRESH_LEASE_SECONDS, request_seconds + 5))


def _due(credential: Credential, stale_access_token: str) -> bool:
    if stale_access_token:
        return credential.access_token == stale_access_token
    return is_expiring(credential)


def _refresh(connection: Connection, stale_access_token: str) -> str:
    provider = get_provider(connection.provider)
    give_up_at = clock.now() + timedelta(seconds=settings.THINKALIKE_REFRESH_WAIT_SECONDS)
    pause = FIRST_PAUSE
    waited_at_generation = None  # set once we have waited for another worker's lease
    while True:
        credential = _credential_readable(connection)
        if not _due(credential, stale_access_token):
            return credential.access_token
        if not credential.refresh_token:
            raise ReauthRequired(CANNOT_RENEW.format(provider=provider.name))
        if (waited_at_generation == credential.refresh_generation
                and credential.refresh_lease_token is None):
            # The holder we waited for released its lease without storing a token: it failed,
            # and asking the same endpoint again at once, once per waiting worker, would only
            # repeat its failure.
            raise RenewingElsewhere(RENEW_FAILED_ELSEWHERE.format(provider=provider.name))
        lease = _lease_take(credential)
        if lease is not None:
            return _refresh_holding_lease(connection, credential, lease)
        if credential.refresh_lease_token is not None:
            waited_at_generation = credential.refresh_generation
        now = clock.now()
        if now >= give_up_at:
            raise RenewingElsewhere(RENEWING_ELSEWHERE.format(provider=provider.name))
        # Back off, but look again the moment the holder's lease runs out: a dead holder
        # blocks nobody past its lease.
        until = credential.refresh_lease_until or now
        lease_left = (until - now).total_seconds()
        if lease_left < 0:  # read just before a takeover by someone else: look again soon
            lease_left = pause
        sleep(max(0.0, min(pause, lease_left, (give_up_at - now).total_seconds())))
        pause = min(pause * 2, MAX_PAUSE)


def _lease_take(credential: Credential) -> uuid.UUID | None:
    """Take the refresh lease if it is free or expired and nobody refreshed since ``credential``
    was read. An UPDATE in autocommit: committed, so visible to all, when it returns."""
    now = clock.now()
    lease = uuid.uuid4()
    taken = Credential.objects.filter(
        Q(refresh_lease_token__isnull=True) | Q(refresh_lease_until__lte=now),
        pk=credential.pk, refresh_generation=credential.refresh_generation,
    ).update(refresh_lease_token=lease, refresh_lease_until=now + refresh_lease_ttl())
    return lease if taken else None


def _lease_release(credential: Credential, lease: uuid.UUID) -> None:
    Credential.objects.filter(pk=credential.pk, refresh_lease_token=lease).update(
        refresh_lease_token=None, refresh_lease_until=None)


def _refresh_holding_lease(connection: Connection, credential: Credential,
                           lease: uuid.UUID) -> str:
    provider = get_provider(connection.provider)
    try:
        grant = _request_refresh(connection, credential)
    except BaseException as exc:
        _lease_release(credential, lease)
        if isinstance(exc, ReauthRequired | TryLater):
            current = Credential.objects.filter(pk=credential.pk).first()
            if current and current.refresh_generation != credential.refresh_generation:
                # We were stalled past our lease and the token we presented was already
                # exchanged by someone else: the stored token is good, nothing is wrong.
                return current.access_token
        raise
    try:
        written = _grant_write_persistently(credential, lease, grant)
    finally:
        _lease_release(credential, lease)  # a no-op when the write already cleared it
    if not written:
        # Somebody stored a token issued for the same refresh token first; that one stands.
        current = Credential.objects.filter(pk=credential.pk).first()
        if current is None:  # disconnected meanwhile
            raise TryLater(DISCONNECTED.format(provider=provider.name))
        return current.access_token
    if grant.scopes is not None and grant.scopes != connection.scopes:
        Connection.objects.filter(pk=connection.pk).update(scopes=grant.scopes)
    logger.info("refreshed token of connection %s (%s)", connection.pk, provider.slug)
    return grant.access_token


def _grant_write_persistently(credential: Credential, lease: uuid.UUID,
                              grant: TokenGrant) -> bool:
    """``_grant_write``, retried on a database error: the provider may already have retired
    the refresh token we presented, so losing its successor to a momentarily locked database
    would leave the person to reconnect."""
    for attempt in range(GRANT_WRITE_ATTEMPTS):
        try:
            return _grant_write(credential, lease, grant)
        except OperationalError:
            if attempt == GRANT_WRITE_ATTEMPTS - 1:
                logger.error("could not store the renewed token of credential %s",
                             credential.pk)
                raise
            sleep(GRANT_WRITE_PAUSE * 2**attempt)
    raise AssertionError("unreachable")


def _grant_write(credential: Credential, lease: uuid.UUID, grant: TokenGrant) -> bool:
    """Store ``grant`` (and clear our lease) if the stored refresh token is still the one we
    presented. One UPDATE: the rotated refresh token is never stored apart from its access
    token. ``update()`` encrypts through the fields' ``get_db_prep_save`` like ``save()``."""
    now = clock.now()
    ours = When(refresh_lease_token=lease, then=Value(None))
    return bool(Credential.objects.filter(
        pk=credential.pk, refresh_generation=credential.refresh_generation,
    ).update(
        access_token=grant.access_token,
        refresh_token=grant.refresh_token or credential.refresh_token,
        expires_at=grant.expires_at,
        token_type=grant.token_type,
        fingerprint=fingerprint(grant.access_token),
        refreshed_at=now,
        updated_at=now,
        refresh_generation=F("refresh_generation") + 1,
        refresh_lease_token=Case(ours, default=F("refresh_lease_token")),
        refresh_lease_until=Case(When(refresh_lease_token=lease, then=Value(None)),
                                 default=F("refresh_lease_until")),
    ))


def _token_request(provider, body: dict[str, str], *, connection_id: int | None,
                   secrets: tuple[str, ...], client: ClientApp | None = None,
                   ) -> requests.Response:
    endpoint = provider.auth.token_endpoint(provider, client)
    with new_session() as session:
        # No automatic retry: with rotating refresh tokens a retried request after a lost
        # response would present a token the provider already replaced.
        return send(
            session, "POST", endpoint.url, data={**endpoint.body, **body}, auth=endpoint.auth,
            headers=endpoint.headers, provider_slug=provider.slug, connection_id=connection_id,
            retry=False, secrets=(*secrets, *endpoint.secrets),
        )


def _grant_from_answer(provider, response: requests.Response) -> TokenGrant:
    """The grant in a token endpoint's answer; ReauthRequired when it refused the credential
    presented, TryLater for anything else that is not a grant."""
    try:
        data = response_json(response, name=provider.name)
    except ProviderDataError:
        if response.status_code == 200:
            raise
        # An error answer that is not JSON is judged by its status below, like an empty body.
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    # Some providers (GitHub) answer a refused grant with HTTP 200 and an "error" body.
    if response.status_code in (200, 400, 401) and error in {
        "invalid_grant", "invalid_token", "unauthorized_client", "invalid_client"
    }:
        raise ReauthRequired(REFUSED.format(provider=provider.name, error=error))
    if response.status_code != 200:
        raise TryLater(RENEW_FAILED.format(provider=provider.name, status=response.status_code))
    return grant_from_response(data)


def _request_refresh(connection: Connection, credential: Credential) -> TokenGrant:
    provider = get_provider(connection.provider)
    # The app that issued the grant: a person's own app's token goes back to that app only.
    client = client_for_credential(credential, provider)
    response = _token_request(
        provider, {"grant_type": "refresh_token", "refresh_token": credential.refresh_token},
        connection_id=connection.pk, secrets=(credential.refresh_token, credential.access_token),
        client=client,
    )
    return _grant_from_answer(provider, response)


def token_grant_by_password(*, provider, username: str, password: str) -> TokenGrant:
    """Exchange a user name and password for tokens (the password grant). The password is
    sent this once and kept nowhere; ReauthRequired means the provider refused them."""
    response = _token_request(
        provider, {"grant_type": "password", "username": username, "password": password},
        connection_id=None, secrets=(password,),
    )
    return _grant_from_answer(provider, response)


def token_revoke(*, connection: Connection) -> bool:
    """Revoke the grant at the provider where it can be (RFC 7009 unless the provider says
    otherwise). True when it was revoked.

    Best effort: raises TryLater/ProviderDataError on failure for the caller to log.
    """
    provider = get_provider(connection.provider)
    if not provider.supports_revoke:
        return False
    credential = credential_for_use(connection=connection)
    if credential is None or not (credential.access_token or credential.refresh_token):
        return False
    endpoint = provider.auth.token_endpoint(provider, client_for_credential(credential, provider))
    request, auth = provider.revoke_request(credential, endpoint)
    with new_session() as session:
        response = send(
            session, request.method, request.url, params=dict(request.params),
            data=request.data, json=request.json, headers=dict(request.headers), auth=auth,
            provider_slug=provider.slug, connection_id=connection.pk,
            secrets=(credential.refresh_token, credential.access_token, *endpoint.secrets),
        )
    if response.status_code not in (200, 204):
        raise TryLater(f"{provider.name} did not confirm the revocation "
                       f"(HTTP {response.status_code})")
    return True


def secret_values(credential: Credential | None) -> dict[str, str]:
    """The decrypted non-OAuth secrets (API key, password...) of a credential."""
    if credential is None or not credential.secret:
        return {}
    try:
        data = json.loads(credential.secret)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
