"""Hostile providers: one table of bad responses, run against every registered provider.

Every row is a way a provider (or whoever answers in its name) can misbehave, with the outcome
the engine must reach: ``bad_data``, ``try_later``, ``reconnect`` or ``rate_limited`` (with a
capped wait). Each row runs a full sync of every provider that has a stream (a new provider in
the registry is covered without touching this file; it only needs its fixture pages in
integrations/providers/<slug>/fixtures/<stream>.json, as the README asks of every provider).
Each run must:

* end with the row's outcome, never ``internal_error``, and log no traceback;
* lose nothing stored before (rows of every stream stay, none soft-deleted);
* send no request, and so no token, anywhere but the API's own scheme, host and port;
* name the provider for people, never its slug or an exception class;
* for rate limits, push the next sync back by the provider's wait, capped, and never block
  longer than the cap.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import urllib3
from django.urls import reverse
from django.utils import timezone

from consent.purposes import PURPOSES
from consent.services import consent_set
from integrations.models import Connection, ExternalItem, RateBucket, StreamState, SyncRun
from integrations.pagination import (
    CursorParamPaginator,
    DateRangePaginator,
    GraphQLPageInfoPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    PageNumberPaginator,
    same_origin,
    value_at,
)
from integrations.providers.registry import PROVIDERS
from integrations.streams import PAGE_REPEATED, TOO_MANY_PAGES
from integrations.sync import sync_execute, sync_request
from integrations.transport import NOT_JSON, UNAVAILABLE, UNREACHABLE
from tests.factories import make_connection, make_user
from tests.integrations.test_providers import fixture

CAP = 3600  # THINKALIKE_MAX_PROVIDER_BLOCK_SECONDS' default
MAX_PAGES = 3  # each stream's cap in these tests
BODY_CAP = 256 * 1024  # THINKALIKE_MAX_RESPONSE_BYTES in these tests
TOKEN = "AT-hostile-access-0001"
HOSTILE_PROVIDERS = [p for p in PROVIDERS.values() if p.streams]
CODES = {
    "bad_data": {"bad_provider_data"},
    "try_later": {"provider_unavailable"},
    "reconnect": {"reauth_required"},
    "rate_limited": {"rate_limited"},
}
EXCEPTION_NAMES = re.compile(r"[A-Z][a-z]+(Error|Exception|Timeout|Redirects|Schema|URL)\b")


# --- the fake provider ----------------------------------------------------------------------

@dataclass
class World:
    """Answers every request of the test: the provider's API through the row, anything else
    recorded as a foreign request."""

    provider: object
    connection: Connection
    row: Row
    base_url: str
    token_url: str
    api_calls: list[tuple[str, str]] = field(default_factory=list)  # (url, Authorization)
    foreign: list[str] = field(default_factory=list)
    pages: Counter = field(default_factory=Counter)
    handed_out: dict = field(default_factory=dict)  # next URL -> the stream it was given to

    def __call__(self, request):
        if self.token_url and request.url.startswith(self.token_url):
            return 400, {"Content-Type": "application/json"}, '{"error": "invalid_grant"}'
        if not same_origin(request.url, self.base_url):
            self.foreign.append(request.url)
            return 200, {"Content-Type": "application/json"}, "{}"
        self.api_calls.append((request.url, request.headers.get("Authorization", "")))
        stream = self.stream_for(request)
        number = self.pages[stream.name]
        self.pages[stream.name] += 1
        answer = self.row.respond(self, request, stream, number)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def stream_for(self, request):
        if request.url in self.handed_out:  # a next link this world gave a stream
            return self.handed_out[request.url]
        path = urlsplit(request.url).path
        found = []
        for stream in self.provider.streams:
            for segment in stream.segments:
                own = stream.first_request(
                    {**self.provider.connection_params(self.connection), **segment})
                if path.endswith("/" + own.url) and same_variables(request, own):
                    found.append((stream, own))
        # Streams on one path (JSON:API filters) differ by their query parameters.
        for stream, own in found:
            if same_params(request, own):
                return stream
        if found:
            return found[0][0]
        raise AssertionError(f"no stream requests {request.url}")

    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def page_url(self, request, offset: int) -> str:
        """Another page of the same listing, on the API's own origin."""
        parts = urlsplit(request.url)
        return f"{self.origin()}{parts.path}?offset={offset}"

    def good_page(self, stream, next_url: str | None = None) -> tuple:
        payload = copy.deepcopy(fixture(self.provider.slug, stream.name))
        paginator = stream.paginator
        if isinstance(paginator, LinkHeaderPaginator):
            link = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
            return ok(payload, headers=link)
        if isinstance(next_url, str):
            self.handed_out[next_url] = stream
        if isinstance(paginator, NextUrlPaginator):
            put(payload, paginator.next_key, next_url)  # "links.next" is nested
        elif isinstance(paginator, GraphQLPageInfoPaginator):
            info = value_at(payload, "data." + paginator.page_info_path)
            info["hasNextPage"] = True  # a source that never says "done"
            info.pop("currentPage", None)  # the same page answers every page number
        elif isinstance(paginator, CursorParamPaginator):
            payload[paginator.has_more_key] = next_url is not None  # "more" means a next page
        elif isinstance(paginator, PageNumberPaginator):
            payload.pop(paginator.total_key, None)  # a source that never says "done"
        return ok(payload)


