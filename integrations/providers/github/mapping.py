"""GitHub starred repositories -> items and code interests (pure functions)."""

from collections.abc import Mapping
from typing import Any

from integrations.providers.base import MappedItem, require, string_list
from integrations.providers.interests import signal, signals

# The language is what a repository is written in; a topic is one tag of several.
LANGUAGE_WEIGHT = 1.0
TOPIC_WEIGHT = 0.5
MAX_TOPICS = 20  # GitHub allows 20 topics per repository


def _optional(record: Mapping[str, Any], key: str, kind: type) -> Any:
    value = record.get(key)
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def map_star(record: Mapping[str, Any], segment: Mapping[str, str]) -> MappedItem:
    """One ``{"starred_at", "repo"}`` item (the star+json media type)."""
    repo = require(record, "repo", dict)
    full_name = require(repo, "full_name")
    return MappedItem(
        # The numeric id survives renames and transfers; full_name does not.
        external_id=str(require(repo, "id", int)),
        title=full_name,
        attrs={
            "full_name": full_name,
            "description": _optional(repo, "description", str),
            "html_url": _optional(repo, "html_url", str),
            "language": _optional(repo, "language", str),
            "topics": string_list(repo, "topics")[:MAX_TOPICS],
            "stargazers_count": _optional(repo, "stargazers_count", int),
            "starred_at": require(record, "starred_at"),
        },
    )


def code_interests(attrs: Mapping[str, Any]):
    language = attrs.get("language")
    found = [signal("code", language, LANGUAGE_WEIGHT)] if isinstance(language, str) else []
    topics = attrs.get("topics") if isinstance(attrs.get("topics"), list) else []
    found += signals("code", [t for t in topics if isinstance(t, str)], TOPIC_WEIGHT)
    # A "python" topic on a Python repository is one interest, at the language's weight.
    unique = {}
    for found_signal in found:
        if found_signal is not None:
            unique.setdefault(found_signal.slug, found_signal)
    return list(unique.values())
