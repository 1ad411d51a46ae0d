"""How streams page. Every paginator has one protocol: ``first(request)`` completes a
stream's first request (page size, first page number), ``parse(response, request, base_url=)``
returns a Page of (records, next request, cursor). The next request is a whole ApiRequest
(method, URL, params, body), which is what the checkpoint stores.

Payloads are untrusted: anything that is not the promised shape raises ProviderDataError,
never a bare KeyError or TypeError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from .exceptions import ProviderDataError
from .wire import ApiRequest, ApiResponse

DEFAULT_PORTS = {"http": 80, "https": 443}
FOREIGN_NEXT = "the next-page URL points to another address"
MAX_URL_LENGTH = 8192


def same_origin(url: str, base: str) -> bool:
    """True when ``url`` has exactly ``base``'s scheme, host and port, and no user info.

    The bearer token goes wherever a request goes, so anything unusual is refused rather than
    normalised: backslashes, whitespace and control characters (browsers and servers disagree
    on them), ``user@`` parts, a port that does not parse, schemes other than http(s).
    """
    if not isinstance(url, str) or "\\" in url or any(ord(c) <= 0x20 or ord(c) == 0x7F
                                                      for c in url):
        return False
    try:
        target, origin = urlsplit(url), urlsplit(base)
        target_port, origin_port = target.port, origin.port
    except ValueError:
        return False
    scheme = target.scheme.lower()
    if scheme not in DEFAULT_PORTS or scheme != origin.scheme.lower() or "@" in target.netloc:
        return False
    return (target.hostname is not None and target.hostname == origin.hostname
            and (target_port or DEFAULT_PORTS[scheme])
            == (origin_port or DEFAULT_PORTS[origin.scheme.lower()]))


def resolve_next(next_url: str, *, base_url: str) -> str:
    """A provider's next-page link made absolute, or ProviderDataError when it leaves the API's
    origin (another host or port, plain http, ftp:, //host, user info, backslashes...)."""
    if len(next_url) > MAX_URL_LENGTH:  # it is sent again and kept in the checkpoint
        raise ProviderDataError(FOREIGN_NEXT)
    if same_origin(next_url, base_url):
        return next_url
    try:
        relative = not urlsplit(next_url).scheme and not next_url.startswith(("//", "\\"))
    except ValueError:
        relative = False
    if relative and same_origin(joined := urljoin(base_url, next_url), base_url):
        return joined
    raise ProviderDataError(FOREIGN_NEXT)


@dataclass(frozen=True)
class Page:
    records: list[dict]
    next: ApiRequest | None
    # A value the provider handed out for the next pass (a sync token), or None.
    cursor: Any = None


class Paginator(Protocol):
    def first(self, request: ApiRequest) -> ApiRequest: ...

    def parse(self, response: ApiResponse, request: ApiRequest, *, base_url: str) -> Page: ...


def value_at(payload: Any, path: str) -> Any:
    """The value at a dotted path (``links.next``) of nested objects; None where one is absent."""
    value = payload
    for key in path.split(".") if path else ():
        if not isinstance(value, dict):
            raise ProviderDataError(f"expected a JSON object at {key!r}")
        value = value.get(key)
        if value is None:
            return None
    return value


def records_at(payload: Any, path: str) -> list[dict]:
    """The list of objects at ``path`` ("" for a payload that is the list itself)."""
    if path and not isinstance(payload, dict):
        raise ProviderDataError(f"expected a JSON object, got {type(payload).__name__}")
    records = value_at(payload, path)
    if records is None:
        return []
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ProviderDataError(f"expected a list of objects under {path or 'the body'!r}")
    return records


def whole_number(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProviderDataError(f"{name!r} is not a number")
    return value


@dataclass(frozen=True)
class NextUrlPaginator:
    """APIs that return the next page's full URL at a JSON path: ``next`` (Spotify, the
    sandbox), ``links.next`` (JSON:API, Kitsu), ``paging.next`` (MyAnimeList)."""

    items_key: str = "items"
    next_key: str = "next"
    limit_param: str = "limit"
    limit: int = 50

    def first(self, request: ApiRequest) -> ApiRequest:
        return request.with_params(**{self.limit_param: self.limit})

    def parse(self, response: ApiResponse, request: ApiRequest, *, base_url: str) -> Page:
        records = records_at(response.payload, self.items_key)
        next_url = value_at(response.payload, self.next_key)
        if next_url in (None, ""):
            return Page(records, None)
        if not isinstance(next_url, str):
            raise ProviderDataError(f"{self.next_key!r} is not a URL")
        # The bearer token follows the next URL, so it must stay on the API's own origin.
        next_url = resolve_next(next_url, base_url=base_url)
        if not records:
            return Page(records, None)  # a next link after an empty page would loop forever
        return Page(records, request.next_page(url=next_url, params={}))


@dataclass(frozen=True)
class PageNumberPaginator:
    """``page``/``limit`` APIs, with a total count where the provider gives one (Open Library).

    Without a total the pass ends at a short page, or at the stream's page cap (streams.py).
    """

    items_key: str
    total_key: str = "numFound"
    page_param: str = "page"
    limit_param: str = "limit"
    limit: int = 100

    def first(self, request: ApiRequest) -> ApiRequest:
        return request.with_params(**{self.page_param: 1, self.limit_param: self.limit})

    def parse(self, response: ApiResponse, request: ApiRequest, *, base_url: str) -> Page:
        records = records_at(response.payload, self.items_key)
        total = whole_number(value_at(response.payload, self.total_key)
                             if self.total_key and isinstance(response.payload, dict) else None,
                             self.total_key)
        number = request.number
        done = len(records) < self.limit or (total is not None and number * self.limit >= total)
        if done:
            return Page(records, None)
        return Page(records, request.next_page(
            params={**request.params, self.page_param: number + 1}))
