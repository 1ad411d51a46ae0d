"""What people do to their library: edit an entry (pushed to their services), choose what
syncs with each service, and sync one service now. Every interface calls these."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.exceptions import IntegrationError
from integrations.models import AuditEvent, Connection, ExternalItem, SyncRun
from integrations.services import connection_update_settings
from integrations.sync import sync_request
from library import statuses
from library.batch import Batch, list_fields
from library.models import LibraryConflict, LibraryEntry, LibraryPush, ListSyncSettings
from library.push import library_pushes_enqueue, library_pushes_send_now
from library.scores import MAX_SCORE
from library.terms import FIELDS, MAX_PROGRESS, TERMS

# Messages people see; tests import them.
BAD_STATUS = "Choose one of the statuses offered."
BAD_PROGRESS = f"Progress is a whole number from 0 to {MAX_PROGRESS}."
PROGRESS_NOT_CLEARED = "Progress cannot be emptied on the services: set it to 0 instead."
BAD_SCORE = f"A score is a whole number from 0 to {MAX_SCORE}, or empty for no score."
NOTHING_TO_CHANGE = "Nothing to change: give a status, progress or score."
NOT_A_LIST_SERVICE = "{name} keeps no anime or manga list."
SWITCHES = ("sync_status", "sync_progress", "sync_ratings")


class LibraryInputError(IntegrationError):
    """Bad values for an entry; ``errors`` maps each bad field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(" ".join(errors.values()), code="invalid")
        self.errors = dict(errors)


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError
    return value


def library_values_clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``{status?, progress?, score?}``: progress and score may be None (cleared)."""
    clean, errors = {}, {}
    unknown = set(values) - set(FIELDS)
    for name in sorted(unknown):
        errors[name] = f"Unknown field “{name[:40]}”."
    if "status" in values:
        if values["status"] in statuses.STATUSES:
            clean["status"] = values["status"]
        else:
            errors["status"] = BAD_STATUS
    for name, high, message in (("progress", MAX_PROGRESS, BAD_PROGRESS),
                                ("score", MAX_SCORE, BAD_SCORE)):
        if name in values:
            try:
                clean[name] = None if values[name] is None else _int(values[name], 0, high)
            except ValueError:
                errors[name] = message
    if not clean and not errors:
        errors["status"] = NOTHING_TO_CHANGE
    if errors:
        raise LibraryInputError(errors)
    return clean


def library_entry_update(*, entry: LibraryEntry, values: Mapping[str, Any],
                         actor: str = "") -> LibraryEntry:
    """Set an entry's values here and push them to each of the person's list services whose
    switches allow them: where the service has the title, and, on AniList and MyAnimeList,
    where it does not yet but knows the title's id (their write creates the entry). Raises
    LibraryInputError for bad values; values equal to the entry's change nothing."""
    clean = library_values_clean(values)
    now = timezone.now()
    with transaction.atomic():
        entry = (LibraryEntry.objects.select_for_update().select_related("title")
                 .get(pk=entry.pk))
        changed = [name for name, value in clean.items() if getattr(entry, name) != value]
        if "progress" in changed and clean["progress"] is None:
            # No service's write can empty a progress: it would never arrive anywhere.
            raise LibraryInputError({"progress": PROGRESS_NOT_CLEARED})
        if not changed and entry.removed_at is None:
            return entry
        for name in changed:
            setattr(entry, name, clean[name])
            setattr(entry, f"{name}_changed_at", now)
        entry.removed_at = None
        entry.save()
        _push_entry(entry, now)
        AuditEvent.objects.create(
            user_id=entry.user_id, provider="library", action=AuditEvent.Action.SETTINGS_CHANGED,
            message=f"Library entry {entry.pk} ({str(entry.title)[:200]}): "
                    + ", ".join(f"{name} {clean[name]}" for name in changed),
            actor=actor[:100])
    return entry


def _push_entry(entry: LibraryEntry, now) -> None:
    connections = {c.pk: c for c in Connection.objects.filter(
        user_id=entry.user_id, provider__in=list(TERMS))}
    batch = Batch(now=now, fields=list_fields(connections.values()))
    # Locked after the entry, as a merge locks them (library/pull.py).
    items = {item.connection_id: item
             for item in entry.external_items.select_for_update().order_by("pk")}
    for connection in connections.values():
        item = items.get(connection.pk)
        if item is not None and item.deleted_at is None:
            batch.reconcile(entry, item, connection)
            continue
        values = _create_values(entry, connection, batch.fields[connection.pk])
        if values is not None:
            batch.create_push(entry, connection, values)
    batch.write(connections)
    library_pushes_enqueue(batch.sendable)


