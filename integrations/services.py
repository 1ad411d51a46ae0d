"""State changes of connections. Views, admin actions, tasks and commands call these only."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from consent.models import ConsentEvent
from consent.services import consent_clear_provider

from .credentials import credential_for_use, credential_unreadable
from .exceptions import (
    ConnectionTestFailed,
    CredentialRefused,
    IntegrationError,
    ProviderNotAvailable,
    ReauthRequired,
    SyncInProgress,
)
from .health_record import connection_health_record
from .http import ApiClient
from .interests import interests_recompute
from .models import (
    ApiCall,
    AuditEvent,
    Connection,
    Credential,
    ExternalItem,
    OAuthClientApp,
    SyncRun,
    UserInterest,
)
from .providers.base import AccountInfo, Provider
from .providers.registry import UnknownProvider, get_provider
from .providers.retired import is_retired, provider_or_retired
from .proxy.store import connection_entries_delete
from .reauth import audit
from .redaction import fingerprint, redact_text
from .signals import data_purging, stream_purged
from .sync import sync_holds, sync_request
from .tokens import (
    TokenGrant,
    credential_apply_grant,
    secret_values,
    token_grant_by_password,
    token_revoke,
)

logger = logging.getLogger(__name__)

REVOKE_SKIPPED_UNREADABLE = (
    "the stored token could not be read, so it was not sent; you can remove this site's access "
    "in the service's own settings."
)
# Messages people see; tests import them.
CHECK_FAILED = "{reason} Nothing was saved."
REVOKE_CRASHED = "{name} could not be asked to revoke access."
NO_REVOCATION_API = "This provider has no revocation API."
ACCOUNT_CLOSING = "This account is being deleted; nothing can be connected to it."
PURGE_WHILE_SYNCING = (
    "A sync of this connection is queued or running; nothing was deleted. Try again when it "
    "has finished."
)


def _lock_active_user(user: AbstractBaseUser) -> None:
    """Lock the person's row for the connect's transaction and refuse an account being deleted.

    Account deletion commits ``is_active=False`` (an UPDATE of this row) before its first
    disconnect: a connect that locked the row first commits its connection before that, so
    the deletion's disconnects see it; one that comes after sees the account closed and saves
    nothing (ProviderNotAvailable with ACCOUNT_CLOSING).
    """
    if not get_user_model().objects.select_for_update().filter(
            pk=user.pk, is_active=True).exists():
        raise ProviderNotAvailable(ACCOUNT_CLOSING)


def _activate(connection: Connection, provider: Provider) -> None:
    """Fields every (re)connect resets: healthy, due for a first sync now (never, when the
    provider has no data to sync)."""
    connection.status = Connection.Status.ACTIVE
    connection.last_error = ""
    connection.consecutive_failures = 0
    connection.consecutive_test_failures = 0
    connection.last_test_error = ""
    connection.next_sync_at = timezone.now() if provider.streams else None


@transaction.atomic
def connection_store_oauth(
    *,
    user: AbstractBaseUser,
    provider: Provider,
    social_account: SocialAccount,
    grant: TokenGrant,
    label: str,
    client_app: OAuthClientApp | None = None,
) -> Connection:
    """Create or update the connection of an OAuth connect; tokens go to Credential encrypted.

    On reconnect through the same app (client id) a missing refresh token keeps the stored
    one, through another app it drops it; the granted scopes are recorded
    as the provider reported them (or the requested ones when it does not report them).
    ``client_app`` is the person's own app the tokens were issued to (None: the operator's);
    refresh and revoke use it. Refused (ProviderNotAvailable) for an account being deleted.
    """
    _lock_active_user(user)
    connection = (
        Connection.objects.select_for_update().filter(user=user, provider=provider.slug).first()
    )
    is_new = connection is None
    if is_new:
        connection = Connection(user=user, provider=provider.slug)
    replaced = connection.social_account_id
    if replaced and replaced != social_account.pk:
        # Reconnected with another external account: the old SocialAccount would be left
        # without a Connection and block its external account for everyone else.
        SocialAccount.objects.filter(pk=replaced).delete()
    connection.social_account = social_account
    connection.external_account_id = social_account.uid
    connection.account_label = (label or social_account.uid)[:255]
    connection.scopes = grant.scopes if grant.scopes is not None else list(provider.scopes)
    _activate(connection, provider)
    connection.save()
    credential = Credential.objects.select_for_update().filter(connection=connection).first()
    credential = credential or Credential(connection=connection)
    credential.forget_unreadable()
    client_id = client_app.client_id if client_app else ""
    if credential.client_id != client_id:
        # A refresh token goes back only to the app that issued it: a grant from another app
        # without one leaves none, and renewing then asks for a reconnect.
        credential.refresh_token = ""
    credential_apply_grant(credential, grant)
    credential.client_app = client_app
    credential.client_id = client_id
    # A refresh that started before this reconnect presented the old grant's refresh token:
    # moving the generation on makes its write-back miss (tokens.py), so it cannot replace
    # the tokens the person just granted, and the lease it held no longer blocks anyone.
    credential.refresh_generation += 1
    credential.refresh_lease_token = credential.refresh_lease_until = None
    credential.save()
    audit(connection, AuditEvent.Action.CONNECTED if is_new else AuditEvent.Action.RECONNECTED)
    _queue_first_sync(connection)
    connection_health_record(connection=connection, now=timezone.now())
    return connection


@transaction.atomic
def connection_store_credentials(
    *, user: AbstractBaseUser, provider: Provider, account: AccountInfo,
    fields: Mapping[str, str], grant: TokenGrant | None = None,
) -> Connection:
    """Save a tested credential-based connection (username, API key, password grant...).

    Refused (ProviderNotAvailable) for an account being deleted (see _lock_active_user).
    """
    _lock_active_user(user)
    connection = (
        Connection.objects.select_for_update().filter(user=user, provider=provider.slug).first()
    )
    is_new = connection is None
    connection = connection or Connection(user=user, provider=provider.slug)
    connection.external_account_id = account.external_id[:255]
    connection.account_label = account.label[:255]
    secrets, connection.config = split_fields(provider, fields)
    _activate(connection, provider)
    connection.save()
    credential = Credential.objects.filter(connection=connection).first() or Credential(
        connection=connection
    )
    credential.forget_unreadable()
    credential.secret = json.dumps(secrets) if secrets else ""
    credential.fingerprint = fingerprint(credential.secret)
    if grant is not None:
        credential_apply_grant(credential, grant)
        credential.refresh_generation += 1  # as for an OAuth reconnect (see below)
        credential.refresh_lease_token = credential.refresh_lease_until = None
    credential.save()
    audit(connection, AuditEvent.Action.CONNECTED if is_new else AuditEvent.Action.RECONNECTED)
    _queue_first_sync(connection)
    connection_health_record(connection=connection, now=timezone.now())
    return connection


def split_fields(provider: Provider, fields: Mapping[str, str]) -> tuple[dict, dict]:
    """The submitted connect form as (secrets, config): secret values for the encrypted
    Credential, plain ones for Connection.config. A value used once (a password exchanged for
    tokens) is in neither."""
    secrets, config = {}, {}
    for declared in provider.connect_fields():
        value = fields.get(declared.name)
        if declared.stored and value not in (None, ""):
            (secrets if declared.secret else config)[declared.name] = value
    return secrets, config


def connection_connect_with_form(
    *, user: AbstractBaseUser, provider: Provider, fields: Mapping[str, str]
) -> Connection:
    """Test the submitted credential with the provider, then save it.

    A failed test saves nothing and raises ConnectionTestFailed with a message for the person.
    """
    if provider.auth.via_allauth:
        raise ProviderNotAvailable(f"{provider.name} is connected through its own sign-in page.")
    if not provider.is_available():
        raise ProviderNotAvailable(provider.unavailable_reason() or f"{provider.name} is off.")
    client = None
    try:
        fields = provider.clean_connect_fields(fields)
        secrets, config = split_fields(provider, fields)
        grant = None
        if provider.auth.uses_tokens:
            # A password grant: the password buys tokens here, once, and is kept nowhere.
            grant = token_grant_by_password(provider=provider,
                                            username=fields.get("username", ""),
                                            password=fields.get("password", ""))
        client = ApiClient(provider, secrets=secrets, config=config,
                           access_token=grant.access_token if grant else "")
        account = provider.test_credentials(client, fields)
    except ConnectionTestFailed:
        raise
    except CredentialRefused as exc:  # the provider said why: a permission the key lacks
        raise ConnectionTestFailed(CHECK_FAILED.format(reason=exc.message)) from None
    except ReauthRequired:
        raise ConnectionTestFailed(
            provider.auth.refused_message.format(name=provider.name)) from None
    except IntegrationError as exc:
        raise ConnectionTestFailed(CHECK_FAILED.format(reason=exc.message)) from None
    finally:
        if client is not None:
            client.close()
    return connection_store_credentials(user=user, provider=provider, account=account,
                                        fields=fields, grant=grant)


def _queue_first_sync(connection: Connection) -> None:
    sync_request(connection=connection, trigger=SyncRun.Trigger.CONNECT)


def connection_test(
    *, connection: Connection, budget_max_wait: float | None = None, quick: bool = False
) -> AccountInfo:
    """A cheap authenticated call. Raises IntegrationError with a message for people.

    Must be called with no transaction open (it calls the provider). Records the
    connection's health afterwards, whatever the outcome: a token the provider refused on
    renewal has flagged it for reconnecting by then (tokens.py). ``budget_max_wait`` bounds
    the wait for the provider's shared rate budget (None: the transport's default); past it,
    RateLimited. ``quick`` (the periodic tests): no retries, and
    THINKALIKE_CONNECTION_TEST_HTTP_TIMEOUT instead of the usual timeout.
    """
    try:
        provider = get_provider(connection.provider)
    except UnknownProvider:
        raise IntegrationError(f"Provider {connection.provider!r} is not installed here.") from None
    try:
        credential = credential_for_use(connection=connection)
        client = ApiClient(provider, connection=connection, secrets=secret_values(credential),
                           budget_max_wait=budget_max_wait, retry=not quick,
                           timeout=settings.THINKALIKE_CONNECTION_TEST_HTTP_TIMEOUT if quick
                           else None)
        try:
            return provider.test_connection(client, connection)
        finally:
            client.close()
    finally:
        connection_health_record(connection=connection, now=timezone.now())


@dataclass(frozen=True)
class DisconnectResult:
    revoked: bool
    revoke_note: str  # why not, when not revoked
    purged: PurgeResult | None = None  # what was deleted with it (None: it was already gone)


def _provider_for_disconnect(connection: Connection) -> tuple[Provider, str]:
    """The provider to disconnect through, and the note for when nothing is revoked.

    A provider no longer installed (retired) is stood in for, so its connection can still be
    deleted: the stand-in revokes nothing and its note tells the person where to do it.
    """
    provider = provider_or_retired(connection.provider)
    if not provider.auth.public_only or is_retired(provider):
        return provider, provider.revoke_help or NO_REVOCATION_API
    return provider, ""


def connection_disconnect(*, connection: Connection, actor: str = "") -> DisconnectResult:
    """Revoke at the provider where it can be, then delete the connection and everything the
    purge deletes (connection_data_purge: items, interests, checkpoints, the library entries
    only it fed, its pushes and conflicts), its credential, runs and allauth account. Audit
    lines remain.

    The revocation is a request to the provider, so it happens before the transaction, never
    inside it. Unlike the purge, a disconnect is never refused while a sync holds the
    connection: the connection row goes too, so a running sync cannot bring anything back
    (its later writes fail on the missing row and it ends), and a stuck sync must not keep
    a person connected. The row is locked first, so a sync's write that was in flight has
    committed (and is deleted here) or waits and fails.
    """
    provider, note = _provider_for_disconnect(connection)
    revoked = False
    if provider.supports_revoke and credential_unreadable(connection):
        # Nothing to send: the token cannot be read. The local deletion still happens.
        note = REVOKE_SKIPPED_UNREADABLE
    elif provider.supports_revoke:
        try:
            revoked = token_revoke(connection=connection)
            note = "" if revoked else "There was no token to revoke."
        except IntegrationError as exc:  # best effort: the local deletion still happens
            note = redact_text(exc.message)
            logger.warning("revocation failed for connection %s: %s", connection.pk, note)
        except Exception:  # a bug in revoking must not keep a person's data here either
            note = REVOKE_CRASHED.format(name=provider.name)
            logger.exception("revocation crashed for connection %s", connection.pk)
    with transaction.atomic():
        if not Connection.objects.select_for_update().filter(pk=connection.pk).exists():
            # Disconnected meanwhile (a second click): nothing left to delete.
            return DisconnectResult(revoked=revoked, revoke_note=note, purged=None)
        if revoked:
            audit(connection, AuditEvent.Action.REVOKED, actor=actor)
        elif provider.supports_revoke:
            audit(connection, AuditEvent.Action.REVOKE_FAILED, note, actor)
        purged = _purge_rows(connection)
        audit(connection, AuditEvent.Action.DISCONNECTED,
              f"{purged.items} imported items deleted{_extra_words(purged.other)}", actor)
        # The request log outlives the connection (its link becomes null) without the paths,
        # which can name the person (/users/<name>/...). Here, under the row lock: a request
        # a running sync logs later fails on the missing row instead of keeping its path.
        ApiCall.objects.filter(connection=connection).exclude(path="").update(path="")
        social_account_id = connection.social_account_id
        connection_pk = connection.pk
        # Cascades to the credential, runs and what the purge left; its pre_delete receiver
        # folds the staff's per-day counts into the provider's (integrations/usage.py).
        connection.delete()
        if social_account_id:
            SocialAccount.objects.filter(pk=social_account_id).delete()
        consent_clear_provider(
            user=connection.user, provider=provider.slug, source=ConsentEvent.Source.DISCONNECT
        )
    # After the commit: the proxy's cached answers of this connection (not transactional).
    connection_entries_delete(connection_pk)
    return DisconnectResult(revoked=revoked, revoke_note=note, purged=purged)


@dataclass(frozen=True)
class PurgeResult:
    """What a purge deleted, by kind (``other``: what listeners such as the library deleted)."""

    items: int
    interests: int
    checkpoints: int
    other: Mapping[str, int]


def _purge_rows(connection: Connection) -> PurgeResult:
    """Delete what ``connection`` imported and what was derived from it, inside the caller's
    transaction, with the connection row locked. Shared by the purge and the disconnect, so
    the two can never delete different things."""
    other: dict[str, int] = {}
    for _receiver, counts in data_purging.send(sender=Connection, connection=connection):
        for name, count in (counts or {}).items():
            other[name] = other.get(name, 0) + count
    # Counts per model: a delete's total includes what cascaded.
    _, deleted = UserInterest.objects.filter(connection=connection).delete()
    interests = deleted.get(UserInterest._meta.label, 0)
    _, deleted = ExternalItem.objects.filter(connection=connection).delete()
    items = deleted.get(ExternalItem._meta.label, 0)
    checkpoints, _ = connection.stream_states.all().delete()
    return PurgeResult(items=items, interests=interests, checkpoints=checkpoints, other=other)


def _extra_words(other: Mapping[str, int]) -> str:
    return "".join(f", {count} {name.replace('_', ' ')}" for name, count in sorted(other.items()))


def connection_data_purge(*, connection: Connection, actor: str = "") -> PurgeResult:
    """Delete everything imported from ``connection`` and derived from it, keeping the
    connection, its credential and its settings: items (the mappings), interests, stream
    checkpoints (the next sync starts over), the proxy's cached answers and, through
    ``data_purging``, what other apps derived (the library entries only this connection fed).
    One audit line.

    Raises SyncInProgress while a sync holds the connection: its later pages and checkpoints
    would bring part of the data back. The row lock keeps a sync from being claimed meanwhile
    (a claim is an UPDATE of that row), so one claimed after the purge starts over.
    """
    result = _connection_data_purge(connection=connection, actor=actor)
    # After the commit (the cache is not transactional); a refused purge keeps them too.
    connection_entries_delete(connection.pk)
    return result


@transaction.atomic
def _connection_data_purge(*, connection: Connection, actor: str) -> PurgeResult:
    Connection.objects.select_for_update().only("pk").get(pk=connection.pk)
    if sync_holds(connection_pk=connection.pk):
        raise SyncInProgress(PURGE_WHILE_SYNCING)
    result = _purge_rows(connection)
    audit(connection, AuditEvent.Action.DATA_PURGED,
          f"{result.items} items, {result.interests} interests{_extra_words(result.other)}",
          actor)
    return result


@transaction.atomic
def connection_stream_purge(*, connection: Connection, stream: str, actor: str = "") -> int:
    """Delete what one stream of ``connection`` collected, and start that stream afresh.

    The person asks for this (the consent page offers it once no allowed purpose uses the
    stream); it is never done for them. Deletes the stream's items, soft-deleted or not, and its
    checkpoint, then recomputes the interests from the items left. Returns the items deleted.
    Raises KeyError for a stream the provider does not declare.
    """
    provider = get_provider(connection.provider)
    declared = provider.get_stream(stream)
    # A stream's rows are those of its kind: providers declare one kind per stream.
    deleted, _ = ExternalItem.objects.filter(connection=connection, kind=declared.kind).delete()
    # An export holds the stream's items too: no copy of them may outlive this (privacy).
    stream_purged.send(sender=Connection, connection=connection, stream=declared.name)
    connection.stream_states.filter(stream=declared.name).delete()
    interests_recompute(connection=connection, provider=provider)
    audit(connection, AuditEvent.Action.DATA_PURGED, f"{declared.label}: {deleted} items", actor)
    return deleted


def connection_can_sync(connection: Connection) -> bool:
    return connection.status == Connection.Status.ACTIVE and connection.sync_enabled


# Words of the audit line a settings change writes.
SETTING_WORDS = {"sync_enabled": "sync", "auto_sync": "automatic sync"}


@transaction.atomic
def connection_update_settings(
    *, connection: Connection, sync_enabled: bool | None = None, auto_sync: bool | None = None,
    streams: Mapping[str, bool] | None = None, actor: str = "",
) -> Connection:
    """Change whether and when a connection syncs, and which of its streams; None leaves a
    setting as it is. One audit line names what changed (none when nothing did).

    ``streams`` maps stream names the provider declares to on/off; an undeclared name raises
    KeyError and changes nothing. ``next_sync_at`` follows the settings: None while nothing is
    scheduled (sync or automatic sync off), due now when scheduling is turned back on (or
    was on with no date). A run
    already running finishes; one still queued when sync is turned off is skipped (sync.py).
    """
    provider = provider_or_retired(connection.provider)
    labels = {stream.name: stream.label for stream in provider.streams}
    unknown = sorted(set(streams or {}) - set(labels))
    if unknown:
        raise KeyError(unknown[0])
    current = Connection.objects.select_for_update().get(pk=connection.pk)
    was_scheduled = current.sync_enabled and current.auto_sync
    changes = []
    for name, value in (("sync_enabled", sync_enabled), ("auto_sync", auto_sync)):
        if value is not None and bool(value) != getattr(current, name):
            setattr(current, name, bool(value))
            changes.append(f"{SETTING_WORDS[name]} {'on' if value else 'off'}")
    toggles = dict(current.stream_settings)
    for name, enabled in (streams or {}).items():
        if bool(enabled) != current.stream_enabled(name):
            changes.append(f"{labels[name]} {'on' if enabled else 'off'}")
        toggles[name] = bool(enabled)
    current.stream_settings = toggles
    scheduled = current.sync_enabled and current.auto_sync
    if not scheduled:
        current.next_sync_at = None
    elif provider.streams and (not was_scheduled or current.next_sync_at is None):
        current.next_sync_at = timezone.now()
    current.save(update_fields=["sync_enabled", "auto_sync", "stream_settings", "next_sync_at",
                                "updated_at"])
    if changes:
        audit(current, AuditEvent.Action.SETTINGS_CHANGED, "; ".join(changes), actor)
    for name in ("sync_enabled", "auto_sync", "stream_settings", "next_sync_at", "updated_at"):
        setattr(connection, name, getattr(current, name))
    connection_health_record(connection=connection, now=timezone.now())
    return connection
