"""The three-way merge of one list entry's fields: the last synced value, ours, the service's.

Per field:

* neither side changed since the last sync: nothing to do;
* one side changed: it wins (ours is pushed, or the service's is applied here);
* both changed to the same value: nothing to push or apply, and no conflict;
* both changed to different values: a conflict, recorded; the later change wins. On equal
  times ours wins: the library is the hub every service is pushed from, so one value reaches
  all of them in one round. A side without a change time (a removal noticed by a full pull)
  counts as changed right at the last sync, the earliest it can have been.

A removal is a change too. When either side removed the entry, the entry is merged as one
value (field ``entry``: the fields, or ``REMOVED``), so a removal on one side and an edit on
the other is one conflict, never a removal of some fields. Pure functions: no database.

Compare in the service's terms: the base is what the service last held (its own score, its
status and repeating flag), and ours is converted to those terms first. A score 87 here is 9 on
MyAnimeList; compared as 87 against the 90 read back, the service would look changed and 87
would become 90 here, with no edit anywhere. Converted, only a real edit counts.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FIELDS = ("status", "progress", "score")
ENTRY = "entry"
LOCAL, REMOTE = "local", "remote"
EARLIEST = datetime.min.replace(tzinfo=UTC)


class _Removed:
    def __repr__(self) -> str:
        return "REMOVED"


REMOVED: Any = _Removed()  # the value of a removed entry (or of its fields)


@dataclass(frozen=True)
class Side:
    """One side's value and when it last changed (None: unknown)."""

    value: Any
    changed_at: datetime | None = None


@dataclass(frozen=True)
class Conflict:
    field: str
    local: Side
    remote: Side
    winner: str  # LOCAL or REMOTE


@dataclass(frozen=True)
class Outcome:
    field: str
    value: Any  # what both sides hold after this merge
    push: bool  # send ``value`` to the service
    apply: bool  # store ``value`` here
    conflict: Conflict | None = None


def merge_field(*, field: str, synced: Any, synced_at: datetime | None, local: Side,
                remote: Side) -> Outcome:
    """The rule of the module docstring for one field."""
    local_changed, remote_changed = local.value != synced, remote.value != synced
    if not remote_changed:
        return Outcome(field, local.value, push=local_changed, apply=False)
    if not local_changed:
        return Outcome(field, remote.value, push=False, apply=True)
    if local.value == remote.value:  # both made the same change
        return Outcome(field, local.value, push=False, apply=False)
    base = synced_at or EARLIEST
    local_wins = (local.changed_at or base) >= (remote.changed_at or base)
    winner = local if local_wins else remote
    return Outcome(field, winner.value, push=local_wins, apply=not local_wins,
                   conflict=Conflict(field, local, remote, LOCAL if local_wins else REMOTE))


def _whole(side: Mapping[str, Side] | Side) -> Side:
    if isinstance(side, Side):
        return side
    times = [s.changed_at for s in side.values() if s.changed_at is not None]
    return Side({name: side[name].value for name in FIELDS}, max(times, default=None))


def merge_entry(*, synced: Mapping[str, Any] | None, synced_at: datetime | None,
                local: Mapping[str, Side] | Side, remote: Mapping[str, Side] | Side
                ) -> list[Outcome]:
    """Merge an entry: ``local``/``remote`` are ``{field: Side}`` for an entry that exists, or
    ``Side(REMOVED, removed_at)``; ``synced`` is the last synced ``{field: value}`` or None
    (never synced, or synced as removed)."""
    if isinstance(local, Side) or isinstance(remote, Side):
        base = REMOVED if synced is None else {name: synced.get(name) for name in FIELDS}
        return [merge_field(field=ENTRY, synced=base, synced_at=synced_at,
                            local=_whole(local), remote=_whole(remote))]
    synced = synced or {}
    return [merge_field(field=name, synced=synced.get(name), synced_at=synced_at,
                        local=local[name], remote=remote[name]) for name in FIELDS]
