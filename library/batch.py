"""Reconcile many (entry, item) pairs and write what they decide in a constant number of
queries: the pull's chunks, a local edit and the benchmark all go through ``Batch``.

The caller holds the transaction; nothing here calls a service. Pushes are written as
``LibraryPush`` rows (one open row per entry and connection, updated rather than doubled) and
``sendable`` lists those to queue once the transaction has committed (library/push.py).
"""

import logging
from collections.abc import Iterable
from datetime import datetime

from integrations.exceptions import ProviderDataError
from integrations.models import Connection, ExternalItem
from library import merge, statuses
from library.models import LibraryConflict, LibraryEntry, LibraryPush, ListSyncSettings
from library.reconcile import Local, Plan, Remote, reconcile
from library.terms import FIELDS, TERMS

logger = logging.getLogger(__name__)

SKIPPED = "library reconcile: item %s of connection %s skipped: %s"
# Pushes not sent yet, whose values a later merge may still change.
WAITING = [LibraryPush.State.PENDING, LibraryPush.State.FAILED,
           LibraryPush.State.WAITING_RECONNECT]


def _json(value):
    """A merge value as stored on a conflict: REMOVED is null."""
    if value is merge.REMOVED:
        return None
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    return value


def _without_time(synced: dict) -> dict:
    """A base without when it was taken: an unchanged re-sync rewrites nothing."""
    return {key: value for key, value in synced.items() if key != "at"}


def list_fields(connections: Iterable[Connection]) -> dict[int, tuple[str, ...]]:
    """The fields each connection syncs (one query)."""
    ids = {connection.pk for connection in connections}
    found = {row.connection_id: row.fields()
             for row in ListSyncSettings.objects.filter(connection_id__in=ids)}
    return {pk: found.get(pk, FIELDS) for pk in ids}


def can_send(connection: Connection) -> bool:
    """Whether a push to ``connection`` goes out now (else it waits: for a reconnect, for
    sync to be turned on, or for a manual sync when automatic sync is off)."""
    return (connection.status == Connection.Status.ACTIVE and connection.sync_enabled
            and connection.auto_sync)


