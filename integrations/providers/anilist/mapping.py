"""AniList list entries -> items and anime/manga interests (pure functions)."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from integrations.exceptions import ProviderDataError
from integrations.providers.base import InterestSignal, MappedItem, require, string_list
from integrations.providers.interests import signal, signals

# Tags are ranked 0-100 by AniList's voters: below 60 a tag is a minor element of the story.
MIN_TAG_RANK = 60
MAX_GENRES = 10
MAX_TAGS = 10
MAX_TITLE = 500
NO_TITLE = "a list entry's media has no title"


def _number(value: Any) -> int | None:
    """A whole number from the API (POINT_100 scores arrive as 85 or 85.0); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return round(value) if abs(value) < 2**53 else None


def _positive(value: Any) -> int | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _titles(media: Mapping[str, Any]) -> dict[str, str]:
    """Every name AniList gives, bounded: the library matches and shows titles from these."""
    title = media.get("title")
    names = title if isinstance(title, Mapping) else {}
    return {key: value.strip()[:MAX_TITLE] for key in ("english", "romaji", "native")
            if isinstance(value := names.get(key), str) and value.strip()}


def _title(media: Mapping[str, Any]) -> str:
    title = media.get("title")
    names = title if isinstance(title, Mapping) else {}
    for key in ("english", "romaji"):  # English where AniList has one, as people here read it
        value = names.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise ProviderDataError(NO_TITLE)


def _tags(media: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Ranked tags worth an interest: never spoilers (they are stored and may be shown)."""
    tags = media.get("tags")
    kept = []
    for tag in tags if isinstance(tags, list) else ():
        if not isinstance(tag, Mapping) or tag.get("isMediaSpoiler") is not False:
            continue
        name, rank = tag.get("name"), _number(tag.get("rank"))
        if isinstance(name, str) and name.strip() and rank is not None and rank >= MIN_TAG_RANK:
            kept.append({"name": name.strip(), "rank": min(rank, 100)})
    return sorted(kept, key=lambda t: -t["rank"])[:MAX_TAGS]


def map_list_entry(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
    """One entry of a person's list. Its id here is the media id: the entry's own id changes
    when an entry is removed and added again, and SaveMediaListEntry (the two-way sync's
    push) addresses an entry by media id."""
    media = require(record, "media", dict)
    status = record.get("status")
    return MappedItem(
        external_id=str(require(record, "mediaId", int)),
        title=_title(media),
        attrs={
            "entry_id": require(record, "id", int),
            "status": status if isinstance(status, str) else "",
            "progress": _number(record.get("progress")),
            "score": _number(record.get("score")),  # 0-100; 0 is "not scored"
            "updated_at": _number(record.get("updatedAt")),  # Unix seconds
            # The MyAnimeList id of the media: how the library knows it is the same title on
            # MyAnimeList and Kitsu. Null where AniList has none (or says something else).
            "mal_id": _positive(media.get("idMal")),
            "titles": _titles(media),
            "genres": string_list(media, "genres")[:MAX_GENRES],
            "tags": _tags(media),
        },
    )


def list_interests(category: str) -> Callable[[Mapping[str, Any]], Iterable[InterestSignal]]:
    """Genres (full weight) and ranked tags (weight rank/100) of one entry, as ``category``."""

    def interests(attrs: Mapping[str, Any]) -> list[InterestSignal]:
        status = attrs.get("status")
        if status == "DROPPED":  # given up on: not something the person is into
            return []
        # A plan says less about a person than something watched or read (as Open Library's
        # want-to-read shelf).
        factor = 0.5 if status == "PLANNING" else 1.0
        genres = attrs.get("genres")
        found = signals(category, [g for g in genres if isinstance(g, str)]
                        if isinstance(genres, list) else (), factor)
        tags = attrs.get("tags")
        for tag in tags if isinstance(tags, list) else ():
            if not isinstance(tag, Mapping) or not isinstance(tag.get("name"), str):
                continue
            rank = _number(tag.get("rank"))
            if rank is not None and MIN_TAG_RANK <= rank <= 100:
                found.append(signal(category, tag["name"], factor * rank / 100))
        return [s for s in found if s is not None]

    return interests
