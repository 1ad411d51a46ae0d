"""List statuses: the library's own six and each service's, both ways.

AniList has all six. MyAnimeList and Kitsu have no "repeating" status, only a flag beside
the status (MyAnimeList ``is_rewatching``/``is_rereading``, Kitsu ``reconsuming``):

* push: repeating is sent as the "current" status (MyAnimeList watching/reading, Kitsu
  current) with the flag set; every other status is sent with the flag cleared;
* pull: the flag on a current or completed entry reads as repeating (MyAnimeList's own site
  keeps a rewatch under "completed" with the flag); on any other status the status stands.

A status a service does not have raises ``ProviderDataError`` (pull) or ``ValueError`` (a
library status or kind that does not exist: a bug here, not a provider's).
"""

from typing import NamedTuple

from integrations.exceptions import ProviderDataError

ANILIST, MYANIMELIST, KITSU = "anilist", "myanimelist", "kitsu"
CURRENT, PLANNING, COMPLETED = "current", "planning", "completed"
PAUSED, DROPPED, REPEATING = "paused", "dropped", "repeating"
STATUSES = (CURRENT, PLANNING, COMPLETED, PAUSED, DROPPED, REPEATING)
KINDS = ("anime", "manga")
UNKNOWN_STATUS = "{service} has no {kind} list status {value}"

ANILIST_STATUSES = {status: status.upper() for status in STATUSES}
# repeating is absent: it is current + the flag (module docstring).
MYANIMELIST_STATUSES = {
    "anime": {CURRENT: "watching", PLANNING: "plan_to_watch", COMPLETED: "completed",
              PAUSED: "on_hold", DROPPED: "dropped"},
    "manga": {CURRENT: "reading", PLANNING: "plan_to_read", COMPLETED: "completed",
              PAUSED: "on_hold", DROPPED: "dropped"},
}
KITSU_STATUSES = {CURRENT: "current", PLANNING: "planned", COMPLETED: "completed",
                  PAUSED: "on_hold", DROPPED: "dropped"}
# The statuses on which the repeating flag means "repeating".
FLAG_MEANS_REPEATING = (CURRENT, COMPLETED)


class ServiceStatus(NamedTuple):
    status: str
    repeating: bool  # the service's flag; AniList has none and ignores it


def _table(service: str, kind: str) -> dict[str, str]:
    if kind not in KINDS:
        raise ValueError(f"no list kind {kind!r}")
    if service == ANILIST:
        return ANILIST_STATUSES
    if service == MYANIMELIST:
        return MYANIMELIST_STATUSES[kind]
    if service == KITSU:
        return KITSU_STATUSES
    raise ValueError(f"no list service {service!r}")


def status_to_service(service: str, status: str, *, kind: str) -> ServiceStatus:
    """What to send to ``service`` for a library status."""
    table = _table(service, kind)
    if status not in STATUSES:
        raise ValueError(f"no library status {status!r}")
    if service == ANILIST:
        return ServiceStatus(table[status], False)
    if status == REPEATING:
        return ServiceStatus(table[CURRENT], True)
    return ServiceStatus(table[status], False)


def status_from_service(service: str, value: object, *, kind: str,
                        repeating: bool = False) -> str:
    """The library status of a service's status (and its repeating flag)."""
    table = _table(service, kind)
    found = next((ours for ours, theirs in table.items() if theirs == value), None)
    if found is None:
        raise ProviderDataError(UNKNOWN_STATUS.format(
            service=service, kind=kind, value=repr(value)[:40]))
    if service != ANILIST and repeating is True and found in FLAG_MEANS_REPEATING:
        return REPEATING
    return found
