"""Link a connection's imported list entries to the person's library: one entry per title.

A title is found by its MyAnimeList id (the one id AniList, MyAnimeList and Kitsu all know),
else by the service's own id, and created when none has it. A new library entry takes the
service's values on the library's scales. An entry that exists already (another service got
there first) is linked as it is: reconciling its values with this service's is the three-way
merge's work (library/reconcile.py), which follows the link (library/pull.py).

No network: this reads only what a sync stored. One transaction per chunk of items, so a long
list never holds one long transaction, and a skipped item never undoes the others.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.exceptions import ProviderDataError
from integrations.models import Connection, ExternalItem
from library import statuses
from library.models import LibraryEntry, MediaTitle
from library.terms import TERMS

logger = logging.getLogger(__name__)

CHUNK = 200
# The service's own id field on MediaTitle.
OWN_ID = {statuses.ANILIST: "anilist_id", statuses.KITSU: "kitsu_id",
          statuses.MYANIMELIST: "mal_id"}
MAX_ID = 2**31 - 1  # PositiveIntegerField's upper bound
MAX_TITLES, MAX_TITLE = 10, 500
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z
SKIPPED = "library link: item %s of connection %s skipped: %s"


@dataclass(frozen=True)
class LinkResult:
    created_titles: int = 0
    created_entries: int = 0
    linked: int = 0

    def __add__(self, other: "LinkResult") -> "LinkResult":
        return LinkResult(self.created_titles + other.created_titles,
                          self.created_entries + other.created_entries,
                          self.linked + other.linked)


@dataclass(frozen=True)
class _Remote:
    """One item's values, checked and converted: ``values`` is the library's side."""

    item: ExternalItem
    mal_id: int | None
    own_id: int | None
    values: dict
    synced: dict
    changed_at: datetime


def _cross_id(value: object) -> int | None:
    """A positive id that fits the title's columns (ids arrive as ints or digit strings)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        return None
    return value


def _remote(item: ExternalItem, provider: str) -> _Remote:
    """``ProviderDataError`` when a value does not convert (the item is skipped)."""
    attrs = item.attrs if isinstance(item.attrs, dict) else {}
    own_id = _cross_id(item.external_id)
    # On MyAnimeList the item's own id is the MyAnimeList id, whatever attrs say.
    mal_id = own_id if provider == statuses.MYANIMELIST else _cross_id(attrs.get("mal_id"))
    if mal_id is None and own_id is None:
        raise ProviderDataError("no id to match the title by")
    terms = TERMS[provider]
    theirs = terms.read(attrs, kind=item.kind)  # ProviderDataError: skipped
    updated = attrs.get("updated_at")
    if isinstance(updated, bool) or not isinstance(updated, int) or not 0 <= updated <= MAX_EPOCH:
        updated = None
    return _Remote(
        item=item, mal_id=mal_id, own_id=own_id,
        values={name: terms.to_library(name, value, kind=item.kind)
                for name, value in theirs.items()},
        # The merge's base, in the service's own terms (library/reconcile.py says why).
        synced={**theirs, "updated_at": updated, "at": timezone.now().isoformat()},
        changed_at=datetime.fromtimestamp(updated, UTC) if updated is not None
        else timezone.now(),
    )


def _titles(item: ExternalItem) -> dict[str, str]:
    names = item.attrs.get("titles") if isinstance(item.attrs, dict) else None
    kept = [(key[:20], value.strip()[:MAX_TITLE]) for key, value in
            (names.items() if isinstance(names, dict) else ())
            if isinstance(key, str) and isinstance(value, str) and value.strip()]
    return dict(kept[:MAX_TITLES]) or {"en": item.title[:MAX_TITLE]}