def follows_links(provider, *, in_body: bool = False) -> bool:
    """Does a stream follow next links (in the body, or also in a Link header)?"""
    kinds = (NextUrlPaginator,) if in_body else (NextUrlPaginator, LinkHeaderPaginator)
    return any(isinstance(s.paginator, kinds) for s in provider.streams)


def same_variables(request, own) -> bool:
    """Streams on one URL (GraphQL) differ by their variables: ``request`` has ``own``'s."""
    wanted = own.json.get("variables") if isinstance(own.json, dict) else None
    if not wanted:
        return True
    sent = json.loads(request.body or b"{}").get("variables") or {}
    return all(sent.get(key) == value for key, value in wanted.items())


def same_params(request, own) -> bool:
    """``request`` has ``own``'s query parameters."""
    sent = dict(parse_qsl(urlsplit(request.url).query))
    return all(sent.get(key) == str(value) for key, value in own.params.items())


def records_path(stream) -> str:
    """Where the stream's paginator reads the records of a page (a dotted path; "" for a
    body that is the list itself)."""
    if isinstance(stream.paginator, GraphQLPageInfoPaginator):
        return "data." + stream.paginator.records_path
    return stream.paginator.items_key


def last_page(stream, records) -> dict | list:
    """A page that says it is the last, holding ``records`` where the paginator reads them."""
    if isinstance(stream.paginator, GraphQLPageInfoPaginator):
        page = {"data": {}}
        put(page, "data." + stream.paginator.page_info_path, {"hasNextPage": False})
        put(page, records_path(stream), records)
        return page
    key = stream.paginator.items_key
    return {key: records, "next": None} if key else records


def put(payload: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for key in parents:
        payload = payload.setdefault(key, {})
    payload[last] = value


def ok(payload, status: int = 200, headers: dict | None = None) -> tuple:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload)


def raw(body: bytes, status: int = 200, content_type: str = "application/json") -> tuple:
    return status, {"Content-Type": content_type}, body


def every_page(answer: Callable[[World], tuple | BaseException]):
    return lambda world, request, stream, number: answer(world)


def status(code: int, headers: dict | None = None, body: dict | None = None):
    return every_page(lambda world: ok(body or {"error": "no"}, code, headers))


def next_on_first_page(make_next: Callable[[World, object], str]):
    """A good first page whose next link is hostile; any later page ends the listing."""
    def respond(world, request, stream, number):
        if number == 0:
            return world.good_page(stream, make_next(world, request))
        return world.good_page(stream, None)
    return respond


def foreign(template: str):
    """A next link built from the API's own parts (scheme, host, port, path)."""
    def make(world, request):
        base = urlsplit(world.base_url)
        other_scheme = "http" if base.scheme == "https" else "https"
        return template.format(scheme=base.scheme, other=other_scheme, host=base.hostname,
                               netloc=base.netloc, path=urlsplit(request.url).path)
    return make


def self_loop(world, request, stream, number):
    return world.good_page(stream, request.url)  # page 1 says: next is page 1


def two_cycle(world, request, stream, number):
    # first -> A -> B -> A ...
    return world.good_page(stream, world.page_url(request, 2 if number % 2 else 1))


