"""Kitsu's JSON:API (https://kitsu.app/api/edge): addresses, the account call, and the paginator
that resolves each library entry's media from the page's ``included`` resources."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integrations.exceptions import ProviderDataError
from integrations.pagination import NextUrlPaginator, Page
from integrations.providers.base import require
from integrations.wire import ApiRequest, ApiResponse

logger = logging.getLogger(__name__)

# kitsu.io expired in August 2024: kitsu.app is the current host (PROVIDERS.md section 6).
API_BASE = "https://kitsu.app/api/edge/"
TOKEN_URL = "https://kitsu.app/api/oauth/token"
USERS = "users"
LIBRARY_ENTRIES = "library-entries"
# Observed maximum for library-entries in several clients is 500; 100 keeps one page (with its
# media, categories and mappings included) well under the response size cap.
PAGE_LIMIT = 100
MEDIA_TYPE = "application/vnd.api+json"

# Bounds on what one page may make us index or resolve (provider data is hostile).
MAX_INCLUDED = 20_000
MAX_RELATED = 50  # categories or mappings of one media
MAX_ID_LENGTH = 50

NO_ACCOUNT = "Kitsu did not say which account the token belongs to."
NO_RELATION = "a library entry has no {relation} relationship"
NOT_INCLUDED = "library entry {entry} names {relation} {media}, which the page does not include"


def library_params(kind: str) -> dict[str, str]:
    """The list query of one kind; ``{userId}`` is filled from the connection."""
    return {
        "filter[userId]": "{userId}",
        "filter[kind]": kind,
        # categories are Kitsu's taste signal (the older genres are deprecated); mappings
        # carry the MyAnimeList id that merges entries across services.
        "include": f"{kind},{kind}.categories,{kind}.mappings",
        # A stable order for offset paging: sorted by updatedAt, an entry changed during a
        # pass moves to the front and shifts another past the pages already read, which a
        # full pass would then take as removed.
        "sort": "id",
    }


def account(client) -> tuple[str, str]:
    """The token's own user: (id, name)."""
    payload = client.fetch(ApiRequest(USERS, params={"filter[self]": "true"})).payload
    users = require(payload, "data", list)
    if not users or not isinstance(users[0], dict):
        raise ProviderDataError(NO_ACCOUNT)
    found = users[0]
    user_id = _id(found)
    if user_id is None:
        raise ProviderDataError(NO_ACCOUNT)
    attributes = found.get("attributes")
    name = attributes.get("name") if isinstance(attributes, dict) else None
    return user_id, name.strip()[:100] if isinstance(name, str) else ""


def _id(resource: Any) -> str | None:
    """A resource identifier's id: a short non-empty string (JSON:API ids are strings)."""
    value = resource.get("id") if isinstance(resource, Mapping) else None
    if isinstance(value, str) and value.strip() and len(value) <= MAX_ID_LENGTH:
        return value
    return None


def _key(resource: Any) -> tuple[str, str] | None:
    kind = resource.get("type") if isinstance(resource, Mapping) else None
    ident = _id(resource)
    return (kind, ident) if isinstance(kind, str) and ident is not None else None


def index_included(payload: Any) -> dict[tuple[str, str], dict]:
    """``included`` as {(type, id): resource}; resources without a usable type and id are
    ignored (nothing can point at them)."""
    included = payload.get("included") if isinstance(payload, dict) else None
    if included is None:
        return {}
    if not isinstance(included, list) or len(included) > MAX_INCLUDED:
        raise ProviderDataError("the page's included resources are not a bounded list")
    found = {}
    for resource in included:
        key = _key(resource)
        if key is not None:
            found.setdefault(key, resource)
    return found


def related(resource: Mapping[str, Any], name: str) -> Any:
    """``relationships.<name>.data`` of a resource (None when absent)."""
    relationships = resource.get("relationships")
    relation = relationships.get(name) if isinstance(relationships, Mapping) else None
    return relation.get("data") if isinstance(relation, Mapping) else None


def _attributes_of_related(media: Mapping[str, Any], name: str,
                           index: Mapping[tuple[str, str], dict]) -> list[dict]:
    """The attributes of a media's related resources found in ``included``; a reference that
    is not there is left out (categories and mappings only enrich an entry)."""
    data = related(media, name)
    found = []
    for reference in data[:MAX_RELATED] if isinstance(data, list) else ():
        resource = index.get(_key(reference)) if _key(reference) else None
        attributes = resource.get("attributes") if resource else None
        if isinstance(attributes, dict):
            found.append(attributes)
    return found


def resolve_entry(record: Mapping[str, Any], relation: str,
                  index: Mapping[tuple[str, str], dict]) -> dict | None:
    """The entry with its media (``media``: id, attributes, categories, mappings), or None for
    an entry whose media is gone (its relationship says null: nothing to list)."""
    relationships = record.get("relationships")
    if not isinstance(relationships, Mapping) or not isinstance(
            relationships.get(relation), Mapping):
        raise ProviderDataError(NO_RELATION.format(relation=relation))
    reference = related(record, relation)
    if reference is None:
        logger.warning("a Kitsu library entry without its %s was skipped", relation)
        return None
    key = _key(reference)
    if key is None:
        raise ProviderDataError(NO_RELATION.format(relation=relation))
    media = index.get(key)
    if media is None:
        # Not skipped: a full pass would then take the title as removed from the list.
        raise ProviderDataError(NOT_INCLUDED.format(entry=str(_id(record))[:MAX_ID_LENGTH],
                                                    relation=relation, media=key[1]))
    attributes = media.get("attributes")
    return {**record, "media": {
        "id": key[1],
        "attributes": attributes if isinstance(attributes, dict) else {},
        "categories": _attributes_of_related(media, "categories", index),
        "mappings": _attributes_of_related(media, "mappings", index),
    }}


@dataclass(frozen=True)
class IncludedPaginator(NextUrlPaginator):
    """JSON:API pages (``data`` + ``links.next``) whose records come back with the related
    resource named ``relation`` resolved from ``included``."""

    items_key: str = "data"
    next_key: str = "links.next"
    limit_param: str = "page[limit]"
    limit: int = PAGE_LIMIT
    relation: str = "anime"

    def parse(self, response: ApiResponse, request: ApiRequest, *, base_url: str) -> Page:
        page = super().parse(response, request, base_url=base_url)
        index = index_included(response.payload)
        records = [resolve_entry(record, self.relation, index) for record in page.records]
        return Page([r for r in records if r is not None], page.next, page.cursor)
