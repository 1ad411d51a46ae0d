"""How streams page. Every paginator has one protocol: ``first(request)`` completes a
stream's first request (page size, first page number), ``parse(response, request, base_url=)``
returns a Page of (records, next request, cursor). The next request is a whole ApiRequest
(method, URL, params, body), which is what the checkpoint stores.

Payloads are untrusted: anything that is not the promised shape raises ProviderDataError,
never a bare KeyError or TypeError.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, timedelta
from typing import Any, ClassVar, Protocol
from urllib.parse import urljoin, urlsplit

from . import clock
from .exceptions import ProviderDataError
from .links import MAX_LINK_HEADER, next_link
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
    # Whether a full pass sees every record the provider has (so the records it did not see
    # are gone); a paginator that reads only a window of the history sets it False.
    reads_everything: ClassVar[bool] = True

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


# -- more shapes: Link header, cursor parameter, GraphQL pageInfo, sync token ----------------

HUGE_LINK_HEADER = "the Link header is too large to be a list of page links"
UNUSABLE_ID = "the last record has no usable {key!r} to continue from"
MORE_BUT_EMPTY = "the provider said there was more after an empty page"
GRAPHQL_FAILED = "the GraphQL API answered with errors and no data"
GRAPHQL_PARTIAL = "the GraphQL API answered with errors instead of the list"
UNUSABLE_TOKEN = "{key!r} is not a usable token"
# Ids and page cursors are sent back and kept in the checkpoint; longer ones are not ids.
MAX_ID_LENGTH = 255
# Google page tokens can be a few hundred characters; sync tokens are kept as the stream's
# cursor, whose values are at most 100 characters (cursors.MAX_CURSOR_LENGTH).
MAX_PAGE_TOKEN_LENGTH = 2048
MAX_SYNC_TOKEN_LENGTH = 100
MAX_GRAPHQL_ERRORS = 10
MAX_GRAPHQL_MESSAGE = 200


def header(response: ApiResponse, name: str) -> str:
    """A response header by name, case-insensitively even when ``headers`` is a plain dict."""
    value = response.headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in response.headers.items()
                      if isinstance(k, str) and k.lower() == lowered), None)
    return value if isinstance(value, str) else ""


def token_at(payload: Any, key: str, *, max_length: int) -> str | None:
    """A non-empty string token at ``key`` (None when absent or empty); anything else, or a
    token too long to send back, is ProviderDataError."""
    value = value_at(payload, key) if isinstance(payload, dict) else None
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise ProviderDataError(UNUSABLE_TOKEN.format(key=key))
    return value


def flag_at(payload: Any, key: str) -> bool:
    """The boolean at ``key``: a missing or non-boolean flag is ProviderDataError, since
    guessing "no more pages" would end a pass early."""
    value = value_at(payload, key) if isinstance(payload, dict) else None
    if not isinstance(value, bool):
        raise ProviderDataError(f"{key!r} is not true or false")
    return value


@dataclass(frozen=True)
class LinkHeaderPaginator:
    """The next page in the ``Link`` response header, ``rel="next"`` (GitHub). No next link,
    or an empty page, ends the pass."""

    per_page_param: str = "per_page"
    per_page: int = 100
    items_key: str = ""

    def first(self, request: ApiRequest) -> ApiRequest:
        return request.with_params(**{self.per_page_param: self.per_page})

    def parse(self, response: ApiResponse, request: ApiRequest, *, base_url: str) -> Page:
        records = records_at(response.payload, self.items_key)
        link = header(response, "Link")
        if len(link) > MAX_LINK_HEADER:
            # Refused, not cut short: a truncated header could drop the next link and end the
            # pass early, as if the rest of the list were gone.
            raise ProviderDataError(HUGE_LINK_HEADER)
        next_url = next_link(link)
        if next_url is None:
            return Page(records, None)
        next_url = resolve_next(next_url, base_url=base_url)  # the token follows it
        if not records:
            return Page(records, None)  # a next link after an empty page would loop forever
        return Page(records, request.next_page(url=next_url, params={}))


@dataclass(frozen=True)
class CursorParamPaginator:
    """The last record's id sent back as a parameter while ``has_more`` is true (Stripe's
    ``starting_after``).

    ``has_more`` true with an empty page is ProviderDataError, not the end: there is no id to
    continue from, and ending there would treat the records not yet read as gone.
    """

    items_key: str = "data"
    cursor_param: str = "starting_after"
    has_more_key: str = "has_more"
    id_key: str = "id"
    limit_param: str = "limit"
    limit: int = 100

    def first(self, request: ApiRequest) -> ApiRequest:
        return request.with_params(**{self.limit_param: self.limit})

    def parse(self, response: ApiResponse, request: ApiRequest, *, base_url: str) -> Page:
        records = records_at(response.payload, self.items_key)
        if not flag_at(response.payload, self.has_more_key):
            return Page(records, None)
        if not records:
            raise ProviderDataError(MORE_BUT_EMPTY)
        last_id = records[-1].get(self.id_key)
        if not isinstance(last_id, str) or not 0 < len(last_id) <= MAX_ID_LENGTH:
            raise ProviderDataError(UNUSABLE_ID.format(key=self.id_key))
        return Page(records, request.next_page(
            params={**request.params, self.cursor_param: last_id}))


def graphql_errors(payload: Any) -> list[str]:
    """The messages of a GraphQL ``errors`` list (at most 10, each cut to 200 characters);
    [] when there is none. Never raises, so a provider's payload check can call it first.
    The messages are the provider's words: show or log them only through redaction."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return []
    messages = []
    for error in errors[:MAX_GRAPHQL_ERRORS]:
        message = error.get("message") if isinstance(error, dict) else None
        messages.append(message[:MAX_GRAPHQL_MESSAGE] if isinstance(message, str)
                        else "unknown error")
    return messages