def fresh_ids(value, number: int):
    """The fixture's records as page ``number`` of an endless listing: every id made new."""
    if isinstance(value, list):
        return [fresh_ids(v, number) for v in value]
    if not isinstance(value, dict):
        return value
    renumbered = {}
    for key, item in value.items():
        if key == "id" and isinstance(item, str):
            item = f"{item}p{number}"
        elif (key == "id" or key.endswith("Id")) and type(item) is int:  # AniList's mediaId
            item = item * 1000 + number
        elif key == "key" and isinstance(item, str) and (
                work := re.fullmatch(r"/works/OL(\d+)W", item)):
            item = f"/works/OL{work.group(1)}{number:05d}W"
        renumbered[key] = fresh_ids(item, number)
    return renumbered


def never_ends(world, request, stream, number):
    page = world.good_page(stream, world.page_url(request, number + 1))
    return ok(fresh_ids(json.loads(page[2]), number), headers=page[1])


def ignores_its_page_parameter(world, request, stream, number):
    # Another next URL every time, the same records every time.
    return world.good_page(stream, world.page_url(request, number + 1))


def deep(levels: int) -> bytes:
    return b'{"items": ' + b"[" * levels + b"]" * levels + b"}"


def nested_in_record(world, request, stream, number):
    payload = json.loads(world.good_page(stream)[2])
    value: object = "leaf"
    for _ in range(200):
        value = {"x": value}
    value_at(payload, records_path(stream))[0]["extra"] = value
    return ok(payload)


def huge_body(world, request, stream, number):
    return raw(b'{"items": [], "pad": "' + b"x" * (BODY_CAP + 10) + b'"}')


def items_not_a_list(world, request, stream, number):
    return ok(last_page(stream, "not a list"))


def records_of_another_shape(world, request, stream, number):
    odd = [{"id": ["x"], "name": {"a": 1}, "work": [], "track": "x", "title": 5}]
    return ok(last_page(stream, odd))


@dataclass(frozen=True)
class Row:
    name: str
    respond: Callable
    outcome: str
    next_url_only: bool = False  # only for streams that follow next links
    # only where the provider's answers decide the next page: a date range paginator walks
    # windows the client chose, so no answer can make its pass longer or repeat a page
    provider_paged: bool = False
    long_wait: bool = False  # the provider asked for more than the cap
    body_next_only: bool = False  # a next link that only a JSON body can carry


