"""Read queries for pages, admin and other ThinkAlike code. Every lookup is scoped to a user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from consent.purposes import PURPOSES
from consent.selectors import allows_from_map, consent_map

from .models import ActionRun, AuditEvent, Connection, ExternalItem, SyncRun, UserInterest
from .providers.base import Provider, Stream
from .providers.registry import PROVIDERS, all_providers
from .providers.retired import RetiredProvider


def connection_get_for_user(*, user: AbstractBaseUser, pk: int) -> Connection:
    """The user's own connection or 404: ids in URLs never reach another user's data."""
    return get_object_or_404(Connection.objects.select_related("credential"), pk=pk, user=user)


def sync_run_get_for_user(*, user: AbstractBaseUser, connection_pk: int, pk: int) -> SyncRun:
    return get_object_or_404(
        SyncRun.objects.select_related("connection"),
        pk=pk, connection_id=connection_pk, connection__user=user,
    )


def connections_for_owner(*, user: AbstractBaseUser) -> QuerySet[Connection]:
    """The user's connections, newest first, each with its credential joined (is it readable?):
    one query whatever their number."""
    return Connection.objects.filter(user=user).select_related("credential").order_by("-pk")


def connection_for_provider(*, user: AbstractBaseUser, provider: str) -> Connection | None:
    """The user's connection to ``provider``, if any (one per provider)."""
    return (Connection.objects.select_related("credential")
            .filter(user=user, provider=provider).first())


def connections_with_latest_run(*, user: AbstractBaseUser) -> QuerySet[Connection]:
    """The user's connections, each with ``latest_runs`` = [its newest run] (2 queries).

    The credential comes along (joined) so pages can tell an undecryptable one apart.
    """
    latest = SyncRun.objects.filter(connection=OuterRef("connection")).order_by(
        "-queued_at", "-pk"
    ).values("pk")[:1]
    return Connection.objects.filter(user=user).select_related("credential").prefetch_related(
        Prefetch(
            "sync_runs",
            queryset=SyncRun.objects.filter(pk=Subquery(latest)),
            to_attr="latest_runs",
        )
    )



def connection_recently_connected(
    *, user: AbstractBaseUser, provider: str, within_seconds: int
) -> bool:
    """Whether the person's connection to ``provider`` is active and was (re)connected in the
    last ``within_seconds``: a stale OAuth callback then only repeats what already happened."""
    since = timezone.now() - timedelta(seconds=within_seconds)
    return Connection.objects.filter(
        user=user, provider=provider, status=Connection.Status.ACTIVE
    ).exists() and AuditEvent.objects.filter(
        user=user, provider=provider, at__gte=since,
        action__in=[AuditEvent.Action.CONNECTED, AuditEvent.Action.RECONNECTED],
    ).exists()

@dataclass(frozen=True)
class CatalogEntry:
    provider: Provider
    connection: Connection | None
    latest_run: SyncRun | None
    consented_purposes: list[str]


def catalog_for_user(
    *, user: AbstractBaseUser, include_retired: bool = False
) -> list[CatalogEntry]:
    """Every provider of the catalog with this user's connection, latest run and consents;
    with ``include_retired``, the user's connections to providers no longer installed too.

    A constant number of queries whatever the number of connections.
    """
    connections = {c.provider: c for c in connections_with_latest_run(user=user)}
    answers = consent_map(user=user)
    providers = all_providers()
    if include_retired:
        # Connections whose provider is no longer installed come last, stood in for, so their
        # owner can still reach them to delete their data or disconnect them.
        providers += [RetiredProvider(s) for s in sorted(connections) if s not in PROVIDERS]
    entries = []
    for provider in providers:
        connection = connections.get(provider.slug)
        runs = getattr(connection, "latest_runs", None) or []
        entries.append(CatalogEntry(
            provider=provider,
            connection=connection,
            latest_run=runs[0] if runs else None,
            consented_purposes=[p for p in PURPOSES if allows_from_map(answers, p, provider.slug)],
        ))
    return entries


@dataclass(frozen=True)
class InterestView:
    """One interest from one connection, as its owner sees it on their own pages."""

    label: str
    category: str
    weight: float  # for the chosen purpose, else the strongest over the purposes it serves
    provider: str
    account_label: str
    purposes: list[str]  # purposes that may see it now: served by its streams AND consented
    slug: str = ""  # links to the items behind it (privacy:interest_items)


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise KeyError(purpose)


def interests_for_owner(
    *, user: AbstractBaseUser, purpose: str | None = None
) -> list[InterestView]:
    """The owner's own interests page: every interest, with the purposes that may use it now.

    Only for pages the person sees about themselves. Code that hands interests to another part
    of ThinkAlike uses ``interests_for_purpose``. With ``purpose``, only what that purpose may
    see right now, weighted as that purpose receives it.
    """
    if purpose is not None:
        _check_purpose(purpose)
    answers = consent_map(user=user)
    rows = UserInterest.objects.filter(user=user).select_related("interest", "connection")
    grouped: dict[tuple[int, int], list[UserInterest]] = {}
    for row in rows:
        grouped.setdefault((row.connection_id, row.interest_id), []).append(row)
    result = []
    for group in grouped.values():
        first = group[0]
        provider = first.connection.provider
        weights = {row.purpose: row.weight for row in group if row.purpose in PURPOSES}
        visible = [p for p in PURPOSES if p in weights and allows_from_map(answers, p, provider)]
        if purpose is not None and purpose not in visible:
            continue
        result.append(InterestView(
            label=first.interest.label, category=first.interest.category,
            weight=weights[purpose] if purpose is not None else max(weights.values(), default=0),
            provider=provider, account_label=first.connection.account_label, purposes=visible,
            slug=first.interest.slug,
        ))
    result.sort(key=lambda view: (-view.weight, view.label))
    return result


