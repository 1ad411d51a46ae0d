"""Link two of a person's entries by hand (one title the matching missed), or unlink a
service's item from an entry (a wrong match). Every interface calls these.

Both reconcile what they moved at once (library/batch.py, no network): a linked item joins an
entry it never synced with, so it keeps no base and a difference is a conflict, shown like any
other; the pushes that follow are queued once the transaction has committed.
"""

from django.db import transaction
from django.utils import timezone

from integrations.exceptions import IntegrationError, ProviderDataError
from integrations.models import AuditEvent, Connection, ExternalItem
from library.batch import Batch, list_fields
from library.linking import _titles
from library.models import LibraryConflict, LibraryEntry, LibraryPush, MediaTitle
from library.push import library_pushes_enqueue
from library.terms import TERMS

# Messages people see; tests import them.
LINK_SAME_ENTRY = "An entry cannot be linked with itself."
LINK_OTHER_KIND = "Only two anime or two manga can be linked."
LINK_SAME_SERVICE = (
    "Both entries are on {name}: unlink one of them there first, so each service has one "
    "record of the title."
)
UNLINK_ONLY_ITEM = "This is the entry's only service: there is nothing to unlink it from."
UNLINK_NOT_LIVE = "{name} no longer has this title: there is nothing to unlink."
UNLINK_BAD_VALUES = "{name}'s values for this title cannot be read, so it cannot be unlinked."
# Pushes decided for the old pairing that have not gone out: the reconcile decides anew.
_UNSENT = (LibraryPush.State.PENDING, LibraryPush.State.FAILED,
           LibraryPush.State.WAITING_RECONNECT)


class LibraryLinkError(IntegrationError):
    """A link or unlink that cannot be done; ``message`` says why."""


def library_entries_link(*, user, keep: LibraryEntry, other: LibraryEntry,
                         actor: str = "") -> LibraryEntry:
    """Make ``other`` part of ``keep``: its service items, conflicts and push history move to
    ``keep`` and ``other`` is deleted. ``keep``'s title learns none of ``other``'s cross-ids
    (titles are shared by everyone; a hand-made link is one person's). Refused when both
    entries are on one service, or are not the same kind."""
    with transaction.atomic():
        entries = {entry.pk: entry for entry in LibraryEntry.objects.select_for_update(
            of=("self",)).select_related("title").filter(user=user, pk__in=[keep.pk, other.pk])}
        if keep.pk == other.pk:
            raise LibraryLinkError(LINK_SAME_ENTRY, code="same_entry")
        if len(entries) != 2:
            raise LibraryEntry.DoesNotExist  # one of them is not the person's
        keep, other = entries[keep.pk], entries[other.pk]
        if keep.title.kind != other.title.kind:
            raise LibraryLinkError(LINK_OTHER_KIND, code="other_kind")
        items = list(ExternalItem.objects.select_for_update(of=("self",))
                     .select_related("connection")
                     .filter(library_entry__in=[keep, other]))
        kept = {item.connection_id for item in items if item.library_entry_id == keep.pk}
        moved = [item for item in items if item.library_entry_id == other.pk]
        for item in moved:
            if item.connection_id in kept:
                raise LibraryLinkError(LINK_SAME_SERVICE.format(
                    name=item.connection.provider_name), code="same_service")
        now = timezone.now()
        for item in moved:
            item.library_entry = keep
            # Never synced with ``keep``: no base, so the reconcile compares both sides (a
            # removal already accounted for stays so).
            synced = item.synced if isinstance(item.synced, dict) else {}
            item.synced = {key: synced[key] for key in ("updated_at", "at", "removed")
                           if key in synced}
        ExternalItem.objects.bulk_update(moved, ["library_entry", "synced"])
        other.pushes.filter(state__in=_UNSENT).delete()
        LibraryPush.objects.filter(entry=other).update(entry=keep)
        LibraryConflict.objects.filter(entry=other).update(entry=keep)
        other_name, other_pk = str(other.title), other.pk
        other.delete()
        batch = _reconcile(keep, moved, [item for item in items if item not in moved], now)
        AuditEvent.objects.create(
            user=user, provider="library", action=AuditEvent.Action.SETTINGS_CHANGED,
            message=f"Library entry {other_pk} ({other_name[:150]}) linked into entry "
                    f"{keep.pk} ({str(keep.title)[:150]})",
            actor=actor[:100])
        library_pushes_enqueue(batch.sendable)
    return keep


def _reconcile(entry: LibraryEntry, items: list[ExternalItem], others: list[ExternalItem],
               now) -> Batch:
    """Reconcile ``items`` with ``entry``; when that changes the entry, pass it on to the
    entry's ``others`` (as a pull does)."""
    connections = {item.connection_id: item.connection for item in [*items, *others]}
    batch = Batch(now=now, fields=list_fields(connections.values()))
    for item in items:
        batch.reconcile(entry, item, item.connection)
    if entry.pk in batch.changed_entries:
        for item in others:
            batch.reconcile(batch.entry(entry), item, item.connection)
    batch.write(connections)
    return batch


def library_item_unlink(*, item: ExternalItem, actor: str = "") -> LibraryEntry:
    """Give ``item`` an entry of its own, with the service's values, leaving the entry it was
    linked to with its other services.

    The new entry's title is a new MediaTitle with the service's names and no cross-ids: the
    ids belong to the shared title, which other people's entries may use, and the item's own id
    there would link it back. So the next pulls keep the item where it is (a linked item is
    never matched again), and nothing else is matched to the new title by id."""
    connection: Connection = item.connection
    name = connection.provider_name
    terms = TERMS.get(connection.provider)
    with transaction.atomic():
        item = (ExternalItem.objects.select_for_update(of=("self",))
                .select_related("library_entry__title").get(pk=item.pk))
        entry = item.library_entry
        if entry is None or item.deleted_at is not None or terms is None:
            raise LibraryLinkError(UNLINK_NOT_LIVE.format(name=name), code="not_live")
        if not entry.external_items.exclude(pk=item.pk).filter(
                deleted_at__isnull=True).exists():
            raise LibraryLinkError(UNLINK_ONLY_ITEM, code="only_item")
        kind = entry.title.kind
        attrs = item.attrs if isinstance(item.attrs, dict) else {}
        try:
            theirs = terms.read(attrs, kind=kind)
        except ProviderDataError:
            raise LibraryLinkError(UNLINK_BAD_VALUES.format(name=name),
                                   code="bad_values") from None
        now = timezone.now()
        title = MediaTitle.objects.create(kind=kind, titles=_titles(item))
        values = {field: terms.to_library(field, value, kind=kind)
                  for field, value in theirs.items()}
        new = LibraryEntry.objects.create(
            user_id=entry.user_id, title=title, **values,
            status_changed_at=now, progress_changed_at=now, score_changed_at=now)
        # What the old entry meant to send this service is not this title's any more.
        entry.pushes.filter(connection=connection, state__in=_UNSENT).delete()
        item.library_entry = new
        item.synced = {**theirs, "updated_at": attrs.get("updated_at")
                       if isinstance(attrs.get("updated_at"), int) else None,
                       "at": now.isoformat()}
        item.save(update_fields=["library_entry", "synced"])
        AuditEvent.objects.create(
            user_id=entry.user_id, provider=connection.provider, connection_ref=connection.pk,
            action=AuditEvent.Action.SETTINGS_CHANGED,
            message=f"Library: {name}'s item {item.external_id[:50]} unlinked from entry "
                    f"{entry.pk} ({str(entry.title)[:150]}) into entry {new.pk}",
            actor=actor[:100])
    return new
