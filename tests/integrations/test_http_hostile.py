"""integrations/http.py against hostile answers: parsing, body size, transport failures, writes
that must not be repeated, capped and scoped rate-limit blocks, the token's own origin."""

import contextlib
import gzip
import time

import pytest
import requests
from responses import matchers

from integrations.exceptions import (
    ProviderDataError,
    ProviderUnavailable,
    RateLimited,
)
from integrations.http import ApiClient
from integrations.models import ApiCall, RateBucket
from integrations.providers.registry import get_provider
from integrations.transport import (
    FOREIGN_URL,
    MAX_JSON_DEPTH,
    NOT_JSON,
    TOO_LARGE,
    TOO_SLOW,
    UNREACHABLE,
    new_session,
    parse_json,
    send,
)
from tests.factories import make_connection, make_user

TOP = "https://api.spotify.com/v1/me/top/artists"
OL = "https://openlibrary.org/people/reader/books/want-to-read.json"


@pytest.fixture
def spotify(db):
    connection = make_connection(make_user(), "spotify")
    return ApiClient(get_provider("spotify"), connection=connection)


@pytest.fixture
def openlibrary(db):
    return ApiClient(get_provider("openlibrary"))


# --- parsing ----------------------------------------------------------------------------------

def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("body", [
    nested(100_000), nested(MAX_JSON_DEPTH + 1), b'{"a": NaN}', b"[Infinity]", b"[-Infinity]",
    b"[1e999]", b'{"a": "\xff"}', b"\xfe\xff\x00[", b"[" + b"1" * 5000 + b"]", b"", b"{",
    b"<html></html>", '{"a": "é"}'.encode("latin-1"),
], ids=["deep", "just_too_deep", "nan", "inf", "-inf", "overflow", "bad_utf8", "utf16_bom",
        "huge_int", "empty", "truncated", "html", "latin1"])
def test_every_unreadable_body_is_bad_provider_data(body):
    with pytest.raises(ProviderDataError) as caught:
        parse_json(body, name="Open Library")
    assert caught.value.message == NOT_JSON.format(name="Open Library")


def test_readable_bodies_parse():
    assert parse_json(nested(MAX_JSON_DEPTH), name="x") is not None
    assert parse_json('\ufeff{"a": "é", "n": 1.5}'.encode(), name="x") == {"a": "é", "n": 1.5}


def test_a_body_over_the_size_cap_is_not_read(openlibrary, mocked_responses, settings):
    assert settings.THINKALIKE_MAX_RESPONSE_BYTES == 10 * 1024 * 1024  # the default
    mocked_responses.get(OL, body=b'{"reading_log_entries": [], "x": "' + b"x" * 11_000_000
                         + b'"}', content_type="application/json")
    with pytest.raises(ProviderDataError) as caught:
        openlibrary.get_json("people/reader/books/want-to-read.json")
    assert caught.value.message == TOO_LARGE.format(name="Open Library", limit=10.5)
    assert ApiCall.objects.get().error == "ResponseTooLarge"


def test_a_compressed_bomb_stops_at_the_cap_too(openlibrary, mocked_responses, settings):
    settings.THINKALIKE_MAX_RESPONSE_BYTES = 100_000
    bomb = gzip.compress(b'{"a": "' + b"0" * 1_000_000 + b'"}')
    assert len(bomb) < 100_000
    mocked_responses.get(OL, body=bomb, headers={"Content-Encoding": "gzip"},
                         content_type="application/json")
    with pytest.raises(ProviderDataError):
        openlibrary.get_json("people/reader/books/want-to-read.json")


def test_a_body_dripped_slower_than_the_read_timeout_is_not_waited_for(
        openlibrary, mocked_responses, fake_clock, monkeypatch):
    """requests bounds each socket read, not the body: the body gets the read timeout in all."""
    mocked_responses.get(OL, body=b'{"reading_log_entries": []}' + b" " * 400_000,
                         content_type="application/json")
    real_iter = requests.Response.iter_content

    def drip(self, chunk_size=1, decode_unicode=False):
        for chunk in real_iter(self, chunk_size, decode_unicode):
            fake_clock.advance(5)  # each chunk arrives just within the per-read timeout
            yield chunk

    monkeypatch.setattr(requests.Response, "iter_content", drip)
    with pytest.raises(ProviderUnavailable) as caught:
        openlibrary.get_json("people/reader/books/want-to-read.json")
    assert caught.value.message == TOO_SLOW.format(name="Open Library")
    assert ApiCall.objects.get().error == "ResponseTooSlow"


def test_a_request_whose_log_row_cannot_be_written_keeps_its_answer(openlibrary,
                                                                   mocked_responses,
                                                                   monkeypatch, caplog):
    from django.db import OperationalError

    def locked(**fields):
        raise OperationalError("database is locked")

    mocked_responses.get(OL, json={"reading_log_entries": []})
    monkeypatch.setattr(ApiCall.objects, "create", locked)
    assert openlibrary.get_json("people/reader/books/want-to-read.json") == {
        "reading_log_entries": []}
    assert "could not record a GET request to openlibrary" in caplog.text


# --- transport failures -------------------------------------------------------------------------

