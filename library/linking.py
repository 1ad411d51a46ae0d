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
        self.new: list[MediaTitle] = []
        self.records: dict[str, dict[int, MediaTitle]] = {}
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
        """Note a cross-id the title lacks, unless another title holds it (unique per kind):
        at once on a title not saved yet, else in ``save_records``."""
        if value is None or getattr(title, field) is not None or self.get(
                title.kind, field, value):
            return
        setattr(title, field, value)
        self.add(title)
        if title.pk is not None:
            self.records.setdefault(field, {})[title.pk] = title

    def resolve(self, remote: _Remote) -> MediaTitle:
        """The title of ``remote``: found by its ids, or a new one (saved by ``save_new``)."""
        kind, own = remote.item.kind, self.own
        title = self.get(kind, "mal_id", remote.mal_id)
        if title is not None:
            self.record(title, own, remote.own_id)
            return title
        title = self.get(kind, own, remote.own_id)
        if title is not None:  # the service learned the MyAnimeList id since
            self.record(title, "mal_id", remote.mal_id)
            return title
        title = MediaTitle(kind=kind, titles=_titles(remote.item),
                           **{"mal_id": remote.mal_id, own: remote.own_id})
        self.new.append(title)
        self.add(title)
        return title

    def save_new(self) -> int:
        """Insert the new titles in one statement; a title another person's link inserted
        meanwhile is kept and used (the index is read back). Returns how many were new."""
        if not self.new:
            return 0
        known = {title.pk for title in self.index.values() if title.pk is not None}
        MediaTitle.objects.bulk_create(self.new, ignore_conflicts=True)
        wanted = Q()
        for field in ("mal_id", self.own):
            ids = {getattr(t, field) for t in self.new if getattr(t, field) is not None}
            wanted |= Q(**{f"{field}__in": ids})
        saved = list(MediaTitle.objects.filter(wanted, kind__in={t.kind for t in self.new}))
        for title in saved:
            self.add(title)
        return len({title.pk for title in saved} - known)

    def saved(self, title: MediaTitle) -> MediaTitle | None:
        """The saved title standing for ``title`` (itself, once ``save_new`` has run)."""
        if title.pk is not None:
            return title
        for field in ("mal_id", self.own):
            found = self.get(title.kind, field, getattr(title, field))
            if found is not None and found.pk is not None:
                return found
        return None

    def save_records(self) -> None:
        """Write the cross-ids titles learned, one statement per field; should another title
        have taken one meanwhile, title by title, each only where still empty."""
        now = timezone.now()
        for field, titles in self.records.items():
            for title in titles.values():
                title.updated_at = now
            try:
                with transaction.atomic():
                    MediaTitle.objects.bulk_update(list(titles.values()), [field, "updated_at"])
                continue
            except IntegrityError:
                pass
            for title in titles.values():
                try:
                    with transaction.atomic():
                        MediaTitle.objects.filter(pk=title.pk, **{f"{field}__isnull": True}) \
                            .update(**{field: getattr(title, field), "updated_at": now})
                except IntegrityError:  # taken by a title outside this chunk: keep it there
                    continue
        self.records = {}


def library_link_connection(*, connection: Connection) -> LinkResult:
    """Link every live anime and manga item of ``connection`` that is not linked yet. A linked
    item is never looked at again (a second call links nothing); a skipped one is tried again
    on the next call, after the service may have fixed it."""
    if connection.provider not in OWN_ID:
        return LinkResult()
    total, after = LinkResult(), 0
    while True:
        with transaction.atomic():
            # The connection row first, as a purge and a disconnect lock it: one running now
            # has committed (its "only this service" entries were computed and deleted, and
            # the items are gone) or waits for this chunk, whose entries it then sees. Without
            # it, entries created here after the purge looked would be left with no item.
            # FOR NO KEY UPDATE: it still waits for (and holds off) a purge's FOR UPDATE, but
            # not the foreign-key checks (FOR KEY SHARE) of another service's merge inserting
            # pushes to this connection while it holds the entries this chunk links: with a
            # plain FOR UPDATE the two deadlock on PostgreSQL.
            if not Connection.objects.select_for_update(no_key=True).filter(
                    pk=connection.pk).exists():
                return total  # disconnected meanwhile
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
    """A constant number of statements: the titles and entries it creates are inserted
    together, and what a concurrent link inserted first is read back and used."""
    remotes = _converted(connection, items)
    if not remotes:
        return LinkResult()
    titles = _Titles(remotes, OWN_ID[connection.provider])
    planned = [(remote, titles.resolve(remote)) for remote in remotes]
    created_titles = titles.save_new()
    titles.save_records()
    found = []
    for remote, title in planned:
        saved = titles.saved(title)
        if saved is None:
            logger.warning(SKIPPED, remote.item.pk, connection.pk,
                           "the title's ids are held by two titles")
            continue
        found.append((remote, saved))
    entries = {entry.title_id: entry for entry in LibraryEntry.objects.filter(
        user_id=connection.user_id, title__in=[title for _, title in found])}
    created = _entries_create(connection, found, entries)
    # One item per entry and connection (a push has one place to go): two of this service's
    # media with one MyAnimeList id cannot both be the entry.
    taken = set(ExternalItem.objects.filter(
        connection=connection, library_entry__in=entries.values()).values_list(
        "library_entry_id", flat=True))
    linked = []
    for remote, title in found:
        entry = entries[title.pk]
        # An entry another service made was never synced with this one: without a base, the
        # reconcile that follows compares both sides (a difference is a conflict). Without a
        # time either, so the next merge looks at it however long ago it was first seen.
        synced = remote.synced if remote.item.pk in created else {
            "updated_at": remote.synced["updated_at"]}
        if entry.pk in taken:
            logger.warning(SKIPPED, remote.item.pk, connection.pk,
                           "another item of this connection is linked to its entry")
            continue
        taken.add(entry.pk)
        remote.item.library_entry, remote.item.synced = entry, synced
        linked.append(remote.item)
    ExternalItem.objects.bulk_update(linked, ["library_entry", "synced"])
    return LinkResult(created_titles, len(created), len(linked))


def _new_entry(connection: Connection, title: MediaTitle, remote: _Remote) -> LibraryEntry:
    at = remote.changed_at
    return LibraryEntry(user_id=connection.user_id, title=title, **remote.values,
                        status_changed_at=at, progress_changed_at=at, score_changed_at=at)


def _entries_create(connection: Connection, found: list[tuple[_Remote, MediaTitle]],
                    entries: dict[int, LibraryEntry]) -> set[int]:
    """Insert an entry for each title the person has none of (from the first item of the
    title), add them to ``entries``, and return the ids of the items whose values made one.
    An entry another of the person's services inserted meanwhile is kept as it is."""
    wanted: dict[int, tuple[_Remote, LibraryEntry]] = {}
    for remote, title in found:
        if title.pk not in entries and title.pk not in wanted:
            wanted[title.pk] = (remote, _new_entry(connection, title, remote))
    if not wanted:
        return set()
    LibraryEntry.objects.bulk_create([entry for _, entry in wanted.values()],
                                     ignore_conflicts=True)
    made = set()
    for entry in LibraryEntry.objects.filter(user_id=connection.user_id,
                                             title__in=list(wanted)):
        entries[entry.title_id] = entry
        remote, ours = wanted[entry.title_id]
        if all(getattr(entry, name) == getattr(ours, name) for name in _ENTRY_VALUES):
            made.add(remote.item.pk)
    return made


_ENTRY_VALUES = ("status", "progress", "score", "status_changed_at")