def graphql_variables(request: ApiRequest) -> dict[str, Any]:
    """The variables of a GraphQL request ``{"query": ..., "variables": {...}}``."""
    body = request.json
    if not (isinstance(body, dict) and isinstance(body.get("query"), str)):
        raise ValueError("a GraphQL stream's request has a JSON body with a query")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise ValueError("a GraphQL request's variables are an object")
    return variables


def with_variables(request: ApiRequest, **changes: Any) -> dict[str, Any]:
    variables = graphql_variables(request)  # checks the body first
    return {**request.json, "variables": {**variables, **changes}}


def graphql_page(payload: Any, records_path: str, page_info_path: str
                 ) -> tuple[list[dict], dict]:
    """The records and the pageInfo object of a GraphQL answer.

    GraphQL answers errors with 200: errors and no data is ProviderDataError; errors beside
    data are accepted (a field deep in one record failed) unless the list itself is missing,
    which would otherwise read as an empty list and end the pass.
    """
    if not isinstance(payload, dict):
        raise ProviderDataError(f"expected a JSON object, got {type(payload).__name__}")
    errors, data = graphql_errors(payload), payload.get("data")
    if errors and data is None:
        raise ProviderDataError(GRAPHQL_FAILED)
    if errors and value_at(data, records_path) is None:
        raise ProviderDataError(GRAPHQL_PARTIAL)
    records = records_at(data, records_path)
    page_info = value_at(data, page_info_path)
    if not isinstance(page_info, dict):
        raise ProviderDataError(f"expected a pageInfo object at {page_info_path!r}")
    return records, page_info


@dataclass(frozen=True)
class GraphQLPageInfoPaginator:
    """A GraphQL ``Page(page:, perPage:)`` (AniList): the same POST with the page variable one
    more while ``pageInfo.hasNextPage`` is true.

    An empty page ends the pass even when hasNextPage says otherwise: AniList's pageInfo is
    known to overstate what is left, and an empty page has nothing further to offer.
    """

    records_path: str
    page_info_path: str
    page_variable: str = "page"
    per_page_variable: str = "perPage"
    per_page: int = 50

    def first(self, request: ApiRequest) -> ApiRequest:
        return replace(request, json=with_variables(request, **{
            self.page_variable: 1, self.per_page_variable: self.per_page}))

    def parse(self, response: ApiResponse, request: ApiRequest, *, base_url: str) -> Page:
        records, page_info = graphql_page(response.payload, self.records_path,
                                          self.page_info_path)
        sent = graphql_variables(request).get(self.page_variable)
        if not isinstance(sent, int) or isinstance(sent, bool):
            raise ValueError("a GraphQL page request names its page: build it with first()")
        answered = whole_number(page_info.get("currentPage"), "currentPage")
        if answered is not None and answered != sent:
            raise ProviderDataError(f"asked for page {sent}, the provider sent {answered}")
        if not flag_at(page_info, "hasNextPage") or not records:
            return Page(records, None)
        return Page(records, request.next_page(
            json=with_variables(request, **{self.page_variable: sent + 1})))


