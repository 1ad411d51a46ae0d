"""One stream of one run: plan, page, map, upsert by content hash, checkpoint, soft-delete.

A pass is *full* (every record; afterwards the records not seen are soft-deleted) or
*incremental* (only records changed since the stream's cursor, asked for with the provider's
``since`` parameter and an ETag). After every page the next request is checkpointed in
StreamState, so a run that was killed resumes where it stopped; a resumed pass never deletes,
because it did not see the records of the pages before the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import clock
from .exceptions import CursorRejected, LeaseLost, ProviderDataError
from .http import ApiClient
from .limits import ItemLimits, limit_item
from .models import Connection, ExternalItem, StreamState, SyncRun
from .pagination import Page, same_origin
from .providers.base import MappedItem, Provider, Stream
from .wire import ApiRequest

logger = logging.getLogger(__name__)

# Bulk writes are chunked so one statement never carries more rows than SQLite allows.
CHUNK = 500
LEASE_RENEW_SECONDS = 15
PROGRESS_EVERY_SECONDS = 1.0

# Messages people see (the run's and the stream's error); tests import them.
PAGE_REPEATED = (
    "{name} sent a page of {label} that this sync had already read, so it would never end; "
    "the listing was stopped. The next sync starts it again."
)
UNUSABLE_PAGE = "{name} sent {label} that could not be used: {reason}."
TOO_MANY_PAGES = (
    "{name} listed more than {pages} pages of {label} without saying it was done; the listing "
    "was stopped. The next sync starts it again."
)


class PagingStopped(ProviderDataError):
    """A pass that would never end: a repeated page, or more pages than the stream's cap."""


@dataclass
class StreamCounters:
    pages: int = 0
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0  # records over the stream's size limits (integrations/limits.py)

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
        # The exception's class helps staff, not people: it goes to the log only.
        logger.info("a %s record did not map: %s", stream.name, type(exc).__name__)
        raise ProviderDataError(
            f"a {stream.label.lower()} record has an unexpected shape"
        ) from None
    if not isinstance(item, MappedItem) or not item.external_id:
        raise ProviderDataError(f"a {stream.label.lower()} record has no id")
    return item


@dataclass
class Pass:
    """Where a pass starts and what it has seen so far (the checkpoint's content)."""

    mode: str  # SyncRun.Mode
    segment: int = 0
    request: ApiRequest | None = None  # None: the segment's first page
    since: Any = None  # the cursor value sent as the since parameter
    max_seen: Any = None  # the newest cursor value among the records seen (or handed out)
    from_start: bool = True  # started at the first page in this run: may soft-delete
    etag: str = ""  # ETag of the pass's first page
    resumed: bool = False
    seen: set[str] = field(default_factory=set)
    segment_value: dict | None = None  # the segment a resumed pass was in, when checkpointed

    def checkpoint(self, next_request: ApiRequest | None, segment: int,
                   segment_value: dict | None) -> dict:
        return {
            "mode": self.mode, "segment": segment, "segment_value": segment_value,
            "since": self.since,
            "max_seen": self.max_seen, "etag": self.etag,
            # The whole next request (method, URL, params, body): a GraphQL or cursor pass
            # resumes exactly where it stopped.
            "request": next_request.as_checkpoint() if next_request else None,
            "at": timezone.now().isoformat(),
        }


def _parse_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


class ConsentWithdrawn(Exception):
    """Every purpose the stream serves was withdrawn while it ran: it stops before the next page."""


