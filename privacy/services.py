"""Deleting a person's data: everything at once (the account stays), or the account itself.

Both go through the integrations services, connection by connection, so they delete exactly
what a per-service purge or a disconnect deletes, and nothing is ever deleted twice over in
two ways.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from integrations.exceptions import SyncInProgress
from integrations.models import ApiCall, AuditEvent, Connection
from integrations.services import connection_data_purge, connection_disconnect
from library.models import LibraryEntry

from .export_services import exports_discard_for_user

logger = logging.getLogger(__name__)

# Messages people see; tests import them.
PURGE_ALL_REFUSED = (
    "A sync of {names} is queued or running, so nothing was deleted for it. Try again when it "
    "has finished."
)

# The audit lines that outlive a deleted account keep their action, provider, connection id
# and time. Messages stay only on these, which hold counts and redacted provider errors, never
# titles or names; the actor "user:<id>" is cleared.
AUDIT_MESSAGES_KEPT = (
    AuditEvent.Action.DISCONNECTED, AuditEvent.Action.REVOKED, AuditEvent.Action.REVOKE_FAILED,
    AuditEvent.Action.DATA_PURGED,
)
ACCOUNT_DELETION_ACTOR = "account deletion"
# What a failed revocation's audit line says once its account is gone (no provider wording).
REVOKE_FAILED_KEPT = "revocation failed"
# How many times account deletion looks again for connections added while it disconnected.
DISCONNECT_ROUNDS = 3
ACCOUNT_DELETION_INCOMPLETE = (
    "A service was connected while your account was being deleted, so the account was not "
    "deleted; your other services were disconnected. Try again."
)


@dataclass(frozen=True)
class RefusedConnection:
    """A connection whose data was not deleted: a sync held it."""

    id: int
    provider: str
    name: str
    label: str


@dataclass
class PurgeAllResult:
    """What "delete everything" deleted, summed over the connections, and what it could not."""

    counts: Counter = field(default_factory=Counter)
    connections: int = 0  # connections whose data was deleted
    refused: list[RefusedConnection] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.refused


def user_data_purge_all(*, user: AbstractBaseUser, actor: str = "") -> PurgeAllResult:
    """Delete everything imported for ``user`` and derived from it, keeping the account, the
    connections (with their credentials and settings), API tokens, OAuth apps and the consent
    history: each connection's data through connection_data_purge, in its own transaction, then
    the person's library entries no connection feeds any more (the ones added here).

    A connection a sync holds is refused (SyncInProgress) and reported in ``refused``, never
    skipped silently; the library entries its items still link stay with it.
    """
    result = PurgeAllResult()
    for connection in Connection.objects.filter(user=user).order_by("pk"):
        try:
            purged = connection_data_purge(connection=connection, actor=actor)
        except SyncInProgress:
            result.refused.append(RefusedConnection(
                id=connection.pk, provider=connection.provider, name=connection.provider_name,
                label=connection.account_label))
            continue
        result.connections += 1
        result.counts.update({"items": purged.items, "interests": purged.interests,
                              "checkpoints": purged.checkpoints, **purged.other})
    result.counts.update(_library_purge(user=user, actor=actor))
    return result


@transaction.atomic
def _library_purge(*, user: AbstractBaseUser, actor: str) -> dict[str, int]:
    """The library entries of ``user`` that no imported item links (added here, or left by a
    service already purged), with their pushes and conflicts. Shared titles stay."""
    # The library's rows are in every export too: discarded here as well, for a person with
    # library entries and no connection (whose purge sends no data_purging).
    exports_discard_for_user(user_id=user.pk)
    entries = LibraryEntry.objects.filter(user=user, external_items__isnull=True)
    _, deleted = LibraryEntry.objects.filter(pk__in=list(entries.values_list("pk", flat=True))
                                             ).delete()
    counts = {
        "library_entries": deleted.get(LibraryEntry._meta.label, 0),
        "library_pushes": deleted.get("library.LibraryPush", 0),
        "library_conflicts": deleted.get("library.LibraryConflict", 0),
    }
    if counts["library_entries"]:
        AuditEvent.objects.create(
            user=user, action=AuditEvent.Action.DATA_PURGED, actor=actor[:100],
            message=f"library: {counts['library_entries']} entries added here")
    return counts


@dataclass(frozen=True)
class RevokeOutcome:
    """One connection of a deleted account: whether its access was revoked at the provider,
    and when not, why and where the person can revoke it by hand."""

    provider: str
    name: str
    label: str
    revoked: bool
    note: str


@dataclass
class AccountDeletionResult:
    revokes: list[RevokeOutcome] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


class AccountDeletionIncomplete(Exception):
    """A connection was still there when the account was to be deleted (something made one
    bypassing the connect paths, which refuse a closed account, faster than the disconnects):
    the account stays, open again, and the person is told to try again."""

    def __init__(self, result: AccountDeletionResult) -> None:
        super().__init__(ACCOUNT_DELETION_INCOMPLETE)
        self.result = result


def account_delete(*, user: AbstractBaseUser) -> AccountDeletionResult:
    """Delete ``user``'s account and everything held about them.

    First the account is closed (``is_active=False``, committed): sign-ins, sessions, API
    tokens and every connect path refuse it from then on (a connect that locked the user row
    first has committed its connection, which the disconnects below see). Then every
    connection goes through connection_disconnect, one at a time and outside any transaction:
    it asks the provider to revoke the token first (best effort: a failure is reported in the
    result and keeps no data), then deletes what the purge deletes, the connection's request
    log paths and the connection, in its own transaction; repeated until none is left
    (DISCONNECT_ROUNDS at most). The caller must not hold a transaction open. Then one
    transaction locks the user row and, if a connection still exists, stops
    (AccountDeletionIncomplete, the account opened again) rather than let the CASCADE delete a
    connection nobody revoked; otherwise deletes the user, with what cascades: library
    entries, consent, API tokens, personal OAuth apps, and whatever else other apps hang on the
    user. The audit lines outlive the account (their user becomes null) stripped to provider,
    connection id, action and time; so does the request log, without its paths.
    """
    result = AccountDeletionResult()
    users = get_user_model().objects.filter(pk=user.pk)
    users.update(is_active=False)
    try:
        for _round in range(DISCONNECT_ROUNDS):
            connections = list(Connection.objects.filter(user=user).order_by("pk"))
            if not connections:
                break
            for connection in connections:
                _disconnect_into(result, connection)
    except BaseException:
        users.update(is_active=True)  # not deleted: the person can sign in and try again
        raise
    if not _user_delete(user=user, result=result):
        users.update(is_active=True)  # not deleted: the person can sign in and try again
        logger.warning("account %s not deleted: a connection was added during deletion",
                       user.pk)
        raise AccountDeletionIncomplete(result)
    logger.info("account deleted: %s connections disconnected", len(result.revokes))
    return result


@transaction.atomic
def _user_delete(*, user: AbstractBaseUser, result: AccountDeletionResult) -> bool:
    """The user row locked, the user deleted with what cascades; False (nothing done) when a
    connection still exists (its CASCADE would delete it unrevoked and unaudited) or the
    account was opened again meanwhile."""
    users = get_user_model().objects.filter(pk=user.pk)
    row = users.select_for_update().first()
    if row is None:
        return True  # a deletion running at the same time (another tab) has finished it
    if row.is_active:
        return False  # saved whole meanwhile (opened again): whatever did it may connect too
    if Connection.objects.filter(user=user).exists():
        return False
    # The request log outlives the account (staff usage counts) without the paths, which
    # can name the person (/people/<username>/...). The connections' rows were blanked by
    # their disconnects; these are the person's own (the API caller), under the user lock.
    ApiCall.objects.filter(Q(connection__user=user) | Q(caller=user)).exclude(
        path="").update(path="")
    lines = AuditEvent.objects.filter(user=user)
    lines.exclude(action__in=AUDIT_MESSAGES_KEPT).update(message="")
    # A provider's wording of a failed revocation may quote the account; a fixed phrase.
    lines.filter(action=AuditEvent.Action.REVOKE_FAILED).update(
        message=REVOKE_FAILED_KEPT)
    # "user:<id>", "api:<id>" (or an address) name the person; "sync", "command"... do not.
    lines.exclude(actor__regex=r"^[a-z ]*$").update(actor="")
    _, deleted = users.delete()
    result.counts["library_entries"] += deleted.get(LibraryEntry._meta.label, 0)
    return True


def _disconnect_into(result: AccountDeletionResult, connection: Connection) -> None:
    name, label, slug = connection.provider_name, connection.account_label, connection.provider
    # Never refused for a running sync (see connection_disconnect).
    outcome = connection_disconnect(connection=connection, actor=ACCOUNT_DELETION_ACTOR)
    result.revokes.append(RevokeOutcome(provider=slug, name=name, label=label,
                                        revoked=outcome.revoked, note=outcome.revoke_note))
    if outcome.purged is not None:
        result.counts.update({"items": outcome.purged.items,
                              "interests": outcome.purged.interests,
                              **outcome.purged.other})
