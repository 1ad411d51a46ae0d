"""Token store, refresh and revoke.

The invariant: at most one refresh per connection is in flight. A refresh takes the
Credential row lock (``select_for_update``; on SQLite the IMMEDIATE transaction does the same),
re-reads the row, and returns early when another worker already refreshed. The rotated refresh
token is committed together with the new access token before either is used.
allauth does not refresh tokens, so this module reuses its provider configuration (token URL,
client id and secret, Basic or body client authentication) and does the rest itself.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from allauth.socialaccount.adapter import get_adapter
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .exceptions import ProviderDataError, ReauthRequired, TryLater
from .http import new_session, response_json, send
from .models import Connection, Credential
from .providers.registry import get_provider
from .redaction import fingerprint

logger = logging.getLogger(__name__)
MAX_LIFETIME = 10 * 365 * 24 * 3600  # seconds


@dataclass(frozen=True)
class TokenGrant:
    """What a token endpoint gave us."""

    access_token: str
    refresh_token: str = ""  # "" when the provider sent none: keep the one we have
    expires_at: datetime | None = None
    token_type: str = "Bearer"
    scopes: list[str] | None = None  # None when the provider does not report scopes


def parse_scopes(raw: object) -> list[str] | None:
    if isinstance(raw, str):
        return sorted({s for s in raw.replace(",", " ").split() if s})
    if isinstance(raw, list):
        return sorted({s for s in raw if isinstance(s, str) and s})
    return None


def grant_from_response(data: object) -> TokenGrant:
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise ProviderDataError("the token endpoint answered without an access token")
    expires_in = data.get("expires_in")
    expires_at = None
    if isinstance(expires_in, int | float | str) and str(expires_in).isascii() \
            and str(expires_in).isdigit():
        # Capped: a nonsensical lifetime must not overflow the date arithmetic.
        expires_at = timezone.now() + timedelta(seconds=min(int(expires_in), MAX_LIFETIME))
    refresh = data.get("refresh_token")
    return TokenGrant(
        access_token=data["access_token"],
        refresh_token=refresh if isinstance(refresh, str) else "",
        expires_at=expires_at,
        token_type=str(data.get("token_type") or "Bearer")[:40],
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


def is_expiring(credential: Credential, *, margin: timedelta | None = None) -> bool:
    if credential.expires_at is None:
        return False
    margin = margin or timedelta(seconds=settings.THINKALIKE_REFRESH_MARGIN_SECONDS)
    return credential.expires_at - margin <= timezone.now()


def credential_fresh(*, connection: Connection) -> Credential:
    """``connection``'s credential, refreshed first if it expires within the margin."""
    credential = Credential.objects.get(connection_id=connection.pk)
    if is_expiring(credential):
        token_refresh(connection=connection)
        credential = Credential.objects.get(connection_id=connection.pk)
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
    token, TryLater when the token endpoint has a temporary problem (the connection keeps its
    status).
    """
    try:
        return _refresh_locked(connection, stale_access_token)
    except ReauthRequired as exc:
        # Written outside the rolled-back atomic block, or the status change would be lost too.
        from .services import connection_mark_reauth

        connection_mark_reauth(connection=connection, reason=exc.message, actor="token refresh")
        raise


def _refresh_locked(connection: Connection, stale_access_token: str) -> str:
    provider = get_provider(connection.provider)
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(connection_id=connection.pk)
        if stale_access_token:
            if credential.access_token != stale_access_token:
                return credential.access_token
        elif not is_expiring(credential):
            return credential.access_token
        if not credential.refresh_token:
            raise ReauthRequired(
                f"{provider.name} access has expired and cannot be renewed; please reconnect"
            )
        grant = _request_refresh(connection, credential)
        credential_apply_grant(credential, grant)
        credential.refreshed_at = timezone.now()
        credential.save()
        if grant.scopes is not None and grant.scopes != connection.scopes:
            Connection.objects.filter(pk=connection.pk).update(scopes=grant.scopes)
    logger.info("refreshed token of connection %s (%s)", connection.pk, provider.slug)
    return grant.access_token


def oauth_app_and_adapter(allauth_id: str):
    """allauth's configured app and OAuth2 adapter for a provider (works without a request)."""
    allauth_provider = get_adapter().get_provider(None, allauth_id)
    return allauth_provider.app, allauth_provider.get_oauth2_adapter(None)


def client_auth(app, adapter) -> tuple[dict[str, str], requests.auth.AuthBase | None]:
    if adapter.basic_auth:
        return {}, requests.auth.HTTPBasicAuth(app.client_id, app.secret)
    return {"client_id": app.client_id, "client_secret": app.secret}, None


def _request_refresh(connection: Connection, credential: Credential) -> TokenGrant:
    provider = get_provider(connection.provider)
    app, adapter = oauth_app_and_adapter(provider.allauth_id)
    body, auth = client_auth(app, adapter)
    body.update(grant_type="refresh_token", refresh_token=credential.refresh_token)
    with new_session() as session:
        # No automatic retry: with rotating refresh tokens a retried request after a lost
        # response would present a token the provider already replaced.
        response = send(
            session, "POST", adapter.access_token_url, data=body, auth=auth,
            headers={"Accept": "application/json", **(adapter.headers or {})},
            provider_slug=provider.slug, connection_id=connection.pk, retry=False,
            secrets=(credential.refresh_token, credential.access_token, app.secret),
        )
    try:
        data = response_json(response, provider_slug=provider.slug)
    except ProviderDataError:  # judged by its status below, like an empty body
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if response.status_code in (400, 401) and error in {
        "invalid_grant", "invalid_token", "unauthorized_client", "invalid_client"
    }:
        raise ReauthRequired(f"{provider.name} refused to renew access ({error}); please reconnect")
    if response.status_code != 200:
        raise TryLater(f"{provider.name} could not renew access (HTTP {response.status_code})")
    return grant_from_response(data)


def token_revoke(*, connection: Connection) -> bool:
    """Revoke the grant at the provider (RFC 7009) where it can be. True when it was revoked.

    Best effort: raises TryLater/ProviderDataError on failure for the caller to log.
    """
    provider = get_provider(connection.provider)
    url = provider.get_revoke_url()
    credential = Credential.objects.filter(connection_id=connection.pk).first()
    if not url or credential is None or not (credential.access_token or credential.refresh_token):
        return False
    app, adapter = oauth_app_and_adapter(provider.allauth_id)
    body, auth = client_auth(app, adapter)
    body.update(provider.revoke_request_data(credential))
    with new_session() as session:
        response = send(
            session, "POST", url, data=body, auth=auth, provider_slug=provider.slug,
            connection_id=connection.pk,
            secrets=(credential.refresh_token, credential.access_token, app.secret),
        )
    if response.status_code != 200:
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