class StreamSync:
    def __init__(self, *, run: SyncRun, connection: Connection, provider: Provider,
                 stream: Stream, client: ApiClient,
                 consented: Callable[[], bool] | None = None) -> None:
        self.sync_run = run
        self.connection = connection
        self.provider = provider
        self.stream = stream
        self.client = client
        # Asked before every page after the first: consent may be withdrawn mid-stream.
        self.consented = consented
        self.counters = StreamCounters()
        self.not_modified = False
        self.mode = ""
        self._lease_renewed = clock.now()
        self._progress_at = timezone.now() - timedelta(seconds=PROGRESS_EVERY_SECONDS)
        self._started_empty = False
        self.limits = ItemLimits.of(stream)
        self.state, _ = StreamState.objects.get_or_create(
            connection=connection, stream=stream.name
        )

    # -- planning -----------------------------------------------------------------------------
    def plan(self, *, full: bool) -> Pass:
        cursor = self.state.cursor or {}
        checkpoint = cursor.get("checkpoint")
        max_age = timedelta(seconds=settings.THINKALIKE_CHECKPOINT_MAX_AGE_SECONDS)
        saved_at = _parse_time((checkpoint or {}).get("at"))
        if checkpoint and saved_at and timezone.now() - saved_at < max_age and not (
            full and checkpoint.get("mode") != SyncRun.Mode.FULL
        ):
            # (A checkpoint of the older format kept only "url": not resumed.)
            saved = checkpoint.get("request", checkpoint.get("url"))
            request = ApiRequest.from_checkpoint(saved)
            # An unreadable saved request (an older format, a hand-edited row) is not resumed.
            usable = request is None if saved is None else request is not None and same_origin(
                self.client.absolute(request.url), self.client.base_url)
            segment = checkpoint.get("segment", 0)
            usable = usable and checkpoint.get("mode") in SyncRun.Mode.values and (
                type(segment) is int and segment >= 0)
            if usable:
                return Pass(mode=checkpoint["mode"], segment=checkpoint.get("segment", 0),
                            request=request, since=self._usable_cursor(checkpoint.get("since")),
                            max_seen=self._usable_cursor(checkpoint.get("max_seen")),
                            etag=checkpoint.get("etag", ""), from_start=False, resumed=True,
                            segment_value=checkpoint.get("segment_value"))
            # A checkpoint off the API's origin (saved before next URLs were checked, or the
            # base moved), or one that is not a request, is dropped: resuming would fail every
            # run until it expired.
        since = self._usable_cursor(cursor.get("since"))
        if not full and since is not None and self._incremental_allowed(cursor):
            return Pass(mode=SyncRun.Mode.INCREMENTAL, since=since, max_seen=since)
        return Pass(mode=SyncRun.Mode.FULL, max_seen=since)

    def _usable_cursor(self, value: Any) -> Any:
        """A stored cursor value, or None when it is not one of this stream's cursor type (the
        type changed, or the row was edited by hand)."""
        if value is None or self.stream.cursor is None or not self.stream.cursor.valid(value):
            return None
        return value

    def _incremental_allowed(self, cursor: dict) -> bool:
        if not self.stream.incremental:
            return False
        last_full = _parse_time(cursor.get("full_completed_at"))
        full_every = timedelta(hours=settings.THINKALIKE_FULL_SYNC_EVERY_HOURS)
        # A periodic full pass is the only way to notice records deleted at the provider.
        return last_full is not None and timezone.now() - last_full < full_every

    # -- running ------------------------------------------------------------------------------
    def run(self, *, full: bool) -> StreamCounters:
        plan = self.plan(full=full)
        self.mode = plan.mode
        try:
            self._run_pass(plan)
        except CursorRejected:
            if plan.mode != SyncRun.Mode.INCREMENTAL:
                raise
            # The provider no longer accepts our cursor: start again with everything.
            self.mode = SyncRun.Mode.FULL
            self._run_pass(Pass(mode=SyncRun.Mode.FULL))
        return self.counters

    def _first_request(self, plan: Pass, segment_params: dict) -> ApiRequest:
        context = {**self.provider.connection_params(self.connection), **segment_params}
        request = self.stream.first_request(context)
        cursor = self.stream.cursor
        if (plan.mode == SyncRun.Mode.INCREMENTAL and cursor is not None
                and plan.since is not None and self.stream.since_param):
            request = request.with_params(**{self.stream.since_param: cursor.param(plan.since)})
        return self.stream.paginator.first(request)

    def _run_pass(self, plan: Pass) -> None:
        segments = self.stream.segments_for(self.client, self.connection)
        if plan.resumed and plan.segment_value is not None and (
                plan.segment >= len(segments) or segments[plan.segment] != plan.segment_value):
            # The discovered segments changed since the checkpoint: the saved request belongs
            # to another one. Start again from the first (and delete nothing: not from_start).
            plan.segment, plan.request, plan.resumed = 0, None, False
        self.segment_values = segments
        # With no rows at the start, the only rows that can exist are those this pass wrote,
        # all in plan.seen: new ids need no lookup (a tenth of a full sync's time).
        self._started_empty = not ExternalItem.objects.filter(
            connection=self.connection, kind=self.stream.kind
        ).exists()
        for index in range(plan.segment, len(segments)):
            segment = segments[index]
            request = plan.request if index == plan.segment and plan.request else (
                self._first_request(plan, dict(segment)))
            is_first_page = not plan.resumed or index > plan.segment
            visited: set[str] = set()
            ids_seen: set[str] = set()  # this segment's, in this run: a page of only these loops
            while request is not None:
                if self.counters.pages and self.consented is not None and not self.consented():
                    raise ConsentWithdrawn
                visited.add(self._request_key(request))
                etag = self.stream_etag_for(plan, index, request, is_first_page)
                fetched = self.stream.fetch_page(self.client, request, etag=etag)
                if fetched.not_modified:
                    self.not_modified = True
                    request = None
                    break
                if is_first_page and index == 0 and fetched.etag:
                    plan.etag = fetched.etag
                try:
                    page = self.stream.paginator.parse(
                        fetched, request, base_url=self.client.base_url
                    )
                    items = [map_safely(self.stream, r, segment) for r in page.records]
                except ProviderDataError as exc:
                    raise self._unusable(exc) from None
                self._track_cursor(plan, page)
                self._upsert(items, plan.seen)
                self.counters.pages += 1
                self.counters.fetched += len(page.records)
                ids = {item.external_id for item in items}
                if page.next is not None:
                    # After the upsert: the records of the last page allowed are kept.
                    self._check_next(page.next, visited, nothing_new=bool(ids) and ids <= ids_seen)
                ids_seen |= ids
                self._checkpoint(plan, page.next, index if page.next else index + 1)
                request = page.next
                is_first_page = False
        # Only a pass that saw everything the provider has may conclude that the rest is gone.
        if (plan.mode == SyncRun.Mode.FULL and plan.from_start
                and getattr(self.stream.paginator, "reads_everything", True)):
            self._soft_delete_missing(plan.seen)
        self._complete(plan)

    def _unusable(self, exc: ProviderDataError) -> ProviderDataError:
        """The paginator's or mapping's complaint, said for people (who sent what)."""
        message = UNUSABLE_PAGE.format(name=self.provider.name, label=self.stream.label.lower(),
                                       reason=exc.message)
        return type(exc)(message, code=exc.code)

    def _request_key(self, request: ApiRequest) -> str:
        """One string per distinct request: absolute URL, query and params merged and sorted."""
        parts = urlsplit(self.client.absolute(request.url))
        query = parse_qsl(parts.query, keep_blank_values=True)
        query += [(str(k), str(v)) for k, v in request.params.items()]
        body = json.dumps([request.json, request.data], sort_keys=True, default=str)
        return (f"{request.method} {parts.scheme}://{parts.netloc.lower()}{parts.path}"
                f"?{urlencode(sorted(query))} {body}")

    def _check_next(self, request: ApiRequest, visited: set[str], *, nothing_new: bool) -> None:
        """Stop a pass that would never end, before its next request is checkpointed: the next
        request was already made, the page just read held only records this pass had already
        seen (a source that ignores its page parameter), or the stream's page cap is reached.

        The checkpoint is dropped as well, so the next run starts the stream from its first page
        instead of resuming into the same loop.
        """
        name, label = self.provider.name, self.stream.label.lower()
        if nothing_new or self._request_key(request) in visited:
            message = PAGE_REPEATED.format(name=name, label=label)
        elif request.number > self.stream.max_pages:
            message = TOO_MANY_PAGES.format(name=name, label=label, pages=self.stream.max_pages)
        else:
            return
        cursor = dict(self.state.cursor or {})
        if cursor.pop("checkpoint", None) is not None:
            self.state.cursor = cursor
            StreamState.objects.filter(pk=self.state.pk).update(cursor=cursor)
        raise PagingStopped(message)

    def stream_etag_for(self, plan: Pass, index: int, request: ApiRequest,
                        is_first_page: bool) -> str:
        """The ETag to send: only for the first page of an incremental pass, and only when
        that request is exactly the one the stored ETag answered.

        Never in a full pass: a 304 ends the pass having seen nothing, and a full pass deletes
        what it did not see."""
        cursor = self.state.cursor or {}
        if not (plan.mode == SyncRun.Mode.INCREMENTAL and is_first_page and index == 0):
            return ""
        if self.stream.since_param and cursor.get("etag_since") != plan.since:
            return ""
        return cursor.get("etag", "")

    def _track_cursor(self, plan: Pass, page: Page) -> None:
        if self.stream.cursor is not None:
            plan.max_seen = self.stream.cursor.newest(page.records, plan.max_seen,
                                                      token=page.cursor)

    # -- storage ------------------------------------------------------------------------------
    def _upsert(self, items: list[MappedItem], seen: set[str]) -> None:
        unique: dict[str, MappedItem] = {}
        for item in items:
            if item.external_id in unique:
                continue  # first wins within a page
            limited = limit_item(item, self.limits)
            if limited is None:
                # Too large to store: counted, and kept out of the soft-delete (whatever was
                # stored for it before stays).
                self.counters.skipped += 1
                seen.add(item.external_id)
                continue
            unique[item.external_id] = limited
        lookup = [i for i in unique if i in seen] if self._started_empty else list(unique)
        seen.update(unique)
        existing = {
            row.external_id: row
            for row in ExternalItem.objects.filter(
                connection=self.connection, kind=self.stream.kind, external_id__in=lookup
            ).only("pk", "external_id", "content_hash", "deleted_at")
        } if lookup else {}
        now = timezone.now()
        to_create, to_update = [], []
        for external_id, item in unique.items():
            digest = content_hash(item)
            row = existing.get(external_id)
            if row is not None and row.content_hash == digest and row.deleted_at is None:
                self.counters.unchanged += 1
                continue
            if self.stream.enrich is not None:
                item = limit_item(self.stream.enrich(self.client, item), self.limits)
                if item is None:
                    self.counters.skipped += 1
                    continue
            if row is None:
                to_create.append(ExternalItem(
                    connection=self.connection, kind=self.stream.kind, external_id=external_id,
                    title=item.title, attrs=item.attrs, content_hash=digest,
                ))
            else:
                row.title, row.attrs, row.content_hash = item.title, item.attrs, digest
                row.deleted_at, row.last_seen_at = None, now
                to_update.append(row)
        if to_create or to_update:
            with transaction.atomic():
                ExternalItem.objects.bulk_create(to_create, batch_size=CHUNK)
                ExternalItem.objects.bulk_update(
                    to_update, ["title", "attrs", "content_hash", "deleted_at", "last_seen_at"],
                    batch_size=CHUNK,
                )
        self.counters.created += len(to_create)
        self.counters.updated += len(to_update)

    def _checkpoint(self, plan: Pass, next_request: ApiRequest | None, segment: int) -> None:
        """Save where to resume, show progress, and renew the run's lease on the connection."""
        at_end = next_request is None and segment >= len(self.segment_values)
        cursor = dict(self.state.cursor or {})
        if at_end:
            cursor.pop("checkpoint", None)
        else:
            value = self.segment_values[segment] if segment < len(self.segment_values) else None
            cursor["checkpoint"] = plan.checkpoint(next_request, segment, value)
        self.state.cursor = cursor
        StreamState.objects.filter(pk=self.state.pk).update(cursor=cursor)
        now = timezone.now()
        if (now - self._progress_at).total_seconds() >= PROGRESS_EVERY_SECONDS:
            self._progress_at = now  # the page polls once a second; more would be waste
            SyncRun.objects.filter(pk=self.sync_run.pk).update(
                progress=f"{self.stream.label}: {self.counters.fetched} fetched, "
                         f"{self.counters.pages} pages"
            )
        self._renew_lease()

    def _renew_lease(self) -> None:
        now = clock.now()  # the lease's clock, which tests can drive
        token = self.sync_run.claim_token
        if token is None or (now - self._lease_renewed).total_seconds() < LEASE_RENEW_SECONDS:
            return
        renewed = Connection.objects.filter(
            pk=self.connection.pk, sync_claim_token=token
        ).update(sync_claimed_at=now)
        if not renewed:
            raise LeaseLost("Another run took over this connection; this one stopped.")
        self._lease_renewed = now

    def _complete(self, plan: Pass) -> None:
        cursor = dict(self.state.cursor or {})
        cursor.pop("checkpoint", None)
        now = timezone.now().isoformat()
        cursor["completed_at"] = now
        if plan.max_seen is not None:
            cursor["since"] = plan.max_seen
        if plan.mode == SyncRun.Mode.FULL and plan.from_start:
            cursor["full_completed_at"] = now
        # Valid for the next run only if it asks the very same question: the same since value,
        # or any pass at all of a stream that sends none (its first request never changes).
        same_question = plan.mode == SyncRun.Mode.INCREMENTAL or not self.stream.since_param
        if same_question and plan.etag:
            cursor["etag"], cursor["etag_since"] = plan.etag, plan.since
        elif not self.not_modified:
            cursor.pop("etag", None)
            cursor.pop("etag_since", None)
        if cursor != self.state.cursor:
            self.state.cursor = cursor
            StreamState.objects.filter(pk=self.state.pk).update(cursor=cursor)

    def _soft_delete_missing(self, seen: set[str]) -> None:
        """After a complete full pass, items the provider no longer lists are marked deleted."""
        alive = ExternalItem.objects.filter(
            connection=self.connection, kind=self.stream.kind, deleted_at__isnull=True
        ).values_list("pk", "external_id")
        gone = [pk for pk, external_id in alive if external_id not in seen]
        for start in range(0, len(gone), CHUNK):
            ExternalItem.objects.filter(pk__in=gone[start:start + CHUNK]).update(
                deleted_at=timezone.now()
            )
        self.counters.deleted += len(gone)