def interests_for_purpose(*, user: AbstractBaseUser, purpose: str) -> dict[str, float]:
    """For other ThinkAlike code: interest slug -> weight, only what ``purpose`` may use now.

    The weights come only from streams that serve ``purpose`` and only from providers that
    consent allows for it; across connections the strongest weight wins.
    """
    _check_purpose(purpose)
    answers = consent_map(user=user)
    result: dict[str, float] = {}
    rows = UserInterest.objects.filter(user=user, purpose=purpose).values_list(
        "interest__slug", "connection__provider", "weight"
    )
    for slug, provider, weight in rows:
        if allows_from_map(answers, purpose, provider):
            result[slug] = max(result.get(slug, 0.0), weight)
    return result


def interest_rows_for_purpose(*, user: AbstractBaseUser, purpose: str) -> QuerySet[UserInterest]:
    """For the API: the rows ``interests_for_purpose`` reads, one per (connection, interest),
    only those ``purpose`` may use now (its own rows, from providers consent allows for it).

    A queryset so the API can page it; three queries whatever the number of rows.
    """
    _check_purpose(purpose)
    answers = consent_map(user=user)
    connected = set(Connection.objects.filter(user=user).values_list("provider", flat=True))
    allowed = [slug for slug in connected if allows_from_map(answers, purpose, slug)]
    return UserInterest.objects.filter(
        user=user, purpose=purpose, connection__provider__in=allowed
    ).select_related("interest", "connection")


def items_for_purpose(*, user: AbstractBaseUser, purpose: str) -> QuerySet[ExternalItem]:
    """For other ThinkAlike code: the live items ``purpose`` may use now.

    Only items written by streams that serve ``purpose``, from providers consent allows for it.
    """
    _check_purpose(purpose)
    answers = consent_map(user=user)
    allowed = Q(pk__in=[])
    for connection_id, slug in Connection.objects.filter(user=user).values_list("pk", "provider"):
        provider = PROVIDERS.get(slug)
        if provider is None or not allows_from_map(answers, purpose, slug):
            continue
        kinds = [s.kind for s in provider.streams if purpose in s.purposes]
        if kinds:
            allowed |= Q(connection_id=connection_id, kind__in=kinds)
    return ExternalItem.objects.filter(allowed, deleted_at__isnull=True)


def items_page_for_owner(
    *, connection: Connection, query: str = "", page: int | str | None = 1, per_page: int = 50
) -> Page:
    """One page of the owner's own imported items, optionally those whose title contains
    ``query`` (case-insensitive). For the owner's connection page only: no purpose applies.

    Two queries whatever the number of items (a count and the page); an out-of-range or
    malformed page number gives the nearest valid page.
    """
    items = ExternalItem.objects.filter(connection=connection, deleted_at__isnull=True)
    if query:
        items = items.filter(title__icontains=query)
    return Paginator(items.order_by("kind", "title", "pk"), per_page).get_page(page)


def items_for_owner(
    *, connection: Connection, kind: str | None = None, query: str = ""
) -> QuerySet[ExternalItem]:
    """The owner's live items of ``connection``: of one ``kind`` (a stream's), and whose title
    contains ``query`` (case-insensitive), when given. For the owner only: no purpose applies."""
    items = ExternalItem.objects.filter(connection=connection, deleted_at__isnull=True)
    if kind is not None:
        items = items.filter(kind=kind)
    if query:
        items = items.filter(title__icontains=query)
    return items


@dataclass(frozen=True)
class StreamPurgeOffer:
    """A stream of a connected service that no allowed purpose uses any more, with what it holds."""

    connection: Connection
    provider: Provider
    stream: Stream
    items: int


def unconsented_streams_for_owner(*, user: AbstractBaseUser) -> list[StreamPurgeOffer]:
    """The owner's consent page: streams whose every purpose is now off, holding items.

    The person may delete what such a stream collected; nothing is deleted for them. Three
    queries whatever the number of connections and items.
    """
    answers = consent_map(user=user)
    connections = list(Connection.objects.filter(user=user).order_by("provider"))
    held = {
        (row["connection_id"], row["kind"]): row["n"]
        for row in ExternalItem.objects.filter(connection__user=user)
        .values("connection_id", "kind").annotate(n=Count("pk"))
    }
    offers = []
    for connection in connections:
        provider = PROVIDERS.get(connection.provider)
        if provider is None:
            continue
        for stream in provider.streams:
            items = held.get((connection.pk, stream.kind), 0)
            if items and not any(
                allows_from_map(answers, p, provider.slug) for p in stream.purposes
            ):
                offers.append(StreamPurgeOffer(connection=connection, provider=provider,
                                               stream=stream, items=items))
    return offers


def runs_for_connection(*, connection: Connection, limit: int = 10) -> QuerySet[SyncRun]:
    return connection.sync_runs.all()[:limit]


def action_runs_for_connection(*, connection: Connection,
                               limit: int = 10) -> QuerySet[ActionRun]:
    return connection.action_runs.all()[:limit]


def latest_run(*, connection: Connection) -> SyncRun | None:
    return connection.sync_runs.first()


def imported_counts(*, connection: Connection) -> dict[str, int]:
    """How much a disconnect or purge would delete: visible items and interests."""
    return {
        "items": connection.items.filter(deleted_at__isnull=True).count(),
        # One row per (interest, purpose): count the interests, not the rows.
        "interests": connection.interests.values("interest_id").distinct().count(),
    }