ROWS = [
    # next links that would carry the token elsewhere
    Row("next_scheme_changed", next_on_first_page(foreign("{other}://{netloc}{path}?offset=1")),
        "bad_data", next_url_only=True),
    Row("next_ftp", next_on_first_page(foreign("ftp://{host}{path}")), "bad_data",
        next_url_only=True),
    Row("next_other_port", next_on_first_page(foreign("{scheme}://{host}:8443{path}")),
        "bad_data", next_url_only=True),
    Row("next_userinfo", next_on_first_page(foreign("{scheme}://user:pw@{netloc}{path}")),
        "bad_data", next_url_only=True),
    Row("next_other_host", next_on_first_page(foreign("{scheme}://evil.example{path}")),
        "bad_data", next_url_only=True),
    Row("next_lookalike_host",
        next_on_first_page(foreign("{scheme}://{host}.evil.example{path}")), "bad_data",
        next_url_only=True),
    Row("next_protocol_relative", next_on_first_page(foreign("//evil.example{path}")),
        "bad_data", next_url_only=True),
    Row("next_backslash", next_on_first_page(foreign("{scheme}://{netloc}\\@evil.example/")),
        "bad_data", next_url_only=True),
    Row("next_not_a_string", next_on_first_page(lambda world, request: ["a"]), "bad_data",
        next_url_only=True, body_next_only=True),
    # listings that never end
    Row("next_is_the_same_page", self_loop, "bad_data", next_url_only=True),
    Row("next_cycle_of_two", two_cycle, "bad_data", next_url_only=True),
    Row("never_ends", never_ends, "bad_data", provider_paged=True),
    Row("ignores_its_page_parameter", ignores_its_page_parameter, "bad_data", provider_paged=True),
    # bodies
    Row("deeply_nested_json", every_page(lambda world: raw(deep(100_000))), "bad_data"),
    Row("nested_200_levels_in_a_record", nested_in_record, "bad_data"),
    Row("invalid_utf8", every_page(lambda world: raw(b'{"items": [], "x": "\xff\xfe"}')),
        "bad_data"),
    Row("nan", every_page(lambda world: raw(b'{"items": [], "next": NaN}')), "bad_data"),
    Row("infinite_number", every_page(lambda world: raw(b'{"items": [], "n": 1e999}')),
        "bad_data"),
    Row("endless_integer", every_page(lambda world: raw(b'{"n": ' + b"9" * 5000 + b"}")),
        "bad_data"),
    Row("huge_body", huge_body, "bad_data"),
    Row("html", every_page(lambda world: raw(b"<html>hi</html>", content_type="text/html")),
        "bad_data"),
    Row("empty_body", every_page(lambda world: raw(b"")), "bad_data"),
    Row("top_level_list", every_page(lambda world: raw(b"[1, 2]")), "bad_data"),
    Row("top_level_string", every_page(lambda world: raw(b'"items"')), "bad_data"),
    Row("items_not_a_list", items_not_a_list, "bad_data"),
    Row("records_of_another_shape", records_of_another_shape, "bad_data"),
    # statuses
    Row("http_404", status(404), "bad_data"),
    Row("http_418", status(418), "bad_data"),
    Row("http_500_forever", status(500), "try_later"),
    Row("http_501", status(501), "try_later"),
    Row("http_403", status(403), "reconnect"),
    Row("http_401", status(401), "reconnect"),
    # rate limits
    Row("retry_after_999999", status(429, {"Retry-After": "999999"}), "rate_limited",
        long_wait=True),
    Row("retry_after_400_digits", status(429, {"Retry-After": "9" * 400}), "rate_limited",
        long_wait=True),
    Row("retry_after_date_in_a_month", every_page(lambda world: ok(
        {}, 429, {"Retry-After": format_datetime(timezone.now() + timedelta(days=30),
                                                 usegmt=True)})), "rate_limited",
        long_wait=True),
    Row("reset_epoch_far_away", status(429, {"X-RateLimit-Remaining": "0",
                                             "X-RateLimit-Reset": str(10**11)}),
        "rate_limited", long_wait=True),
    Row("reset_delta_a_million_days", status(429, {"X-RateLimit-Remaining": "0",
                                                   "X-RateLimit-Reset": str(86400 * 10**6)}),
        "rate_limited", long_wait=True),
    Row("retry_after_garbage", status(429, {"Retry-After": "-5e99"}), "rate_limited"),
]
TRANSPORT_FAILURES = [
    requests.ConnectionError("refused"),
    requests.ReadTimeout("slow"),
    requests.ConnectTimeout("slow"),
    requests.exceptions.ChunkedEncodingError("cut"),
    requests.exceptions.ContentDecodingError("gzip?"),
    requests.exceptions.SSLError("bad certificate"),
    requests.TooManyRedirects("loop"),
    requests.exceptions.InvalidURL("bad"),
    requests.exceptions.InvalidSchema("bad"),
    requests.exceptions.MissingSchema("bad"),
    requests.exceptions.InvalidHeader("bad"),
    requests.exceptions.RetryError("gave up"),
    urllib3.exceptions.ProtocolError("broken"),
    ValueError("a header with a newline"),
]
ROWS += [Row(f"raises_{type(exc).__name__}", every_page(lambda world, exc=exc: exc), "try_later")
         for exc in TRANSPORT_FAILURES]


def applies(row: Row, provider) -> bool:
    paginators = [s.paginator for s in provider.streams]
    if row.next_url_only:
        return follows_links(provider, in_body=row.body_next_only)
    if row.provider_paged:
        return not all(isinstance(p, DateRangePaginator) for p in paginators)
    return True


def cases():
    for provider in HOSTILE_PROVIDERS:
        for row in ROWS:
            if applies(row, provider):
                yield pytest.param(provider, row, id=f"{provider.slug}-{row.name}")


# --- running a row ----------------------------------------------------------------------------

def for_test(stream):
    """The stream as these tests run it: a small page cap, no enrichment calls, and for page
    numbers one record per page, so any page with a record is a full one."""
    paginator = stream.paginator
    if isinstance(paginator, PageNumberPaginator):
        paginator = dataclasses.replace(paginator, limit=1)
    return dataclasses.replace(stream, max_pages=MAX_PAGES, enrich=None, paginator=paginator)


