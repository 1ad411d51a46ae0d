"""How streams page. A paginator turns a response payload into records and the next request.

Payloads are untrusted: anything that is not the promised shape raises ProviderDataError,
never a bare KeyError or TypeError.
"""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from .exceptions import ProviderDataError

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
class PageRequest:
    url: str  # a path relative to the provider's API base, or an absolute URL on its host
    params: dict[str, Any] = field(default_factory=dict)
    number: int = 1


@dataclass(frozen=True)
class Page:
    records: list[dict]
    next: PageRequest | None


def records_at(payload: Any, key: str) -> list[dict]:
    if not isinstance(payload, dict):
        raise ProviderDataError(f"expected a JSON object, got {type(payload).__name__}")
    records = payload.get(key)
    if records is None:
        return []
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ProviderDataError(f"expected a list of objects under {key!r}")
    return records


@dataclass(frozen=True)
class NextUrlPaginator:
    """Offset/limit APIs that return the next page's full URL (Spotify, the sandbox)."""

    items_key: str = "items"
    next_key: str = "next"
    limit_param: str = "limit"
    limit: int = 50

    def first(self, path: str, params: dict[str, Any]) -> PageRequest:
        return PageRequest(path, {**params, self.limit_param: self.limit})

    def parse(self, payload: Any, request: PageRequest, *, base_url: str) -> Page:
        records = records_at(payload, self.items_key)
        next_url = payload.get(self.next_key)
        if next_url in (None, ""):
            return Page(records, None)
        if not isinstance(next_url, str):
            raise ProviderDataError(f"{self.next_key!r} is not a URL")
        # The bearer token follows the next URL, so it must stay on the API's own origin.
        next_url = resolve_next(next_url, base_url=base_url)
        if not records:
            return Page(records, None)  # a next link after an empty page would loop forever
        return Page(records, PageRequest(next_url, {}, request.number + 1))


@dataclass(frozen=True)
class PageNumberPaginator:
    """``page``/``limit`` APIs with a total count (Open Library's reading log).

    Without a total the pass ends at a short page, or at the stream's page cap (streams.py).
    """

    items_key: str
    total_key: str = "numFound"
    page_param: str = "page"
    limit_param: str = "limit"
    limit: int = 100

    def first(self, path: str, params: dict[str, Any]) -> PageRequest:
        return PageRequest(path, {**params, self.page_param: 1, self.limit_param: self.limit})

    def parse(self, payload: Any, request: PageRequest, *, base_url: str) -> Page:
        records = records_at(payload, self.items_key)
        total = payload.get(self.total_key)
        if total is not None and (not isinstance(total, int) or isinstance(total, bool)):
            raise ProviderDataError(f"{self.total_key!r} is not a number")
        number = request.number
        done = len(records) < self.limit or (total is not None and number * self.limit >= total)
        if done:
            return Page(records, None)
        params = {**request.params, self.page_param: number + 1}
        return Page(records, PageRequest(request.url, params, number + 1))


Paginator = NextUrlPaginator | PageNumberPaginator
