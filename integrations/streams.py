"""One stream of one run: page, map, upsert by content hash, checkpoint, soft-delete."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone

from .exceptions import ProviderDataError
from .http import ApiClient
from .models import Connection, ExternalItem, StreamState, SyncRun
from .providers.base import MappedItem, Provider, Stream

# Bulk writes are chunked so one statement never carries more rows than SQLite allows.
CHUNK = 500


@dataclass
class StreamCounters:
    pages: int = 0
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def add(self, other: StreamCounters) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def content_hash(item: MappedItem) -> str:
    """Hash of what the mapping produced (before enrichment), to skip unchanged records."""
    body = json.dumps([item.title, item.attrs], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def map_safely(stream: Stream, record, segment) -> MappedItem:
    """The stream's mapping, with any shape error turned into the engine's own error."""
    try:
        item = stream.map_record(record, segment)
    except ProviderDataError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ProviderDataError(
            f"a {stream.label.lower()} record has an unexpected shape ({type(exc).__name__})"
        ) from None
    if not isinstance(item, MappedItem) or not item.external_id:
        raise ProviderDataError(f"a {stream.label.lower()} record has no id")
    return item


class StreamSync:
    def __init__(self, *, run: SyncRun, connection: Connection, provider: Provider,
                 stream: Stream, client: ApiClient) -> None:
        self.sync_run = run
        self.connection = connection
        self.provider = provider
        self.stream = stream
        self.client = client
        self.counters = StreamCounters()
        self.seen: set[str] = set()

    def run(self, *, full: bool) -> StreamCounters:
        params = self.provider.connection_params(self.connection)
        for segment in self.stream.segments:
            path = self.stream.path.format(**params, **segment)
            request = self.stream.paginator.first(path, dict(self.stream.params))
            while request is not None:
                payload = self.client.get_json(request.url, request.params)
                page = self.stream.paginator.parse(
                    payload, request, base_url=self.client.base_url
                )
                self._upsert([map_safely(self.stream, r, segment) for r in page.records])
                self.counters.pages += 1
                self.counters.fetched += len(page.records)
                self._checkpoint(segment, page.next)
                request = page.next
        if full:
            self._soft_delete_missing()
        self._checkpoint(None, None, done=True)
        return self.counters

    def _upsert(self, items: list[MappedItem]) -> None:
        unique: dict[str, MappedItem] = {}
        for item in items:
            unique.setdefault(item.external_id, item)  # first wins within a page
        self.seen.update(unique)
        existing = {
            row.external_id: row
            for row in ExternalItem.objects.filter(
                connection=self.connection, kind=self.stream.kind, external_id__in=list(unique)
            ).only("pk", "external_id", "content_hash", "deleted_at")
        }
        now = timezone.now()
        to_create, to_update = [], []
        for external_id, item in unique.items():
            digest = content_hash(item)
            row = existing.get(external_id)
            if row is not None and row.content_hash == digest and row.deleted_at is None:
                self.counters.unchanged += 1
                continue
            if self.stream.enrich is not None:
                item = self.stream.enrich(self.client, item)
            if row is None:
                to_create.append(ExternalItem(
                    connection=self.connection, kind=self.stream.kind, external_id=external_id,
                    title=item.title[:500], attrs=item.attrs, content_hash=digest,
                ))
            else:
                row.title, row.attrs, row.content_hash = item.title[:500], item.attrs, digest
                row.deleted_at, row.last_seen_at = None, now
                to_update.append(row)
        with transaction.atomic():
            ExternalItem.objects.bulk_create(to_create, batch_size=CHUNK)
            ExternalItem.objects.bulk_update(
                to_update, ["title", "attrs", "content_hash", "deleted_at", "last_seen_at"],
                batch_size=CHUNK,
            )
        self.counters.created += len(to_create)
        self.counters.updated += len(to_update)

    def _checkpoint(self, segment, next_request, *, done: bool = False) -> None:
        cursor = {"completed_at": timezone.now().isoformat()} if done else {
            "segment": dict(segment or {}),
            "next_url": next_request.url if next_request else None,
            "next_params": next_request.params if next_request else None,
        }
        StreamState.objects.update_or_create(
            connection=self.connection, stream=self.stream.name, defaults={"cursor": cursor}
        )
        SyncRun.objects.filter(pk=self.sync_run.pk).update(
            progress=f"{self.stream.label}: {self.counters.fetched} fetched, "
                     f"{self.counters.pages} pages"
        )

    def _soft_delete_missing(self) -> None:
        """After a complete full pass, items the provider no longer lists are marked deleted."""
        alive = ExternalItem.objects.filter(
            connection=self.connection, kind=self.stream.kind, deleted_at__isnull=True
        ).values_list("pk", "external_id")
        gone = [pk for pk, external_id in alive if external_id not in self.seen]
        for start in range(0, len(gone), CHUNK):
            ExternalItem.objects.filter(pk__in=gone[start:start + CHUNK]).update(
                deleted_at=timezone.now()
            )
        self.counters.deleted += len(gone)
