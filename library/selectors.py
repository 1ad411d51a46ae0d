"""Reads of a person's library for the pages and the API: always scoped to one person."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from integrations.models import Connection, ExternalItem
from integrations.providers.registry import PROVIDERS
from library.models import LibraryConflict, LibraryEntry, LibraryPush
from library.terms import TERMS

# Per service, where an entry stands there (the entry page and the API).
SYNCED, WAITING, FAILED, NOT_YET, REMOVED, ABSENT = (
    "synced", "waiting", "failed", "waiting_reconnect", "removed", "absent")
STATE_LABELS = {
    SYNCED: "Up to date on {name}",
    WAITING: "Waiting to be sent to {name}",
    FAILED: "Not sent to {name}",
    NOT_YET: "Not yet on {name}: reconnect it to send this",
    REMOVED: "Removed on {name}",
    ABSENT: "Not on {name}",
}


def library_entries_for(*, user, kind: str | None = None, status: str | None = None,
                        provider: str | None = None, conflicts: bool | None = None,
                        search: str = "", removed: bool = False) -> QuerySet[LibraryEntry]:
    """The person's entries, newest change first, each with its title, the services that have
    it (``services``: live items with their connection) and ``conflict_count``."""
    entries = LibraryEntry.objects.filter(user=user, removed_at__isnull=not removed)
    if kind:
        entries = entries.filter(title__kind=kind)
    if status:
        entries = entries.filter(status=status)
    if provider:
        entries = entries.filter(Exists(ExternalItem.objects.filter(
            library_entry=OuterRef("pk"), connection__provider=provider,
            deleted_at__isnull=True)))
    if search:
        entries = entries.filter(title__titles__icontains=search[:100])
    entries = entries.annotate(conflict_count=Count("conflicts", distinct=True))
    if conflicts is True:
        entries = entries.filter(conflict_count__gt=0)
    elif conflicts is False:
        entries = entries.filter(conflict_count=0)
    # Explicit: Meta.ordering does not apply to a query with an aggregate (the count).
    return entries.order_by("-updated_at", "-pk").select_related("title").prefetch_related(
        Prefetch(
            "external_items", to_attr="services",
            queryset=ExternalItem.objects.filter(deleted_at__isnull=True)
            .select_related("connection").only("library_entry_id", "connection__provider",
                                               "connection__user_id", "external_id")))


def library_entry_get(*, user, pk: Any) -> LibraryEntry:
    """One of the person's entries (``LibraryEntry.DoesNotExist`` for anyone else's)."""
    return LibraryEntry.objects.select_related("title").get(user=user, pk=pk)


@dataclass(frozen=True)
class ServiceState:
    connection: Connection
    state: str
    label: str
    error: str = ""
    since: datetime | None = None
    item: ExternalItem | None = None


def library_entry_services(*, entry: LibraryEntry) -> list[ServiceState]:
    """Where the entry stands on each of the person's list services: up to date, waiting,
    failed (why), not yet there (a reconnect is needed), removed there, or not there."""
    connections = Connection.objects.filter(user_id=entry.user_id, provider__in=list(TERMS))
    items = {item.connection_id: item for item in entry.external_items.all()}
    pushes = {}
    for push in LibraryPush.objects.filter(entry=entry).order_by("created_at", "pk"):
        pushes[push.connection_id] = push  # the latest per connection
    states = []
    for connection in connections:
        item, push = items.get(connection.pk), pushes.get(connection.pk)
        state, error, since = _state(item, push)
        states.append(ServiceState(
            connection, state, STATE_LABELS[state].format(name=connection.provider_name),
            error, since, item))
    return states


def _state(item: ExternalItem | None, push: LibraryPush | None
           ) -> tuple[str, str, datetime | None]:
    if push is not None and push.state in (LibraryPush.State.PENDING, LibraryPush.State.SENDING):
        return WAITING, "", push.updated_at
    if push is not None and push.state == LibraryPush.State.FAILED:
        return FAILED, push.error, push.updated_at
    if push is not None and push.state == LibraryPush.State.WAITING_RECONNECT:
        return NOT_YET, push.error, push.updated_at
    if push is not None and push.state == LibraryPush.State.SENT and (
            item is None or item.deleted_at is not None):
        return SYNCED, "", push.sent_at  # created there: the next pull brings it here
    if item is None:
        return ABSENT, "", None
    if item.deleted_at is not None:
        return REMOVED, "", item.deleted_at
    return SYNCED, "", item.last_seen_at


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    kind: str  # "conflict" or "push"
    provider: str  # the service's slug
    text: str
    record: LibraryConflict | LibraryPush

    @property
    def provider_name(self) -> str:
        return provider_name(self.provider)


def library_entry_history(*, entry: LibraryEntry, limit: int = 200) -> list[HistoryLine]:
    """What happened to the entry across services, newest first: conflicts (which values,
    which won, when) and pushes (what was sent where, and how it went)."""
    lines = []
    for conflict in entry.conflicts.all()[:limit]:
        name = provider_name(conflict.provider)
        won = "this library" if conflict.winner == LibraryConflict.Winner.LOCAL else name
        lines.append(HistoryLine(
            conflict.detected_at, "conflict", conflict.provider,
            f"{conflict.get_field_display()}: {_shown(conflict.local_value)} here, "
            f"{_shown(conflict.remote_value)} on {name}; {won} won", conflict))
    for push in entry.pushes.select_related("connection").all()[:limit]:
        lines.append(HistoryLine(
            push.updated_at, "push", push.connection.provider,
            f"{push.get_state_display()}: {_values(push.values)}"
            + (f" ({push.error})" if push.error else ""), push))
    return sorted(lines, key=lambda line: line.at, reverse=True)[:limit]


def provider_name(slug: str) -> str:
    """A service's name from its slug (a conflict keeps the slug: it outlives the connection)."""
    provider = PROVIDERS.get(slug)
    return provider.name if provider is not None else slug


