"""Spotify records -> items and music interests (pure functions)."""

from collections.abc import Mapping
from typing import Any

from integrations.providers.base import MappedItem, require, string_list
from integrations.providers.interests import signals


def map_top_artist(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
    return MappedItem(
        external_id=require(record, "id"),
        title=require(record, "name")[:500],
        attrs={"genres": string_list(record, "genres")[:10]},
    )


def map_saved_track(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
    track = require(record, "track", dict)
    artists = track.get("artists") if isinstance(track.get("artists"), list) else []
    names = [a["name"] for a in artists if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return MappedItem(
        external_id=require(track, "id"),
        title=require(track, "name")[:500],
        attrs={"artists": names[:5]},
    )


def artist_genre_interests(attrs: Mapping[str, Any]):
    return signals("music", attrs.get("genres") or ())