def _create_values(entry: LibraryEntry, connection: Connection, fields: tuple[str, ...]
                   ) -> dict | None:
    """The values that add the entry to a service that has not got it (None: it cannot)."""
    title = entry.title
    known = {statuses.ANILIST: title.anilist_id, statuses.MYANIMELIST: title.mal_id}
    if not known.get(connection.provider):  # Kitsu's write needs an entry that exists
        return None
    terms, kind = TERMS[connection.provider], title.kind
    values = {name: terms.to_service(name, getattr(entry, name), kind=kind)
              for name in ("status", *fields)}
    return {name: value for name, value in values.items()
            if value is not None or (name == "score" and "score" in fields)}


def library_settings_update(*, connection: Connection, switches: Mapping[str, bool],
                            actor: str = "") -> ListSyncSettings:
    """Set which fields sync with a list service (``sync_status``, ``sync_progress``,
    ``sync_ratings``); others keep their value."""
    if connection.provider not in TERMS:
        raise IntegrationError(NOT_A_LIST_SERVICE.format(name=connection.provider_name),
                               code="not_a_list_service")
    unknown = set(switches) - set(SWITCHES)
    if unknown or not all(isinstance(value, bool) for value in switches.values()):
        raise LibraryInputError({name: "Expected true or false." for name in
                                 sorted(unknown or switches)})
    with transaction.atomic():
        row, _ = ListSyncSettings.objects.select_for_update().get_or_create(
            connection=connection)
        changes = {name: value for name, value in switches.items()
                   if getattr(row, name) != value}
        if changes:
            for name, value in changes.items():
                setattr(row, name, value)
            row.merged_at = None  # a field back on: the next merge looks at every item
            row.save()
            AuditEvent.objects.create(
                user_id=connection.user_id, provider=connection.provider,
                connection_ref=connection.pk, action=AuditEvent.Action.SETTINGS_CHANGED,
                message="List sync: " + ", ".join(
                    f"{name.removeprefix('sync_')} {'on' if value else 'off'}"
                    for name, value in changes.items()),
                actor=actor[:100])
    return row


def library_list_sync_update(*, connection: Connection, switches: Mapping[str, bool],
                             sync_automatically: bool | None = None,
                             actor: str = "") -> ListSyncSettings:
    """The connection's list switches and its "sync automatically" (the connection's own
    ``auto_sync``, through the connection settings service) in one transaction: a refused
    switch changes neither. None leaves ``auto_sync`` as it is."""
    with transaction.atomic():
        row = library_settings_update(connection=connection, switches=switches, actor=actor)
        if sync_automatically is not None:
            connection_update_settings(connection=connection, auto_sync=sync_automatically,
                                       actor=actor)
    return row


def library_settings_for(connection: Connection) -> ListSyncSettings:
    """The connection's switches (all on when never set; not saved)."""
    found = ListSyncSettings.objects.filter(connection=connection).first()
    return found or ListSyncSettings(connection=connection)


def library_sync_now(*, connection: Connection, full: bool = False,
                     trigger: str = SyncRun.Trigger.MANUAL) -> tuple[SyncRun | None, int]:
    """Send ``connection``'s waiting pushes and pull it now (its merge follows the run).
    Returns the run (None when one is already pending, as ``sync_request``) and how many
    pushes were queued."""
    if connection.provider not in TERMS:
        raise IntegrationError(NOT_A_LIST_SERVICE.format(name=connection.provider_name),
                               code="not_a_list_service")
    queued = library_pushes_send_now(connection=connection)
    return sync_request(connection=connection, trigger=trigger, full=full), queued


def library_connection_purge(*, connection: Connection) -> dict[str, int]:
    """Delete the library's side of ``connection`` before its items go (the caller's
    transaction): the person's entries no other connection's item links, their pushes to this
    connection and the conflicts recorded with its provider, and the merge's checkpoint.
    Entries another service also links stay; their link to this connection goes with the item.
    """
    user_id = connection.user_id
    fed = LibraryEntry.objects.filter(user_id=user_id, external_items__connection=connection)
    shared = ExternalItem.objects.filter(
        library_entry__user_id=user_id).exclude(connection=connection).values("library_entry_id")
    only_here = fed.exclude(pk__in=shared).values_list("pk", flat=True)
    # Two queries before the entries go: what cascades with them would be counted twice.
    _, pushes = LibraryPush.objects.filter(connection=connection).delete()
    _, conflicts = LibraryConflict.objects.filter(
        entry__user_id=user_id, provider=connection.provider).delete()
    _, entries = LibraryEntry.objects.filter(pk__in=list(only_here)).delete()
    ListSyncSettings.objects.filter(connection=connection).update(merged_at=None)
    return {
        "library_entries": entries.get(LibraryEntry._meta.label, 0),
        "library_pushes": pushes.get(LibraryPush._meta.label, 0),
        "library_conflicts": conflicts.get(LibraryConflict._meta.label, 0),
    }