@pytest.mark.parametrize(("failure", "attempts"), [
    (requests.ConnectionError("refused"), 4),
    (requests.ReadTimeout("slow"), 4),
    (requests.exceptions.ChunkedEncodingError("cut"), 4),
    (requests.exceptions.SSLError("certificate"), 1),
    (requests.TooManyRedirects("loop"), 1),
    (requests.exceptions.InvalidURL("bad"), 1),
    (requests.exceptions.InvalidSchema("bad"), 1),
    (requests.exceptions.MissingSchema("bad"), 1),
    (requests.exceptions.ContentDecodingError("gzip"), 1),
    (requests.exceptions.InvalidHeader("bad"), 1),
    (ValueError("header with a newline"), 1),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_every_transport_failure_is_try_later(openlibrary, mocked_responses, no_sleep, failure,
                                              attempts):
    mocked_responses.get(OL, body=failure)
    with pytest.raises(ProviderUnavailable) as caught:
        openlibrary.get_json("people/reader/books/want-to-read.json")
    assert caught.value.message == UNREACHABLE.format(name="Open Library")
    assert len(mocked_responses.calls) == attempts  # retried only where another try can help
    assert ApiCall.objects.get().error == type(failure).__name__  # the class, for staff only


# --- writes are not repeated ----------------------------------------------------------------

def post(url, **kwargs):
    with new_session() as session:
        return send(session, kwargs.pop("method", "POST"), url, provider_slug="sandbox",
                    connection_id=None, **kwargs)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("failure", [{"status": 503}, {"body": requests.ReadTimeout("lost")}],
                         ids=["503", "timeout"])
def test_writes_are_not_retried_unless_declared_idempotent(db, mocked_responses, no_sleep,
                                                           method, failure):
    url = "https://api.example.test/things"
    mocked_responses.add(method, url, **failure)
    with contextlib.suppress(ProviderUnavailable):  # a 503 is returned, a timeout raised
        post(url, method=method)
    assert len(mocked_responses.calls) == 1
    mocked_responses.calls.reset()
    with contextlib.suppress(ProviderUnavailable):
        post(url, method=method, idempotent=True)
    assert len(mocked_responses.calls) == 4


def test_a_rate_limited_write_is_not_repeated(db, mocked_responses, no_sleep):
    url = "https://api.example.test/things"
    mocked_responses.post(url, status=429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimited):
        post(url)
    assert len(mocked_responses.calls) == 1 and no_sleep == []


# --- the token stays on the API's origin --------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://api.spotify.com/v1/me", "https://api.spotify.com:444/v1/me",
    "https://evil.example/v1/me", "ftp://api.spotify.com/v1/me",
    "https://x@api.spotify.com/v1/me", "https://api.spotify.com\\@evil.example/",
])
def test_no_request_leaves_the_api_origin(spotify, mocked_responses, url):
    with pytest.raises(ProviderDataError) as caught:
        spotify.get_json(url)
    assert caught.value.message == FOREIGN_URL.format(name="Spotify")
    assert len(mocked_responses.calls) == 0 and not ApiCall.objects.exists()


# --- rate-limit blocks: capped and scoped -------------------------------------------------------

@pytest.fixture
def budgets(settings, monkeypatch):
    settings.THINKALIKE_RATE_BUDGETS = True
    settings.REDIS_URL = ""
    monkeypatch.setattr("integrations.ratelimit.sleep", lambda seconds: None)
    from integrations.providers.spotify.provider import SpotifyProvider

    monkeypatch.setattr(SpotifyProvider, "rate_limit", (100, 1.0))
    return SpotifyProvider


@pytest.mark.parametrize("headers", [
    {"Retry-After": "999999"},
    {"Retry-After": "Wed, 01 Jan 2100 00:00:00 GMT"},
    {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(10**11)},
    {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(86400 * 10**6)},
], ids=["retry_after", "retry_after_date", "reset_epoch", "reset_delta"])
@pytest.mark.parametrize("status", [429, 200])
def test_every_block_taken_from_a_response_is_capped(budgets, spotify, mocked_responses,
                                                     no_sleep, settings, headers, status):
    settings.THINKALIKE_MAX_PROVIDER_BLOCK_SECONDS = 900
    mocked_responses.get(TOP, status=status, headers=headers, json={"items": [], "next": None})
    before = time.time()
    try:
        spotify.get_json("me/top/artists")
    except RateLimited as exc:
        assert exc.retry_after <= 900
    blocks = list(RateBucket.objects.values_list("blocked_until", flat=True))
    if status == 429 or "X-RateLimit-Reset" in headers:
        assert blocks and before + 890 <= max(blocks) <= time.time() + 900
    assert all(until <= time.time() + 900 for until in blocks)


def test_a_per_user_limit_blocks_only_that_connection(db, budgets, mocked_responses, no_sleep,
                                                      monkeypatch):
    monkeypatch.setattr(budgets, "rate_limit_per_connection", True)
    provider = get_provider("spotify")
    first = make_connection(make_user("one@example.com"), "spotify")
    second = make_connection(make_user("two@example.com"), "spotify",
                             access_token="AT-fake-access-0002")
    mocked_responses.get(TOP, status=429, headers={"Retry-After": "600"},
                         match=[matchers.header_matcher(
                             {"Authorization": "Bearer AT-fake-access-0001"})])
    mocked_responses.get(TOP, json={"items": [], "next": None})
    with pytest.raises(RateLimited):
        ApiClient(provider, connection=first).get_json("me/top/artists")
    blocked = RateBucket.objects.get(blocked_until__gt=time.time())
    assert blocked.key == f"connection:spotify:{first.pk}"
    # the other person's requests go on
    assert ApiClient(provider, connection=second).get_json("me/top/artists")["items"] == []