@pytest.fixture
def world_for(db, mocked_responses, monkeypatch, settings, no_sleep):
    settings.THINKALIKE_SANDBOX = True
    settings.THINKALIKE_RATE_BUDGETS = True
    settings.REDIS_URL = ""  # blocks go to the database, rolled back with the test
    settings.THINKALIKE_MAX_RESPONSE_BYTES = BODY_CAP
    monkeypatch.setattr("integrations.ratelimit.sleep", lambda seconds: None)
    monkeypatch.setattr("integrations.sync.enqueue_many", lambda func, batch: None)

    def build(provider, row) -> World:
        monkeypatch.setattr(type(provider), "streams",
                            tuple(for_test(s) for s in provider.streams))
        # A budget (so blocks are recorded) that these few requests never use up.
        monkeypatch.setattr(type(provider), "get_rate_limit", lambda self: (10_000, 1.0))
        user = make_user(f"{provider.slug}@example.com")
        for purpose in PURPOSES:
            consent_set(user=user, purpose=purpose, granted=True)
        oauth = provider.auth.uses_tokens
        connection = make_connection(user, provider.slug, external_id="4242",
                                     access_token=TOKEN if oauth else "",
                                     refresh_token="RT-hostile-0001" if oauth else "",
                                     expires_in=3600 if oauth else None)
        token_url = provider.auth.token_endpoint(provider).url if oauth else ""
        world = World(provider=provider, connection=connection, row=row,
                      base_url=provider.get_api_base_url(), token_url=token_url)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            mocked_responses.add_callback(method, re.compile(r".*"), callback=world)
        return world

    return build


def seed(connection, provider) -> list[tuple]:
    """Rows a clean run stored earlier; nothing a hostile run does may lose them."""
    for stream in provider.streams:
        ExternalItem.objects.create(connection=connection, kind=stream.kind,
                                    external_id="kept-1", title="Kept", content_hash="h")
    return stored(connection)


def stored(connection) -> list[tuple]:
    return sorted(ExternalItem.objects.filter(connection=connection, external_id="kept-1")
                  .values_list("kind", "external_id", "deleted_at"))


def full_sync(connection) -> SyncRun:
    Connection.objects.filter(pk=connection.pk).update(sync_claimed_at=None)
    run = sync_request(connection=connection, trigger=SyncRun.Trigger.MANUAL, full=True)
    assert run is not None
    return sync_execute(run_id=run.pk)


# Rows whose outcome is another for some provider: MyAnimeList's 403 means "too many
# requests" ("DoS detected"), never a refused credential (that is its 401).
OUTCOMES = {("myanimelist", "http_403"): "rate_limited"}


@pytest.mark.parametrize(("provider", "row"), list(cases()))
def test_hostile_response(provider, row, world_for, caplog):
    row = dataclasses.replace(row, outcome=OUTCOMES.get((provider.slug, row.name), row.outcome))
    world = world_for(provider, row)
    connection = world.connection
    before = seed(connection, provider)
    started = timezone.now()
    caplog.set_level(logging.INFO)

    run = full_sync(connection)

    # the outcome
    assert run.error_code in CODES[row.outcome], (run.error_code, run.error_message)
    assert run.status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL)
    assert [s for s in run.streams.values() if s["status"] == "succeeded"] == []
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    # nothing stored is lost
    assert stored(connection) == before
    # no request, so no token, left the API's origin
    assert world.foreign == []
    assert world.api_calls, "the row was never asked"
    for url, authorization in world.api_calls:
        assert same_origin(url, world.base_url), url
        assert authorization in ("", f"Bearer {TOKEN}")
    # messages for people: who, never a slug or an exception class
    assert provider.name in run.error_message, run.error_message
    for message in [run.error_message, *(s.get("reason", "") for s in run.streams.values())]:
        assert provider.slug not in message or provider.slug in provider.name, message
        assert not EXCEPTION_NAMES.search(message), message
    connection.refresh_from_db()
    if row.outcome == "reconnect":
        assert connection.status == Connection.Status.NEEDS_REAUTH
    else:
        assert connection.status == Connection.Status.ACTIVE
    if row.outcome == "rate_limited":
        wait = (connection.next_sync_at - started).total_seconds()
        assert wait <= CAP + 60
        if row.long_wait:
            assert wait >= CAP - 60  # not before the provider's (capped) block ends
        assert "Next attempt at" in _health(connection)
    latest = timezone.now().timestamp() + CAP + 60
    assert all(b.blocked_until <= latest for b in RateBucket.objects.all())


def _health(connection) -> str:
    from django.template.loader import render_to_string

    return render_to_string("integrations/_health.html", {"connection": connection})