class Batch:
    def __init__(self, *, now: datetime, fields: dict[int, tuple[str, ...]]) -> None:
        self.now, self.fields = now, fields
        self.entries: dict[int, LibraryEntry] = {}
        self.changed_entries: set[int] = set()
        # Per changed entry, the columns that changed: each group is written with only those
        # (Django's bulk_update builds a CASE per column and row, the bulk of a merge's time).
        self.changed_fields: dict[int, set[str]] = {}
        self.items: list[ExternalItem] = []
        self.conflicts: list[LibraryConflict] = []
        # (entry, connection) -> (values, item or None)
        self.pushes: dict[tuple[int, int], tuple[dict, ExternalItem | None]] = {}
        self.removals: dict[int, tuple[datetime, int]] = {}  # entry -> (when, connection)
        # Pairs with nothing to send: a push still waiting for one is not needed any more.
        self.settled: set[tuple[int, int]] = set()
        self.sendable: list[int] = []

    def entry(self, entry: LibraryEntry) -> LibraryEntry:
        """The batch's one copy of an entry (a change made by one pair is seen by the next)."""
        return self.entries.setdefault(entry.pk, entry)

    def reconcile(self, entry: LibraryEntry, item: ExternalItem, connection: Connection, *,
                  pass_on: bool = False) -> Plan | None:
        """Reconcile one pair into the batch. ``pass_on``: only to hand a change made here to
        another service; an item holding news of its own is left to its own merge, which
        passes that news on to every service (here, it would reach none of the others)."""
        entry, terms = self.entry(entry), TERMS[connection.provider]
        local = Local(values={name: getattr(entry, name) for name in FIELDS},
                      changed_at={name: getattr(entry, f"{name}_changed_at") for name in FIELDS},
                      removed_at=entry.removed_at)
        synced = item.synced if isinstance(item.synced, dict) else {}
        attrs = item.attrs if isinstance(item.attrs, dict) else {}
        try:
            plan = reconcile(local, Remote(attrs, item.deleted_at, synced, item.kind),
                             terms=terms, fields=self.fields.get(connection.pk, FIELDS),
                             now=self.now)
        except ProviderDataError as error:
            logger.warning(SKIPPED, item.pk, connection.pk, error)
            return None
        if pass_on and (plan.apply or plan.conflicts or plan.remove_at or plan.restore):
            return None
        self._apply(entry, plan, connection)
        if plan.synced is not None and _without_time(plan.synced) != _without_time(synced):
            item.synced = plan.synced
            self.items.append(item)
        for conflict in plan.conflicts:
            self.conflicts.append(LibraryConflict(
                entry=entry, field=conflict.field, provider=connection.provider,
                local_value=_json(conflict.local.value), remote_value=_json(conflict.remote.value),
                local_changed_at=conflict.local.changed_at,
                remote_changed_at=conflict.remote.changed_at, winner=conflict.winner))
        if plan.push and (item.deleted_at is None or connection.provider != statuses.KITSU):
            # Kitsu's entry is gone with its id: it cannot be written back from here.
            self.pushes[(entry.pk, connection.pk)] = (plan.push, item)
        elif not plan.push and item.deleted_at is None:
            # Nothing to send: a push still waiting for this pair is not needed any more
            # (never for an item removed there: a push re-adding it is still wanted).
            self.settled.add((entry.pk, connection.pk))
        return plan

    def _apply(self, entry: LibraryEntry, plan: Plan, connection: Connection) -> None:
        for name, (value, at) in plan.apply.items():
            setattr(entry, name, value)
            setattr(entry, f"{name}_changed_at", at)
            self._changed(entry.pk, name, f"{name}_changed_at")
        if plan.restore and entry.removed_at is not None:
            entry.removed_at = None
            self._changed(entry.pk, "removed_at")
        if plan.remove_at is not None:
            self.removals[entry.pk] = (plan.remove_at, connection.pk)

    def _changed(self, pk: int, *fields: str) -> None:
        self.changed_entries.add(pk)
        self.changed_fields.setdefault(pk, set()).update(fields)

    def create_push(self, entry: LibraryEntry, connection: Connection, values: dict) -> None:
        """A push of an entry the service does not have yet (a local edit creates it)."""
        self.pushes[(entry.pk, connection.pk)] = (values, None)

    def write(self, connections: dict[int, Connection]) -> None:
        self._removals()
        groups: dict[frozenset[str], list[LibraryEntry]] = {}
        for pk, fields in self.changed_fields.items():
            self.entries[pk].updated_at = self.now
            groups.setdefault(frozenset(fields), []).append(self.entries[pk])
        for fields, entries in groups.items():
            LibraryEntry.objects.bulk_update(entries, [*sorted(fields), "updated_at"])
        ExternalItem.objects.bulk_update(self.items, ["synced"])
        LibraryConflict.objects.bulk_create(self.conflicts)
        self._write_pushes(connections)

    def _removals(self) -> None:
        """Remove entries the service removed, unless another service still has the title."""
        if not self.removals:
            return
        held = set(ExternalItem.objects.filter(
            library_entry__in=list(self.removals), deleted_at__isnull=True,
        ).values_list("library_entry_id", flat=True))
        for pk, (at, _) in self.removals.items():
            entry = self.entries[pk]
            if pk not in held and entry.removed_at is None:
                entry.removed_at = at
                self._changed(pk, "removed_at")

    def _write_pushes(self, connections: dict[int, Connection]) -> None:
        pairs = [*self.pushes, *(self.settled - set(self.pushes))]
        if not pairs:
            return
        # Not SENDING: a push on its way keeps its values; the new ones follow it.
        open_rows = {(push.entry_id, push.connection_id): push
                     for push in LibraryPush.objects.filter(
                         entry_id__in={entry for entry, _ in pairs},
                         connection_id__in={connection for _, connection in pairs},
                         state__in=WAITING)}
        superseded = [push for pair, push in open_rows.items()
                      if pair in self.settled and pair not in self.pushes]
        for push in superseded:
            push.state, push.next_attempt_at, push.updated_at = (
                LibraryPush.State.SUPERSEDED, None, self.now)
        created, updated = [], superseded
        for (entry_id, connection_id), (values, _item) in self.pushes.items():
            connection = connections[connection_id]
            state = (LibraryPush.State.PENDING if connection.status == Connection.Status.ACTIVE
                     else LibraryPush.State.WAITING_RECONNECT)
            push = open_rows.get((entry_id, connection_id))
            if push is None:
                push = LibraryPush(entry_id=entry_id, connection=connection, values=values,
                                   state=state)
                created.append(push)
            elif push.values != values or push.state != state:
                push.values, push.state, push.error = values, state, ""
                push.next_attempt_at, push.updated_at = None, self.now
                updated.append(push)
        LibraryPush.objects.bulk_update(updated, ["values", "state", "error", "next_attempt_at",
                                                  "updated_at"])
        LibraryPush.objects.bulk_create(created)
        ours = [*created, *(open_rows[pair] for pair in self.pushes if pair in open_rows)]
        self.sendable = list(dict.fromkeys(
            push.pk for push in ours if push.state == LibraryPush.State.PENDING
            and can_send(connections[push.connection_id])))
