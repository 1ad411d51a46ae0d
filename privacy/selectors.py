"""Read queries of the Your data pages: what is held about a person, where from, and why.

Every lookup is scoped to the person. The interests shown per item are computed with the
provider's own ``Stream.interests(attrs)``, the function integrations/interests.py derives the
stored UserInterests from, so this page can never tell a different story than matching receives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Min, OuterRef, Q, Subquery
from django.utils.dateparse import parse_datetime

from consent.purposes import PURPOSES, Purpose
from consent.selectors import allows_from_map, consent_map
from integrations.models import (
    Connection,
    ExternalItem,
    Interest,
    StreamState,
    SyncRun,
    UserInterest,
)
from integrations.providers.base import InterestSignal, Provider, Stream, no_interests
from integrations.providers.retired import is_retired, provider_or_retired

ITEMS_PER_PAGE = 50
# The interest page scans items to find those behind an interest: it stops after this many
# found, or after this many read (a rare interest among many items), whichever comes first.
INTEREST_ITEMS_LIMIT = 200
INTEREST_SCAN_LIMIT = 20_000
SCAN_CHUNK = 2000


@dataclass(frozen=True)
class PurposeNow:
    """A purpose a stream serves, and whether consent allows it now for that provider."""

    purpose: Purpose
    allowed: bool


@dataclass(frozen=True)
class HeldData:
    """The live items of one kind of one connection: how many, first seen when."""

    items: int = 0
    oldest: datetime | None = None  # the earliest first_seen_at: when we first stored one
    newest: datetime | None = None  # the latest first_seen_at


@dataclass(frozen=True)
class StreamSummary:
    stream: Stream
    held: HeldData
    enabled: bool  # the person's per-stream toggle on the connection
    connection_syncs: bool  # the connection is active with sync on: no stream syncs otherwise
    # When a pass of the stream last completed (its cursor's "completed_at", written by the sync
    # engine at the end of every full or incremental pass, a 304 "nothing new" included).
    last_fetched: datetime | None
    # This stream's outcome in the connection's latest finished run: "succeeded", "skipped"...
    last_run_status: str
    purposes: list[PurposeNow]

    @property
    def allowed_now(self) -> bool:
        return any(p.allowed for p in self.purposes)

    @property
    def syncs(self) -> bool:
        return self.connection_syncs and self.enabled and self.allowed_now


@dataclass(frozen=True)
class UndeclaredKind:
    """Items of a kind no declared stream writes (a retired provider's, a removed stream's)."""

    kind: str
    held: HeldData


@dataclass(frozen=True)
class ConnectionSummary:
    connection: Connection
    provider: Provider
    retired: bool
    streams: list[StreamSummary]
    undeclared: list[UndeclaredKind]
    latest_run: SyncRun | None

    @property
    def items(self) -> int:
        return (sum(s.held.items for s in self.streams)
                + sum(u.held.items for u in self.undeclared))


@dataclass(frozen=True)
class PurposeTotal:
    purpose: Purpose
    interests: int  # distinct interests stored for the purpose, from every connection
    usable_now: int  # of which consent lets the purpose use now (from an allowed provider)


@dataclass(frozen=True)
class YourData:
    connections: list[ConnectionSummary]
    purposes: list[PurposeTotal]

    @property
    def items(self) -> int:
        return sum(c.items for c in self.connections)


def _owners_by_kind(provider: Provider) -> dict[str, Stream]:
    """The stream each kind's items belong to, exactly as weights_by_purpose picks it
    (integrations/interests.py): the last declared stream of that kind. Providers declare one
    kind per stream; should two share one, the items are counted and explained once, under the
    stream whose interests and purposes they really feed."""
    return {stream.kind: stream for stream in provider.streams}


def _streams_by_kind(provider: Provider) -> dict[str, Stream]:
    """The stream whose interests an item of each kind feeds: its owner, when it serves a
    purpose (weights_by_purpose skips the others)."""
    return {kind: stream for kind, stream in _owners_by_kind(provider).items() if stream.purposes}


def _item_interests(stream: Stream, attrs) -> list[InterestSignal]:
    """The interests an item's attrs yield, each once. Attrs are the provider's data, cleaned on
    the way in; should a stored row still upset the mapping, this page shows none for it rather
    than fail (the sync's recompute is where such a row would surface as an error)."""
    try:
        return _unique(stream.interests(attrs if isinstance(attrs, dict) else {}))
    except Exception:  # hostile or legacy attrs: nothing to show, not a 500
        return []


def _purposes_now(stream: Stream, provider: Provider, answers) -> list[PurposeNow]:
    return [
        PurposeNow(purpose=PURPOSES[slug], allowed=allows_from_map(answers, slug, provider.slug))
        for slug in stream.purposes if slug in PURPOSES
    ]


def _time(value) -> datetime | None:
    try:
        return parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible: say "never" rather than fail the page
        return None


def your_data_for_owner(*, user: AbstractBaseUser) -> YourData:
    """Every connection of ``user`` with, per declared stream, what is held and why.

    Six queries whatever the number of connections, streams and items: the connections, the
    items grouped by (connection, kind), the stream states, each connection's latest finished
    run, the consent answers, and the interests per purpose.
    """
    answers = consent_map(user=user)
    connections = list(Connection.objects.filter(user=user))
    held = {
        (row["connection_id"], row["kind"]): HeldData(
            items=row["n"], oldest=row["oldest"], newest=row["newest"])
        for row in ExternalItem.objects.filter(connection__user=user, deleted_at__isnull=True)
        .values("connection_id", "kind")
        .annotate(n=Count("pk"), oldest=Min("first_seen_at"), newest=Max("first_seen_at"))
    }
    # Not StreamState.updated_at: the engine saves cursors with QuerySet.update(), which leaves
    # auto_now alone, so updated_at only says when the state row was created.
    completed = {
        (connection_id, stream): _time(at)
        for connection_id, stream, at in StreamState.objects.filter(
            connection__user=user).values_list("connection_id", "stream", "cursor__completed_at")
    }
    # Ordered as the (connection, -queued_at) index is, so each connection's lookup reads its
    # newest runs first instead of sorting every run it ever had.
    latest_finished = SyncRun.objects.filter(
        connection=OuterRef("connection"), status__in=SyncRun.FINISHED
    ).order_by("-queued_at", "-pk").values("pk")[:1]
    latest_runs = {
        run.connection_id: run
        for run in SyncRun.objects.filter(connection__user=user, pk=Subquery(latest_finished))
    }
    summaries = []
    for connection in connections:
        provider = provider_or_retired(connection.provider)
        run = latest_runs.get(connection.pk)
        outcomes = run.streams if run is not None and isinstance(run.streams, dict) else {}
        owners = _owners_by_kind(provider)
        connection_syncs = (connection.status == Connection.Status.ACTIVE
                            and connection.sync_enabled)
        streams = [
            StreamSummary(
                stream=stream,
                held=(held.get((connection.pk, stream.kind), HeldData())
                      if owners[stream.kind] is stream else HeldData()),
                enabled=connection.stream_enabled(stream.name),
                connection_syncs=connection_syncs,
                last_fetched=completed.get((connection.pk, stream.name)),
                last_run_status=str((outcomes.get(stream.name) or {}).get("status", "")),
                purposes=_purposes_now(stream, provider, answers),
            )
            for stream in provider.streams
        ]
        declared = {stream.kind for stream in provider.streams}
        undeclared = sorted(
            (UndeclaredKind(kind=kind, held=data) for (pk, kind), data in held.items()
             if pk == connection.pk and kind not in declared),
            key=lambda u: u.kind,
        )
        summaries.append(ConnectionSummary(
            connection=connection, provider=provider, retired=is_retired(provider),
            streams=streams, undeclared=undeclared, latest_run=run,
        ))
    # The catalog's names in order; connections to providers no longer offered come last.
    summaries.sort(key=lambda s: (s.retired, s.provider.name.lower(), s.connection.pk))
    return YourData(connections=summaries, purposes=_purpose_totals(user, connections, answers))


def _purpose_totals(user, connections: list[Connection], answers) -> list[PurposeTotal]:
    """Distinct interests per purpose, and how many of them the purpose may use now. One query."""
    usable = Q(pk__in=[])
    for slug in PURPOSES:
        allowed = [c.provider for c in connections if allows_from_map(answers, slug, c.provider)]
        if allowed:
            usable |= Q(purpose=slug, connection__provider__in=allowed)
    counts = {
        row["purpose"]: row
        for row in UserInterest.objects.filter(user=user).values("purpose").annotate(
            total=Count("interest_id", distinct=True),
            usable=Count("interest_id", distinct=True, filter=usable),
        )
    }
    return [
        PurposeTotal(purpose=purpose, interests=counts.get(slug, {}).get("total", 0),
                     usable_now=counts.get(slug, {}).get("usable", 0))
        for slug, purpose in PURPOSES.items()
    ]


# -- one stream's items ---------------------------------------------------------------------

def stream_of(provider: Provider, name: str) -> Stream | None:
    """The provider's declared stream called ``name``, if any (a retired provider has none)."""
    return next((s for s in provider.streams if s.name == name), None)


def _unique(signals: Iterable[InterestSignal]) -> list[InterestSignal]:
    seen: dict[str, InterestSignal] = {}
    for found in signals:
        seen.setdefault(found.slug, found)
    return list(seen.values())


@dataclass(frozen=True)
class InterestReach:
    """One interest an item fed, and the purposes (of its stream's) whose stored rows hold it."""

    signal: InterestSignal
    purposes: list[PurposeNow]


@dataclass(frozen=True)
class ItemInterests:
    item: ExternalItem
    interests: list[InterestReach] = field(default_factory=list)


def stream_items_for_owner(
    *, user: AbstractBaseUser, connection: Connection, provider: Provider, stream: Stream,
    page: int | str | None = 1,
) -> tuple[Page, list[ItemInterests]]:
    """One page (50) of the stream's live items, each with the interests it fed.

    The interests come from ``stream.interests(attrs)``, as interests_recompute computes them; an
    interest "reached" a purpose when the connection's stored UserInterest row for it exists (the
    stream serves the purpose, and a recompute ran since the item arrived). Four queries: the
    count, the page, the stored rows of the page's interests, the consent answers.
    """
    items = ExternalItem.objects.filter(
        connection=connection, kind=stream.kind, deleted_at__isnull=True
    ).order_by("title", "pk")
    if _owners_by_kind(provider)[stream.kind] is not stream:
        items = items.none()  # listed under the stream that owns the kind
    page_obj = Paginator(items, ITEMS_PER_PAGE).get_page(page)
    feeds = _streams_by_kind(provider).get(stream.kind) is stream
    signals = {item.pk: _item_interests(stream, item.attrs) if feeds else []
               for item in page_obj.object_list}
    slugs = {s.slug for found in signals.values() for s in found}
    stored = set(UserInterest.objects.filter(
        connection=connection, interest__slug__in=slugs, purpose__in=stream.purposes,
    ).values_list("interest__slug", "purpose")) if slugs else set()
    purposes = _purposes_now(stream, provider, consent_map(user=user))
    rows = [
        ItemInterests(item=item, interests=[
            InterestReach(signal=s, purposes=[p for p in purposes
                                              if (s.slug, p.purpose.slug) in stored])
            for s in signals[item.pk]
        ])
        for item in page_obj.object_list
    ]
    return page_obj, rows


# -- the items behind one interest -----------------------------------------------------------

@dataclass(frozen=True)
class SourceItem:
    connection: Connection
    provider: Provider
    stream: Stream
    item_pk: int
    title: str


@dataclass(frozen=True)
class InterestHolding:
    """One stored UserInterest row of the person: purpose, weight, connection."""

    row: UserInterest
    provider: Provider
    allowed: bool

    @property
    def purpose_name(self) -> str:
        purpose = PURPOSES.get(self.row.purpose)
        return purpose.name if purpose is not None else self.row.purpose


@dataclass(frozen=True)
class InterestSources:
    interest: Interest
    holdings: list[InterestHolding]
    items: list[SourceItem]
    truncated: bool  # more items feed it than the page shows
    limit: int
    # The scan stopped after reading ``scan_limit`` items: more may feed it, unread.
    partial: bool = False
    scan_limit: int = INTEREST_SCAN_LIMIT
    retired: bool = False  # a connection holding it is to a provider no longer offered


def interest_sources_for_owner(
    *, user: AbstractBaseUser, slug: str, limit: int = INTEREST_ITEMS_LIMIT,
    scan_limit: int = INTEREST_SCAN_LIMIT,
) -> InterestSources | None:
    """The person's items behind the interest ``slug`` and their stored rows for it; None when
    no row of theirs holds it (the view answers 404).

    Bounded: only the connections whose rows hold the interest are scanned, only the kinds of
    streams that can yield interests, in chunks, and the scan stops at ``limit`` items
    found or ``scan_limit`` read.
    """
    order = list(PURPOSES)
    rows = sorted(
        UserInterest.objects.filter(user=user, interest__slug=slug)
        .select_related("interest", "connection"),
        key=lambda row: (row.connection.provider, order.index(row.purpose)
                         if row.purpose in order else len(order), row.purpose),
    )
    if not rows:
        return None
    answers = consent_map(user=user)
    connections = {row.connection_id: row.connection for row in rows}
    providers = {pk: provider_or_retired(c.provider) for pk, c in connections.items()}
    holdings = [
        InterestHolding(row=row, provider=providers[row.connection_id],
                        allowed=row.purpose in PURPOSES and allows_from_map(
                            answers, row.purpose, row.connection.provider))
        for row in rows
    ]
    streams = {
        (pk, kind): stream
        for pk, provider in providers.items()
        for kind, stream in _streams_by_kind(provider).items()
        if stream.interests is not no_interests
    }
    scope = Q(pk__in=[])
    for pk in connections:
        kinds = [kind for (c, kind) in streams if c == pk]
        if kinds:
            scope |= Q(connection_id=pk, kind__in=kinds)
    found: list[SourceItem] = []
    truncated = partial = False
    scan = ExternalItem.objects.filter(scope, deleted_at__isnull=True).order_by(
        "connection_id", "kind", "title", "pk"
    ).values_list("pk", "connection_id", "kind", "title", "attrs")
    for read, (pk, connection_id, kind, title, attrs) in enumerate(
            scan.iterator(chunk_size=SCAN_CHUNK)):
        if read >= scan_limit:
            partial = True
            break
        stream = streams[(connection_id, kind)]
        if not any(s.slug == slug for s in _item_interests(stream, attrs)):
            continue
        if len(found) >= limit:
            truncated = True
            break
        found.append(SourceItem(connection=connections[connection_id],
                                provider=providers[connection_id], stream=stream,
                                item_pk=pk, title=title))
    return InterestSources(interest=rows[0].interest, holdings=holdings, items=found,
                           truncated=truncated, limit=limit, partial=partial,
                           scan_limit=scan_limit,
                           retired=any(is_retired(p) for p in providers.values()))
