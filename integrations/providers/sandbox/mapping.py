"""Sandbox records -> items and music interests (pure functions)."""

from collections.abc import Mapping
from typing import Any

from integrations.providers.base import MappedItem, require, string_list
from integrations.providers.interests import signals


def map_track(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
    return MappedItem(
        external_id=require(record, "id"),
        title=require(record, "title")[:500],
        attrs={
            "artist": record.get("artist") if isinstance(record.get("artist"), str) else "",
            "genres": string_list(record, "genres")[:10],
        },
    )


def map_artist(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
    return MappedItem(
        external_id=require(record, "id"),
        title=require(record, "name")[:500],
        attrs={"genres": string_list(record, "genres")[:10]},
    )


def genre_interests(attrs: Mapping[str, Any]):
    return signals("music", attrs.get("genres") or ())