def _shown(value: Any) -> str:
    if value is None:
        return "removed"
    if isinstance(value, dict):
        return _values(value)
    return str(value)


def _values(values: Any) -> str:
    if not isinstance(values, dict):
        return ""
    return ", ".join(f"{name} {'none' if value is None else value}"
                     for name, value in values.items())


def library_conflicts_for(*, user, unseen: bool = False) -> QuerySet[LibraryConflict]:
    conflicts = LibraryConflict.objects.filter(entry__user=user).select_related("entry__title")
    return conflicts.filter(seen_at__isnull=True) if unseen else conflicts


def library_counts(*, user) -> dict[str, int]:
    """For the page's header: entries, conflicts not seen, pushes not sent."""
    return {
        "entries": LibraryEntry.objects.filter(user=user, removed_at__isnull=True).count(),
        "unseen_conflicts": LibraryConflict.objects.filter(
            entry__user=user, seen_at__isnull=True).count(),
        "unsent": LibraryPush.objects.filter(
            Q(entry__user=user), state__in=[LibraryPush.State.PENDING, LibraryPush.State.SENDING,
                                            LibraryPush.State.FAILED,
                                            LibraryPush.State.WAITING_RECONNECT]).count(),
    }


def library_list_connections(*, user) -> QuerySet[Connection]:
    """The person's connections to list services (AniList, MyAnimeList, Kitsu)."""
    return Connection.objects.filter(user=user, provider__in=list(TERMS)).order_by("provider")


def library_link_candidates(*, entry: LibraryEntry, search: str = "",
                            limit: int = 20) -> QuerySet[LibraryEntry]:
    """The person's other entries of the same kind ``entry`` could be linked with."""
    found = library_entries_for(user=entry.user_id, kind=entry.title.kind,
                                search=search).exclude(pk=entry.pk)
    return found[:limit]
