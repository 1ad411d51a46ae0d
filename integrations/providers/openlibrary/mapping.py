"""Open Library records -> items and book interests (pure functions)."""

import re
from collections.abc import Mapping
from typing import Any

from integrations.exceptions import ProviderDataError
from integrations.providers.base import MappedItem, require, string_list
from integrations.providers.interests import signals

WORK_KEY = re.compile(r"^/works/(OL\d+W)$")
MAX_SUBJECTS = 8


def map_reading_log_entry(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
    work = require(record, "work", dict)
    match = WORK_KEY.match(require(work, "key"))
    if not match:
        raise ProviderDataError("a reading-log entry has an unexpected work key")
    return MappedItem(
        external_id=match.group(1),
        title=require(work, "title")[:500],
        attrs={
            "authors": string_list(work, "author_names")[:5],
            "shelf": segment.get("shelf", ""),
        },
    )


def subjects_of(work: Any) -> list[str]:
    if not isinstance(work, Mapping):
        raise ProviderDataError("a work record is not an object")
    return string_list(work, "subjects")[:MAX_SUBJECTS]


def subject_interests(attrs: Mapping[str, Any]):
    # Books finished or being read say more about a person than a wish list.
    weight = 0.5 if attrs.get("shelf") == "want-to-read" else 1.0
    return signals("books", attrs.get("subjects") or (), weight)