@dataclass(frozen=True)
class GraphQLCursorPaginator:
    """Relay-style GraphQL connections: ``pageInfo { hasNextPage endCursor }``, the next page
    asked with ``after: endCursor`` (GitHub GraphQL, Shopify)."""

    records_path: str
    page_info_path: str
    cursor_variable: str = "after"
    per_page_variable: str = "first"
    per_page: int = 50

    def first(self, request: ApiRequest) -> ApiRequest:
        return replace(request, json=with_variables(request, **{
            self.cursor_variable: None, self.per_page_variable: self.per_page}))

    def parse(self, response: ApiResponse, request: ApiRequest, *, base_url: str) -> Page:
        records, page_info = graphql_page(response.payload, self.records_path,
                                          self.page_info_path)
        if not flag_at(page_info, "hasNextPage") or not records:
            return Page(records, None)
        end_cursor = token_at(page_info, "endCursor", max_length=MAX_ID_LENGTH)
        if end_cursor is None:
            raise ProviderDataError(UNUSABLE_TOKEN.format(key="endCursor"))
        return Page(records, request.next_page(
            json=with_variables(request, **{self.cursor_variable: end_cursor})))


@dataclass(frozen=True)
class SyncTokenPaginator:
    """Google's page tokens and sync token: the same request with ``pageToken`` while
    ``nextPageToken`` is present; the last page's ``nextSyncToken`` is Page.cursor, for the
    next pass's ``syncToken`` (a 410 answer to it is Verdict.CURSOR_REJECTED in
    classify.default).

    An empty page with a page token is followed: Google documents pages holding fewer items
    than asked, none included, before the end. A repeated token ends as a repeated request
    in the engine.
    """

    items_key: str = "items"
    page_token_param: str = "pageToken"
    next_page_key: str = "nextPageToken"
    sync_token_key: str = "nextSyncToken"

    def first(self, request: ApiRequest) -> ApiRequest:
        return request

    def parse(self, response: ApiResponse, request: ApiRequest, *, base_url: str) -> Page:
        records = records_at(response.payload, self.items_key)
        page_token = token_at(response.payload, self.next_page_key,
                              max_length=MAX_PAGE_TOKEN_LENGTH)
        if page_token is not None:
            return Page(records, request.next_page(
                params={**request.params, self.page_token_param: page_token}))
        return Page(records, None, token_at(response.payload, self.sync_token_key,
                                            max_length=MAX_SYNC_TOKEN_LENGTH))


def _day(value: Any) -> date | None:
    """A ``YYYY-MM-DD`` parameter as a date, or None (never raises)."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class DateRangePaginator:
    """Statistics asked for by date range (SendGrid ``start_date``/``end_date``): consecutive
    windows of ``window_days`` from a start date forward to today, one request each.

    The first window starts at the request's start parameter when there is one (an
    incremental pass's cursor), else ``windows`` windows back from today. Today comes from
    integrations.clock, in UTC. The client, not the provider, decides the pages, so the pass
    always ends at today's window whatever the answers say.
    """

    # A full pass reads the last few windows only, not the whole history: records older than
    # them are still at the provider, so the engine must not take their absence as a deletion.
    reads_everything: ClassVar[bool] = False

    start_param: str = "start_date"
    end_param: str = "end_date"
    window_days: int = 30
    windows: int = 3
    items_key: str = ""

    def _window(self, request: ApiRequest, start: date, today: date) -> ApiRequest:
        end = min(start + timedelta(days=self.window_days - 1), today)
        return request.with_params(**{self.start_param: start.isoformat(),
                                      self.end_param: end.isoformat()})

    def first(self, request: ApiRequest) -> ApiRequest:
        today = clock.now().astimezone(UTC).date()
        start = _day(request.params.get(self.start_param))
        if start is None:
            start = today - timedelta(days=self.window_days * self.windows - 1)
        return self._window(request, min(start, today), today)

    def parse(self, response: ApiResponse, request: ApiRequest, *, base_url: str) -> Page:
        records = records_at(response.payload, self.items_key)
        end = _day(request.params.get(self.end_param))
        if end is None:
            raise ValueError("a date range request names its window: build it with first()")
        today = clock.now().astimezone(UTC).date()
        if end >= today:
            return Page(records, None)
        return Page(records, self._window(request, end + timedelta(days=1), today).next_page())
