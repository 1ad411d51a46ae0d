"""Kitsu library entries (with their media resolved by client.IncludedPaginator) -> items, and
their categories -> anime/manga interests (pure functions)."""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from integrations.exceptions import ProviderDataError
from integrations.providers.base import InterestSignal, MappedItem, require
from integrations.providers.interests import signals

MAX_GENRES = 10
MAX_TITLES = 10
MAX_TITLE_KEY = 20
NO_TITLE = "a library entry's media has no title"
# ratingTwenty: 2-20 (a 1-10 score in half steps); null means not rated.
RATING_RANGE = range(2, 21)
MAX_PROGRESS = 1_000_000
# What Kitsu's mappings call MyAnimeList, per kind.
MAL_SITE = "myanimelist/{kind}"


def _whole(value: Any, bounds: range) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value not in bounds:
        return None
    return value


def _unix(value: Any) -> int | None:
    """An ISO 8601 time (``2025-02-01T00:00:00.000Z``) as Unix seconds; None otherwise."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(moment.timestamp()) if moment.tzinfo is not None else None


def _titles(attributes: Mapping[str, Any]) -> dict[str, str]:
    titles = attributes.get("titles")
    if not isinstance(titles, Mapping):
        return {}
    kept = {}
    for key, value in titles.items():
        if (isinstance(key, str) and len(key) <= MAX_TITLE_KEY and isinstance(value, str)
                and value.strip()):
            kept[key] = value.strip()
        if len(kept) == MAX_TITLES:
            break
    return kept


def _title(attributes: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    canonical = attributes.get("canonicalTitle")
    if isinstance(canonical, str) and canonical.strip():
        return canonical.strip()
    for key in ("en", "en_jp", "en_us", "ja_jp"):  # Kitsu's usual keys, most readable first
        if key in titles:
            return titles[key]
    if titles:
        return next(iter(titles.values()))
    raise ProviderDataError(NO_TITLE)


def _mal_id(mappings: Iterable[Any], kind: str) -> int | None:
    site = MAL_SITE.format(kind=kind)
    for found in mappings:
        external = found.get("externalId") if isinstance(found, Mapping) else None
        if (found.get("externalSite") == site and isinstance(external, str)
                and external.isascii() and external.isdigit() and len(external) <= 10):
            return int(external)
    return None


def _genres(categories: Iterable[Any]) -> list[str]:
    names = []
    for category in categories:
        title = category.get("title") if isinstance(category, Mapping) else None
        if isinstance(title, str) and title.strip() and title.strip() not in names:
            names.append(title.strip())
    return names[:MAX_GENRES]


def entry_mapper(kind: str) -> Callable[[Mapping[str, Any], Mapping[str, str]], MappedItem]:
    """The mapping of one list (``kind``: "anime" or "manga")."""

    def map_library_entry(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
        """One library entry. Its id here is the media id, as for every list service: the
        cross-service merge and the item's identity follow the title, not the entry."""
        media = require(record, "media", dict)
        attributes = record.get("attributes")
        attributes = attributes if isinstance(attributes, Mapping) else {}
        media_attributes = media.get("attributes")
        media_attributes = media_attributes if isinstance(media_attributes, Mapping) else {}
        titles = _titles(media_attributes)
        status = attributes.get("status")
        return MappedItem(
            external_id=require(media, "id", str),
            title=_title(media_attributes, titles),
            attrs={
                "entry_id": require(record, "id", str),
                "status": status if isinstance(status, str) else "",
                "progress": _whole(attributes.get("progress"), range(MAX_PROGRESS)),
                "score": _whole(attributes.get("ratingTwenty"), RATING_RANGE),
                # Kitsu has no "repeating" status: a flag beside it (library/statuses.py).
                "repeating": attributes.get("reconsuming") is True,
                "updated_at": _unix(attributes.get("updatedAt")),
                "mal_id": _mal_id(media.get("mappings") or (), kind),
                "titles": titles,
                "genres": _genres(media.get("categories") or ()),
            },
        )

    return map_library_entry


def list_interests(category: str) -> Callable[[Mapping[str, Any]], Iterable[InterestSignal]]:
    """Categories of one entry as interests in ``category`` (as AniList's genres)."""

    def interests(attrs: Mapping[str, Any]) -> list[InterestSignal]:
        status = attrs.get("status")
        if status == "dropped":  # given up on: not something the person is into
            return []
        factor = 0.5 if status == "planned" else 1.0  # a plan says less than a watched title
        genres = attrs.get("genres")
        return signals(category, [g for g in genres if isinstance(g, str)]
                       if isinstance(genres, list) else (), factor)

    return interests
