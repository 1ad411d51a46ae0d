"""After a pull: link new list items to the library, then reconcile every linked item of the
connection with its entry, and pass what changed here on to the person's other services.

No network: this reads what the sync stored and writes pushes for library/push.py to send.
One transaction per chunk, a constant number of queries each (benchmarks/library.py), and an
unchanged re-sync writes nothing and pushes nothing.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from integrations.models import Connection, ExternalItem
from library import statuses
from library.batch import Batch, list_fields
from library.linking import LinkResult, library_link_connection
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


def library_pull_merge(*, connection: Connection) -> MergeResult:
    """Link and reconcile ``connection``'s list items (a list service's, else nothing)."""
    if connection.provider not in TERMS:
        return MergeResult(LinkResult())
    linked = library_link_connection(connection=connection)
    reconciled = applied = conflicts = pushes = 0
    after = 0
    while True:
        with transaction.atomic():
            items = list(ExternalItem.objects.select_for_update(of=("self",))
                         .select_related("library_entry__title")
                         .filter(connection=connection, kind__in=statuses.KINDS,
                                 library_entry__isnull=False, pk__gt=after)
                         .order_by("pk")[:CHUNK])
            if not items:
                break
            after = items[-1].pk
            batch = _reconcile_chunk(connection, items)
            reconciled += len(items)
            applied += len(batch.changed_entries)
            conflicts += len(batch.conflicts)
            pushes += len(batch.pushes)
            library_pushes_enqueue(batch.sendable)
    return MergeResult(linked, reconciled, applied, conflicts, pushes)


def _reconcile_chunk(connection: Connection, items: list[ExternalItem]) -> Batch:
    # The other services' items of the same entries: a change from this service is passed on
    # to them (their base tells whether they hold it already).
    others = list(ExternalItem.objects.select_related("connection").filter(
        library_entry__in=[item.library_entry_id for item in items],
        connection__user_id=connection.user_id, connection__provider__in=list(TERMS),
    ).exclude(connection=connection))
    connections = {connection.pk: connection,
                   **{other.connection_id: other.connection for other in others}}
    batch = Batch(now=timezone.now(), fields=list_fields(connections.values()))
    for item in items:
        batch.reconcile(item.library_entry, item, connection)
    for other in others:
        if other.library_entry_id in batch.changed_entries:
            batch.reconcile(batch.entries[other.library_entry_id], other, other.connection)
    batch.write(connections)
    return batch
