"""Reconcile one library entry with one service's record of it (pure: no database).

Per field the service syncs (its connection's switches), the three-way merge of
library/merge.py, in the service's terms (library/terms.py), with:

* the base is the last value of the service's that was accounted for (``item.synced``):
  after a reconcile it is the service's value whatever won, so a conflict is recorded once,
  and a push that succeeds makes it the pushed value;
* the library's value counts as changed only when it differs from the base in both terms: a
  score of 87 here is 9 on MyAnimeList (unchanged against a base of 9), and "repeating" here is
  MyAnimeList's "completed" with its flag as much as its "watching" with the flag;
* a field never synced (a service linked to an entry that another service made) has no base:
  when both sides hold a value and they differ, that is a conflict like any other.

A removal on the service (the item soft-deleted by a full pull) is merged as one value against
the entry's edits: the later wins. It removes the library entry only when no other service
still has the title; a removal is never pushed to the other services (README says why).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from integrations.exceptions import ProviderDataError
from library import merge
from library.terms import FIELDS, Terms


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # a field never synced: unequal to every value


@dataclass
class Local:
    """The library entry's side: library values and when each last changed."""

    values: Mapping[str, Any]
    changed_at: Mapping[str, datetime | None]
    removed_at: datetime | None = None


@dataclass
class Remote:
    """The service's record as last pulled."""

    attrs: Mapping[str, Any]
    deleted_at: datetime | None
    synced: Mapping[str, Any]
    kind: str


@dataclass
class Plan:
    apply: dict[str, tuple[Any, datetime]] = field(default_factory=dict)  # library terms
    push: dict[str, Any] = field(default_factory=dict)  # service terms, status always in
    conflicts: list[merge.Conflict] = field(default_factory=list)  # service terms
    synced: dict[str, Any] | None = None  # the item's new base (None: unchanged)
    remove_at: datetime | None = None  # remove the entry, unless another service has it
    restore: bool = False  # the service has the title again: the entry is not removed


def remote_changed_at(attrs: Mapping[str, Any], default: datetime) -> datetime:
    updated = attrs.get("updated_at")
    if isinstance(updated, int) and not isinstance(updated, bool) and 0 <= updated < 2**35:
        return datetime.fromtimestamp(updated, UTC)
    return default


def synced_at(synced: Mapping[str, Any]) -> datetime | None:
    at = synced.get("at")
    return parse_datetime(at) if isinstance(at, str) and len(at) <= 40 else None


def _local_changed(terms: Terms, name: str, value: Any, base: Any, kind: str) -> bool:
    if base is MISSING:  # nothing to compare with: a value here is news, no value is not
        return value is not None
    if terms.to_service(name, value, kind=kind) == base:
        return False
    try:
        return terms.to_library(name, base, kind=kind) != value
    except ProviderDataError:  # a base the service never held (an old row): compare as is
        return True


def reconcile(local: Local, remote: Remote, *, terms: Terms, fields: Sequence[str],
              now: datetime) -> Plan:
    """What to apply here, push there and record, for one entry and one service's item.
    ``ProviderDataError`` when the item's values do not convert (skip it)."""
    synced, kind = remote.synced, remote.kind
    base_at = synced_at(synced)
    fields = [name for name in FIELDS if name in fields]
    if remote.deleted_at is not None:
        return _removed(local, remote, terms=terms, fields=fields, base_at=base_at, now=now)
    values = terms.read(remote.attrs, kind=kind)
    at = remote_changed_at(remote.attrs, now)
    plan = Plan(synced={**{k: v for k, v in synced.items() if k in FIELDS},
                        "at": now.isoformat(), "updated_at": remote.attrs.get("updated_at")},
                restore=local.removed_at is not None)
    for name in fields:
        base = synced.get(name, MISSING) if not synced.get("removed") else MISSING
        ours = local.values[name]
        # No service's write can empty a progress: an empty one here is never news there.
        changed_here = (_local_changed(terms, name, ours, base, kind)
                        and not (name == "progress" and ours is None))
        # Never synced, the service's "no value" is no news either.
        theirs = base if base is MISSING and values[name] is None else values[name]
        outcome = merge.merge_field(
            field=name, synced=base, synced_at=base_at,
            local=merge.Side(terms.to_service(name, ours, kind=kind) if changed_here else base,
                             local.changed_at.get(name)),
            remote=merge.Side(theirs, at))
        if outcome.apply:
            plan.apply[name] = (terms.to_library(name, values[name], kind=kind), at)
        if outcome.push:
            plan.push[name] = outcome.value
        if outcome.conflict is not None:
            plan.conflicts.append(outcome.conflict)
        plan.synced[name] = values[name]
    if plan.push:
        plan.push.setdefault("status", values["status"])
    return plan


def _removed(local: Local, remote: Remote, *, terms: Terms, fields: Sequence[str],
             base_at: datetime | None, now: datetime) -> Plan:
    synced, kind = remote.synced, remote.kind
    if synced.get("removed"):  # accounted for already
        return Plan()
    edited = [name for name in fields if _local_changed(
        terms, name, local.values[name], synced.get(name, MISSING), kind)]
    removed = merge.Side(merge.REMOVED, remote.deleted_at)
    plan = Plan(synced={"removed": True, "at": now.isoformat()})
    if not edited:
        plan.remove_at = remote.deleted_at
        return plan
    times = [local.changed_at.get(name) for name in edited]
    ours = merge.Side({name: local.values[name] for name in FIELDS},
                      max((t for t in times if t is not None), default=None))
    base = base_at or merge.EARLIEST
    local_wins = (ours.changed_at or base) >= (remote.deleted_at or base)
    plan.conflicts.append(merge.Conflict(merge.ENTRY, ours, removed,
                                         merge.LOCAL if local_wins else merge.REMOTE))
    if local_wins:  # the edit is later: the service gets the entry back (nothing to clear)
        plan.push = {name: terms.to_service(name, local.values[name], kind=kind)
                     for name in fields if local.values[name] is not None}
        plan.push.setdefault("status", terms.to_service("status", local.values["status"],
                                                        kind=kind))
    else:
        plan.remove_at = remote.deleted_at
    return plan
