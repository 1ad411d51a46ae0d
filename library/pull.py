"""After a pull: link new list items to the library, then reconcile every linked item of the
connection with its entry, and pass what changed here on to the person's other services.

No network: this reads what the sync stored and writes pushes for library/push.py to send.
One transaction per chunk, a constant number of queries each (benchmarks/library.py), and an
unchanged re-sync writes nothing and pushes nothing.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import Connection, ExternalItem
from library import statuses
from library.batch import Batch, list_fields
from library.linking import LinkResult, library_link_connection
from library.models import LibraryEntry, ListSyncSettings
from library.push import library_pushes_enqueue
from library.terms import TERMS

logger = logging.getLogger(__name__)

CHUNK = 200


@dataclass(frozen=True)
class MergeResult:
    linked: LinkResult
    reconciled: int = 0
    applied: int = 0  # entries changed here
    conflicts: int = 0
    pushes: int = 0


def library_pull_merge(*, connection: Connection, full: bool = False) -> MergeResult:
    """Link and reconcile ``connection``'s list items (a list service's, else nothing): those
    changed since the last merge began, or all of them with ``full``."""
    if connection.provider not in TERMS:
        return MergeResult(LinkResult())
    started = timezone.now()
    settings, _ = ListSyncSettings.objects.get_or_create(connection=connection)
    linked = library_link_connection(connection=connection)
    items = ExternalItem.objects.filter(connection=connection, kind__in=statuses.KINDS,
                                        library_entry__isnull=False)
    if settings.merged_at is not None and not full:
        # A pull stamps what it writes (last_seen_at) and what it removes (deleted_at); a link
        # stamps nothing, so new links are looked at by their first sighting as well.
        since = settings.merged_at
        items = items.filter(Q(last_seen_at__gte=since) | Q(deleted_at__gte=since)
                             | Q(first_seen_at__gte=since) | Q(synced__at__isnull=True))
    reconciled = applied = conflicts = pushes = 0
    after = 0
    while True:
        with transaction.atomic():
            chunk = _locked_chunk(items, after)
            if not chunk:
                break
            after = chunk[-1].pk
            batch = _reconcile_chunk(connection, chunk)
            reconciled += len(chunk)
            applied += len(batch.changed_entries)
            conflicts += len(batch.conflicts)
            pushes += len(batch.pushes)
            library_pushes_enqueue(batch.sendable)
    ListSyncSettings.objects.filter(pk=settings.pk).update(merged_at=started)
    return MergeResult(linked, reconciled, applied, conflicts, pushes)


def _locked_chunk(items, after: int) -> list[ExternalItem]:
    """The next chunk, locked entries first, then items (the order a local edit takes too,
    library/services.py): a merge never writes back an entry read before an edit committed."""
    ids = list(items.filter(pk__gt=after).order_by("pk").values_list("pk", "library_entry_id")
               [:CHUNK])
    if not ids:
        return []
    entries = LibraryEntry.objects.select_for_update().filter(
        pk__in={entry for _, entry in ids}).order_by("pk").in_bulk()
    chunk = list(ExternalItem.objects.select_for_update().filter(
        pk__in=[pk for pk, _ in ids], library_entry__isnull=False).order_by("pk"))
    for item in chunk:
        item.library_entry = entries.get(item.library_entry_id)
    return [item for item in chunk if item.library_entry is not None]


def _reconcile_chunk(connection: Connection, items: list[ExternalItem]) -> Batch:
    fields = list_fields([connection])
    batch = Batch(now=timezone.now(), fields=fields)
    for item in items:
        batch.reconcile(item.library_entry, item, connection)
    connections = {connection.pk: connection}
    if batch.changed_entries:
        # What changed here goes on to the person's other services holding the same entries
        # (their base tells whether they hold it already).
        # Their entries are locked already (this chunk's); their items are locked here.
        others = list(ExternalItem.objects.select_for_update(of=("self",))
                      .select_related("connection").filter(
            library_entry__in=batch.changed_entries, connection__user_id=connection.user_id,
            connection__provider__in=list(TERMS)).exclude(connection=connection).order_by("pk"))
        connections.update({other.connection_id: other.connection for other in others})
        batch.fields.update(list_fields(c for c in connections.values() if c != connection))
        for other in others:
            batch.reconcile(batch.entries[other.library_entry_id], other, other.connection,
                            pass_on=True)
    batch.write(connections)
    return batch