LOOPS = [pytest.param(p, r, id=f"{p.slug}-{r.name}") for p in HOSTILE_PROVIDERS for r in ROWS
         if r.respond in (self_loop, two_cycle, never_ends, ignores_its_page_parameter)
         and applies(r, p)]


@pytest.mark.parametrize(("provider", "row"), LOOPS)
def test_a_listing_that_never_ends_stops_and_does_not_resume_into_the_loop(provider, row,
                                                                           world_for):
    world = world_for(provider, row)
    run = full_sync(world.connection)
    assert run.error_code == "bad_provider_data"
    expected = TOO_MANY_PAGES if row.respond is never_ends else PAGE_REPEATED
    first = provider.streams[0]
    assert run.streams[first.name] == {
        "status": "failed", **run.streams[first.name],
        "reason": expected.format(name=provider.name, label=first.label.lower(), pages=MAX_PAGES),
    }
    # the looping request was not checkpointed: the next run starts over and stops again
    assert not any("checkpoint" in (s.cursor or {}) for s in StreamState.objects.all())
    asked = world.pages[first.name]
    assert asked <= (MAX_PAGES + 1 if row.respond is never_ends else 3)
    world.pages.clear()
    again = full_sync(world.connection)
    assert again.error_code == "bad_provider_data"
    assert world.pages[first.name] == asked


# --- connect, test and disconnect never answer 500 ----------------------------------------------

EDGE_FAILURES = [*TRANSPORT_FAILURES, "deeply_nested_json", "http_503"]


def edge_answer(failure) -> dict:
    if failure == "deeply_nested_json":
        return {"body": deep(100_000), "content_type": "application/json"}
    if failure == "http_503":
        return {"status": 503}
    return {"body": failure}


def edge_id(failure) -> str:
    return failure if isinstance(failure, str) else type(failure).__name__


@pytest.fixture
def person(db, client, settings, no_sleep):
    settings.THINKALIKE_SANDBOX = True
    user = make_user("edge@example.com")
    client.force_login(user)
    return user


@pytest.mark.parametrize("failure", EDGE_FAILURES, ids=edge_id)
def test_connect_form_says_why_and_saves_nothing(person, client, mocked_responses, failure):
    from integrations.services import CHECK_FAILED

    mocked_responses.get("https://openlibrary.org/people/bookworm/books/want-to-read.json",
                         **edge_answer(failure))
    response = client.post(reverse("integrations:connect", args=["openlibrary"]),
                           {"username": "bookworm"})
    assert response.status_code == 200
    html = response.content.decode()
    if failure == "deeply_nested_json":
        expected = NOT_JSON.format(name="Open Library")
    elif failure == "http_503":
        expected = CHECK_FAILED.format(reason=UNAVAILABLE.format(name="Open Library",
                                                                 status=503))
    else:
        expected = CHECK_FAILED.format(reason=UNREACHABLE.format(name="Open Library"))
    assert expected in html
    assert not EXCEPTION_NAMES.search(html.split("<main", 1)[-1])
    assert not Connection.objects.exists()


@pytest.mark.parametrize("failure", EDGE_FAILURES, ids=edge_id)
def test_test_connection_ends_in_try_later(person, mocked_responses, failure):
    from integrations.exceptions import TryLater
    from integrations.services import connection_test

    connection = make_connection(person, "sandbox", external_id="listener")
    mocked_responses.get("http://sandbox.test/sandbox/api/v1/me", **edge_answer(failure))
    with pytest.raises(TryLater) as caught:
        connection_test(connection=connection)
    assert caught.value.message.startswith("Sandbox ")
    assert not EXCEPTION_NAMES.search(caught.value.message)


@pytest.mark.parametrize("failure", [*EDGE_FAILURES, "crash"], ids=edge_id)
def test_disconnect_deletes_everything_even_when_revoking_fails(person, client,
                                                                mocked_responses, monkeypatch,
                                                                failure):
    from allauth.socialaccount.models import SocialAccount

    from integrations.models import Credential

    account = SocialAccount.objects.create(user=person, provider="sandbox", uid="listener")
    connection = make_connection(person, "sandbox", external_id="listener")
    Connection.objects.filter(pk=connection.pk).update(social_account=account)
    ExternalItem.objects.create(connection=connection, kind="track", external_id="t1",
                                title="Song", content_hash="h")
    if failure == "crash":
        def crash(**kwargs):
            raise RuntimeError("a bug in revoking")
        monkeypatch.setattr("integrations.services.token_revoke", crash)
    else:
        mocked_responses.post("http://sandbox.test/sandbox/oauth/revoke", **edge_answer(failure))
    response = client.post(reverse("integrations:disconnect", args=[connection.pk]))
    assert response.status_code == 302
    for model in (Connection, Credential, ExternalItem, SocialAccount):
        assert not model.objects.exists(), model.__name__


