"""MyAnimeList list entries -> items and anime/manga interests (pure functions).

A page's record is ``{"node": {id, title, alternative_titles, genres, num_episodes or
num_chapters}, "list_status": {status, score, num_episodes_watched or num_chapters_read,
updated_at, ...}}``.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from integrations.cursors import MAX_EPOCH, iso_time
from integrations.exceptions import ProviderDataError
from integrations.providers.base import InterestSignal, MappedItem, require
from integrations.providers.interests import signals

MAX_GENRES = 10
MAX_TITLE = 500
MAX_STATUS = 40
MAX_COUNT = 2**31 - 1  # no title has more episodes or chapters; larger is not a count
NO_TITLE = "a list entry's title has no name"
PLANNED = frozenset({"plan_to_watch", "plan_to_read"})
# Sexual content genres (nsfw=true lists them) say something about a person's sex life, which
# matching must not use (GDPR art. 9): kept on the item, never an interest.
NOT_INTERESTS = frozenset({"Hentai", "Erotica"})


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return None
    return value


def _score(value: Any) -> int | None:
    """MAL's 1-10; 0 is "not scored" and anything else is not a score."""
    number = _count(value)
    return number if number is not None and 1 <= number <= 10 else None


def _unix(value: Any) -> int | None:
    when = iso_time(value)  # None for anything that is not a short ISO 8601 string
    seconds = int(when.timestamp()) if when is not None else None
    return seconds if seconds is not None and 0 <= seconds <= MAX_EPOCH else None


def _name(value: Any) -> str | None:
    return value.strip()[:MAX_TITLE] if isinstance(value, str) and value.strip() else None


def _titles(node: Mapping[str, Any]) -> dict[str, str]:
    """The main (romanised) title and the English and Japanese ones, where MAL has them."""
    other = node.get("alternative_titles")
    other = other if isinstance(other, Mapping) else {}
    found = {"title": _name(node.get("title")), "en": _name(other.get("en")),
             "ja": _name(other.get("ja"))}
    return {key: value for key, value in found.items() if value}


def _genres(node: Mapping[str, Any]) -> list[str]:
    genres = node.get("genres")
    names = (_name(g.get("name")) for g in (genres if isinstance(genres, list) else ())
             if isinstance(g, Mapping))
    return [name for name in names if name][:MAX_GENRES]


def list_entry_mapper(progress_key: str, total_key: str, repeating_key: str):
    """map_record of one list: ``progress_key`` is num_episodes_watched or num_chapters_read
    (in list_status), ``total_key`` num_episodes or num_chapters (in node), ``repeating_key``
    is_rewatching or is_rereading (in list_status)."""

    def map_entry(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
        node = require(record, "node", dict)
        media_id = require(node, "id", int)
        if media_id <= 0:
            raise ProviderDataError("a list entry's id is not a MyAnimeList id")
        status = record.get("list_status")
        status = status if isinstance(status, Mapping) else {}
        titles = _titles(node)
        title = titles.get("en") or titles.get("title")  # English where MAL has one
        if not title:
            raise ProviderDataError(NO_TITLE)
        value = status.get("status")
        return MappedItem(
            external_id=str(media_id),
            title=title,
            attrs={
                "entry_id": None,  # MAL entries have no id of their own: the media id is it
                "status": value[:MAX_STATUS] if isinstance(value, str) else "",
                "progress": _count(status.get(progress_key)),
                "score": _score(status.get("score")),
                # MAL has no "repeating" status: a flag beside it (library/statuses.py).
                "repeating": status.get(repeating_key) is True,
                "updated_at": _unix(status.get("updated_at")),
                "mal_id": media_id,
                "titles": titles,
                "genres": _genres(node),
                # Episodes or chapters the title has; MAL says 0 while it is unknown.
                "total": _count(node.get(total_key)) or None,
            },
        )

    return map_entry


def list_interests(category: str) -> Callable[[Mapping[str, Any]], Iterable[InterestSignal]]:
    """The genres of one entry as interests in ``category``."""

    def interests(attrs: Mapping[str, Any]) -> list[InterestSignal]:
        status = attrs.get("status")
        if status == "dropped":  # given up on: not something the person is into
            return []
        # A plan says less about a person than something watched or read (as AniList's).
        factor = 0.5 if status in PLANNED else 1.0
        genres = attrs.get("genres")
        return signals(category, [g for g in genres if isinstance(g, str)
                                  and g not in NOT_INTERESTS]
                       if isinstance(genres, list) else (), factor)

    return interests