class _Titles:
    """The chunk's titles by (kind, id field, id): one query, then kept up to date."""

    def __init__(self, remotes: list[_Remote], own: str) -> None:
        self.own, self.index = own, {}
        mal_ids = {r.mal_id for r in remotes if r.mal_id is not None}
        own_ids = {r.own_id for r in remotes if r.own_id is not None}
        found = MediaTitle.objects.filter(kind__in={r.item.kind for r in remotes}).filter(
            Q(mal_id__in=mal_ids) | Q(**{f"{own}__in": own_ids}))
        for title in found:
            self.add(title)

    def add(self, title: MediaTitle) -> None:
        for field in {"mal_id", self.own}:
            if getattr(title, field) is not None:
                self.index[(title.kind, field, getattr(title, field))] = title

    def get(self, kind: str, field: str, value: int | None) -> MediaTitle | None:
        return None if value is None else self.index.get((kind, field, value))

    def record(self, title: MediaTitle, field: str, value: int | None) -> None:
        """Note a cross-id the title lacks, unless another title holds it (unique per kind)."""
        if value is None or getattr(title, field) is not None or self.get(
                title.kind, field, value):
            return
        try:
            with transaction.atomic():
                MediaTitle.objects.filter(pk=title.pk, **{f"{field}__isnull": True}).update(
                    **{field: value, "updated_at": timezone.now()})
        except IntegrityError:  # taken meanwhile by a title outside this chunk: keep it there
            return
        setattr(title, field, value)
        self.add(title)

    def find_or_create(self, remote: _Remote) -> tuple[MediaTitle, bool]:
        kind, own = remote.item.kind, self.own
        title = self.get(kind, "mal_id", remote.mal_id)
        if title is not None:
            self.record(title, own, remote.own_id)
            return title, False
        title = self.get(kind, own, remote.own_id)
        if title is not None:  # the service learned the MyAnimeList id since
            self.record(title, "mal_id", remote.mal_id)
            return title, False
        ids = {"mal_id": remote.mal_id, own: remote.own_id}
        try:
            with transaction.atomic():
                title = MediaTitle.objects.create(kind=kind, titles=_titles(remote.item), **ids)
        except IntegrityError:  # created meanwhile by another person's link
            title = MediaTitle.objects.filter(kind=kind).filter(
                Q(**{field: value for field, value in ids.items() if value is not None},
                  _connector=Q.OR)).first()
            if title is None:
                raise ProviderDataError("the title's ids are held by two titles") from None
            self.add(title)
            return title, False
        self.add(title)
        return title, True


def library_link_connection(*, connection: Connection) -> LinkResult:
    """Link every live anime and manga item of ``connection`` that is not linked yet. A linked
    item is never looked at again (a second call links nothing); a skipped one is tried again
    on the next call, after the service may have fixed it."""
    if connection.provider not in OWN_ID:
        return LinkResult()
    total, after = LinkResult(), 0
    while True:
        with transaction.atomic():
            items = list(ExternalItem.objects.select_for_update().filter(
                connection=connection, kind__in=statuses.KINDS, deleted_at__isnull=True,
                library_entry__isnull=True, pk__gt=after).order_by("pk")[:CHUNK])
            if not items:
                return total
            after = items[-1].pk
            total += _link_chunk(connection, items)


def _converted(connection: Connection, items: list[ExternalItem]) -> list[_Remote]:
    remotes = []
    for item in items:
        try:
            remotes.append(_remote(item, connection.provider))
        except ProviderDataError as error:
            logger.warning(SKIPPED, item.pk, connection.pk, error)
    return remotes


def _link_chunk(connection: Connection, items: list[ExternalItem]) -> LinkResult:
    remotes = _converted(connection, items)
    if not remotes:
        return LinkResult()
    titles, found, created_titles = _Titles(remotes, OWN_ID[connection.provider]), [], 0
    for remote in remotes:
        try:
            title, created = titles.find_or_create(remote)
        except ProviderDataError as error:
            logger.warning(SKIPPED, remote.item.pk, connection.pk, error)
            continue
        found.append((remote, title))
        created_titles += created
    entries = {entry.title_id: entry for entry in LibraryEntry.objects.filter(
        user_id=connection.user_id, title__in=[title for _, title in found])}
    # One item per entry and connection (a push has one place to go): two of this service's
    # media with one MyAnimeList id cannot both be the entry.
    taken = set(ExternalItem.objects.filter(
        connection=connection, library_entry__in=entries.values()).values_list(
        "library_entry_id", flat=True))
    linked, created_entries = [], 0
    for remote, title in found:
        entry, created = entries.get(title.pk), False
        if entry is None:
            entry, created = _entry_create(connection, title, remote)
            entries[title.pk], created_entries = entry, created_entries + created
        # An entry another service made was never synced with this one: without a base, the
        # reconcile that follows compares both sides (a difference is a conflict).
        synced = remote.synced if created else {key: remote.synced[key]
                                                for key in ("updated_at", "at")}
        if entry.pk in taken:
            logger.warning(SKIPPED, remote.item.pk, connection.pk,
                           "another item of this connection is linked to its entry")
            continue
        taken.add(entry.pk)
        remote.item.library_entry, remote.item.synced = entry, synced
        linked.append(remote.item)
    ExternalItem.objects.bulk_update(linked, ["library_entry", "synced"])
    return LinkResult(created_titles, created_entries, len(linked))


def _entry_create(connection: Connection, title: MediaTitle, remote: _Remote
                  ) -> tuple[LibraryEntry, bool]:
    at = remote.changed_at
    try:
        with transaction.atomic():
            return LibraryEntry.objects.create(
                user_id=connection.user_id, title=title, **remote.values,
                status_changed_at=at, progress_changed_at=at, score_changed_at=at), True
    except IntegrityError:  # another of the person's services linked the title meanwhile
        return LibraryEntry.objects.get(user_id=connection.user_id, title=title), False
