"""Read queries for pages, admin and other ThinkAlike code. Every lookup is scoped to a user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from consent.purposes import PURPOSES
from consent.selectors import allows_from_map, consent_map

from .models import AuditEvent, Connection, ExternalItem, SyncRun, UserInterest
from .providers.base import Provider
from .providers.registry import all_providers


def connection_get_for_user(*, user: AbstractBaseUser, pk: int) -> Connection:
    """The user's own connection or 404: ids in URLs never reach another user's data."""
    return get_object_or_404(Connection.objects.select_related("credential"), pk=pk, user=user)


def sync_run_get_for_user(*, user: AbstractBaseUser, connection_pk: int, pk: int) -> SyncRun:
    return get_object_or_404(
        SyncRun.objects.select_related("connection"),
        pk=pk, connection_id=connection_pk, connection__user=user,
    )


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


def catalog_for_user(*, user: AbstractBaseUser) -> list[CatalogEntry]:
    """Every provider of the catalog with this user's connection, latest run and consents.

    A constant number of queries whatever the number of connections.
    """
    connections = {c.provider: c for c in connections_with_latest_run(user=user)}
    answers = consent_map(user=user)
    entries = []
    for provider in all_providers():
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
    label: str
    category: str
    weight: float
    provider: str
    account_label: str
    purposes: list[str]  # purposes that may see it now: served by its streams AND consented


def interests_for_user(
    *, user: AbstractBaseUser, purpose: str | None = None
) -> list[InterestView]:
    """The user's interests; with ``purpose``, only those that purpose may see right now."""
    if purpose is not None and purpose not in PURPOSES:
        raise KeyError(purpose)
    answers = consent_map(user=user)
    rows = UserInterest.objects.filter(user=user).select_related("interest", "connection")
    result = []
    for row in rows:
        visible = [
            p for p in row.purposes
            if p in PURPOSES and allows_from_map(answers, p, row.connection.provider)
        ]
        if purpose is not None and purpose not in visible:
            continue
        result.append(InterestView(
            label=row.interest.label, category=row.interest.category, weight=row.weight,
            provider=row.connection.provider, account_label=row.connection.account_label,
            purposes=visible,
        ))
    return result


def interests_for_purpose(*, user: AbstractBaseUser, purpose: str) -> dict[str, float]:
    """For other ThinkAlike code: interest slug -> weight, only what ``purpose`` may use."""
    if purpose not in PURPOSES:
        raise KeyError(purpose)
    answers = consent_map(user=user)
    result: dict[str, float] = {}
    rows = UserInterest.objects.filter(user=user).select_related("interest", "connection")
    for row in rows:
        if purpose in row.purposes and allows_from_map(answers, purpose, row.connection.provider):
            slug = row.interest.slug
            result[slug] = max(result.get(slug, 0.0), row.weight)
    return result


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


def runs_for_connection(*, connection: Connection, limit: int = 10) -> QuerySet[SyncRun]:
    return connection.sync_runs.all()[:limit]


def latest_run(*, connection: Connection) -> SyncRun | None:
    return connection.sync_runs.first()


def imported_counts(*, connection: Connection) -> dict[str, int]:
    """How much a disconnect or purge would delete: visible items and interests."""
    return {
        "items": connection.items.filter(deleted_at__isnull=True).count(),
        "interests": connection.interests.count(),
    }