# --- the OAuth callback's profile call and the token endpoint -----------------------------------

@pytest.mark.parametrize("login", ["spotify", "sandbox"])
@pytest.mark.parametrize("body", [deep(100_000), b'{"id": NaN}', b'{"id": "\xff"}'],
                         ids=["deep", "nan", "bad_utf8"])
def test_an_unreadable_profile_at_the_callback_lands_on_our_page(person, client,
                                                                 mocked_responses, login, body):
    from urllib.parse import parse_qs

    from integrations.providers.sandbox.allauth.views import sandbox_url

    token_url, me_url = {
        "spotify": ("https://accounts.spotify.com/api/token", "https://api.spotify.com/v1/me"),
        "sandbox": (sandbox_url("/oauth/token"), sandbox_url("/api/v1/me")),
    }[login]
    started = client.post(reverse(f"{login}_login") + "?process=connect")
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    mocked_responses.post(token_url, json={"access_token": "AT-x", "expires_in": 3600})
    mocked_responses.get(me_url, body=body, content_type="application/json")
    response = client.get(reverse(f"{login}_callback"), {"code": "c", "state": state})
    assert response.status_code == 302
    assert response["Location"] == reverse("integrations:connected_services")
    assert not Connection.objects.exists()


@pytest.mark.parametrize("body", [deep(100_000), b'{"access_token": NaN}', b"\xff"],
                         ids=["deep", "nan", "bad_utf8"])
def test_an_unreadable_token_endpoint_answer_is_try_later(person, mocked_responses, body):
    from integrations.exceptions import TryLater
    from integrations.tokens import token_refresh

    connection = make_connection(person, "spotify")
    mocked_responses.post("https://accounts.spotify.com/api/token", body=body,
                          content_type="application/json")
    with pytest.raises(TryLater):
        token_refresh(connection=connection, stale_access_token="AT-fake-access-0001")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


def test_the_connection_page_and_the_catalog_say_when_the_next_attempt_is(client, world_for):
    provider = PROVIDERS["sandbox"]
    row = next(r for r in ROWS if r.name == "retry_after_999999")
    world = world_for(provider, row)
    client.force_login(world.connection.user)
    run = full_sync(world.connection)
    assert run.error_code == "rate_limited"
    world.connection.refresh_from_db()
    when = timezone.localtime(world.connection.next_sync_at).strftime("%H:%M")
    for url in (reverse("integrations:connection_detail", args=[world.connection.pk]),
                reverse("integrations:connected_services")):
        assert f"Next attempt at {when}" in client.get(url).content.decode()


def test_a_rate_limit_does_not_climb_the_failure_backoff(world_for):
    """Past failures push a broken connection back for up to a day; a rate limit is no failure
    of the connection, so its next attempt is when the provider's (capped) block ends."""
    row = next(r for r in ROWS if r.name == "retry_after_999999")
    world = world_for(PROVIDERS["sandbox"], row)
    Connection.objects.filter(pk=world.connection.pk).update(consecutive_failures=9)
    started = timezone.now()
    assert full_sync(world.connection).error_code == "rate_limited"
    world.connection.refresh_from_db()
    wait = (world.connection.next_sync_at - started).total_seconds()
    assert CAP - 60 <= wait <= CAP + 60


@pytest.mark.parametrize("provider", HOSTILE_PROVIDERS, ids=lambda p: p.slug)
def test_a_mapping_that_trips_over_a_record_names_no_exception_class(provider, world_for,
                                                                     monkeypatch):
    def trips(record, segment):
        return record["no such key"]

    good = next(r for r in ROWS if r.name == "http_404")
    world = world_for(provider, dataclasses.replace(
        good, respond=lambda world, request, stream, number: world.good_page(stream)))
    monkeypatch.setattr(type(provider), "streams", tuple(
        dataclasses.replace(s, map_record=trips) for s in provider.streams))
    run = full_sync(world.connection)
    assert run.error_code == "bad_provider_data"
    assert provider.name in run.error_message
    assert "KeyError" not in run.error_message
