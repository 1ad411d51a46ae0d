"""integrations/http.py: timeouts, retries, Retry-After, auth injection, 401 refresh, audit rows."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses
from responses import matchers

from integrations import ratelimit
from integrations.classify import retry_after_seconds
from integrations.exceptions import (
    ProviderDataError,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
)
from integrations.http import ApiClient
from integrations.models import ApiCall, Connection, Credential
from integrations.providers.registry import get_provider
from integrations.wire import ApiRequest
from tests.factories import make_connection, make_user

TOP = "https://api.spotify.com/v1/me/top/artists"
TOKEN_URL = "https://accounts.spotify.com/api/token"


@pytest.fixture
def spotify_connection(db):
    return make_connection(make_user(), "spotify")


def client_for(connection):
    return ApiClient(get_provider(connection.provider), connection=connection)


def test_retry_after_parses_seconds_and_http_dates():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, now=now) == 30.0
    assert retry_after_seconds("not a date") is None
    assert retry_after_seconds(None) is None


def test_bearer_token_sent_and_timeout_set(spotify_connection, mocked_responses, monkeypatch):
    seen = {}
    real_request = requests.Session.request

    def spy(self, method, url, **kwargs):
        seen["timeout"] = kwargs.get("timeout")
        return real_request(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    mocked_responses.get(
        TOP, json={"items": [], "next": None},
        match=[matchers.header_matcher({"Authorization": "Bearer AT-fake-access-0001"})],
    )
    assert client_for(spotify_connection).get_json("me/top/artists") == {"items": [], "next": None}
    assert seen["timeout"] == (5.0, 20.0)


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_5xx_is_retried_with_backoff_then_succeeds(spotify_connection, no_sleep):
    responses.get(TOP, status=503)
    responses.get(TOP, status=502)
    responses.get(TOP, json={"items": [], "next": None})
    client_for(spotify_connection).get_json("me/top/artists")
    assert len(no_sleep) == 2  # two backoffs, one per retry
    call = ApiCall.objects.get()
    assert (call.status_code, call.retries) == (200, 2)


def test_5xx_past_the_retry_budget_is_try_later(spotify_connection, mocked_responses, no_sleep):
    mocked_responses.get(TOP, status=503)
    with pytest.raises(ProviderUnavailable):
        client_for(spotify_connection).get_json("me/top/artists")
    assert len(mocked_responses.calls) == 4  # 1 + THINKALIKE_HTTP_MAX_RETRIES
    assert ApiCall.objects.get().retries == 3


def test_connection_errors_are_retried_then_try_later(spotify_connection, mocked_responses,
                                                      no_sleep):
    mocked_responses.get(TOP, body=requests.ConnectionError("refused"))
    with pytest.raises(ProviderUnavailable):
        client_for(spotify_connection).get_json("me/top/artists")
    call = ApiCall.objects.get()
    assert call.status_code is None and call.error == "ConnectionError"


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_429_waits_for_retry_after(spotify_connection, no_sleep):
    responses.get(TOP, status=429, headers={"Retry-After": "3"})
    responses.get(TOP, json={"items": [], "next": None})
    client_for(spotify_connection).get_json("me/top/artists")
    assert no_sleep == [3.0]


def test_429_with_long_retry_after_ends_early(spotify_connection, mocked_responses, no_sleep):
    mocked_responses.get(TOP, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as exc:
        client_for(spotify_connection).get_json("me/top/artists")
    assert exc.value.retry_after == 3600.0
    assert no_sleep == []  # it did not wait an hour


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_401_refreshes_once_and_retries(spotify_connection, no_sleep):
    responses.get(TOP, status=401, json={"error": {"status": 401, "message": "expired"}})
    responses.post(TOKEN_URL, json={"access_token": "AT-new", "expires_in": 3600})
    responses.get(
        TOP, json={"items": [], "next": None},
        match=[matchers.header_matcher({"Authorization": "Bearer AT-new"})],
    )
    client_for(spotify_connection).get_json("me/top/artists")
    credential = Credential.objects.get()
    assert credential.access_token == "AT-new"
    assert credential.refresh_token == "RT-fake-refresh-0001"  # none sent: the old one is kept


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_401_after_refresh_means_reconnect(spotify_connection, no_sleep):
    responses.get(TOP, status=401)
    responses.post(TOKEN_URL, json={"access_token": "AT-new", "expires_in": 3600})
    responses.get(TOP, status=401)
    with pytest.raises(ReauthRequired):
        client_for(spotify_connection).get_json("me/top/artists")
    assert len(responses.calls) == 3  # one refresh, one retry, no loop


def test_audit_row_has_no_query_string_or_token(spotify_connection, mocked_responses):
    mocked_responses.get(TOP, json={"items": [], "next": None})
    client_for(spotify_connection).get_json(
        "me/top/artists", {"time_range": "medium_term", "access_token": "leak"}
    )
    call = ApiCall.objects.get()
    assert (call.method, call.host, call.path) == ("GET", "api.spotify.com", "/v1/me/top/artists")
    assert call.connection_id == spotify_connection.pk


def test_non_json_body_is_a_provider_data_error(spotify_connection, mocked_responses):
    mocked_responses.get(TOP, body="<html>oops</html>", content_type="text/html")
    with pytest.raises(ProviderDataError):
        client_for(spotify_connection).get_json("me/top/artists")


def test_403_means_reconnect_and_is_not_retried(spotify_connection, mocked_responses):
    mocked_responses.get(TOP, status=403)
    with pytest.raises(ReauthRequired):
        client_for(spotify_connection).get_json("me/top/artists")
    assert len(mocked_responses.calls) == 1
    assert Connection.objects.get().status == Connection.Status.ACTIVE  # the caller decides


# --- the shared rate budget, as the client uses it ------------------------------------------

@pytest.fixture
def budgeted(settings, monkeypatch, spotify_connection, fake_clock):
    """Budgets on, on the database, on a clock that moves only when the budget waits."""
    from integrations.providers.spotify.provider import SpotifyProvider

    settings.THINKALIKE_RATE_BUDGETS = True
    settings.REDIS_URL = ""  # the database backend: rolled back with the test
    monkeypatch.setattr(SpotifyProvider, "rate_limit", (2, 0.3))
    return fake_clock


def bucket():
    from integrations.models import RateBucket

    return RateBucket.objects.get(key="provider:spotify")


def span(window: float) -> float:
    return window * ratelimit.SAFETY_FACTOR + ratelimit.SAFETY_SECONDS


def test_every_request_takes_a_slot_and_waits_when_none_is_left(spotify_connection,
                                                                mocked_responses, budgeted):
    mocked_responses.get(TOP, json={"items": [], "next": None})
    client = client_for(spotify_connection)
    started = budgeted.time()
    for _ in range(3):
        client.get_json("me/top/artists")
    # The first two share the window; the third waits exactly until the first leaves it.
    assert budgeted.sleeps == [pytest.approx(span(0.3))]
    assert bucket().stamps == [pytest.approx(started + span(0.3))]  # the first two left
    budgeted.advance(0.1)
    client.get_json("me/top/artists")  # a free slot: no wait
    client.get_json("me/top/artists")  # none left: waits for the third to leave the window
    assert budgeted.sleeps == [pytest.approx(span(0.3)), pytest.approx(span(0.3) - 0.1)]


def test_a_304_gives_its_slot_back(spotify_connection, mocked_responses, budgeted):
    mocked_responses.get(TOP, status=304, headers={"ETag": '"v1"'})
    page = client_for(spotify_connection).fetch(ApiRequest("me/top/artists"), etag='"v1"')
    assert page.not_modified
    assert bucket().stamps == []


def test_429_blocks_every_worker_until_retry_after(spotify_connection, mocked_responses,
                                                   budgeted, no_sleep):
    mocked_responses.get(TOP, status=429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited):
        client_for(spotify_connection).get_json("me/top/artists")
    assert bucket().blocked_until == pytest.approx(budgeted.time() + 120)


def test_remaining_zero_blocks_until_the_reset(spotify_connection, mocked_responses, budgeted):
    reset = budgeted.time() + 30
    mocked_responses.get(TOP, json={"items": [], "next": None},
                         headers={"X-RateLimit-Remaining": "0",
                                  "X-RateLimit-Reset": f"{reset:.3f}"})
    client_for(spotify_connection).get_json("me/top/artists")
    assert bucket().blocked_until == pytest.approx(reset, abs=0.01)
    with pytest.raises(RateLimited):  # every worker now waits for the reset
        ratelimit.acquire("provider:spotify", 2, 0.3, max_wait=5)
    budgeted.advance(30.01)
    assert ratelimit.acquire("provider:spotify", 2, 0.3, max_wait=5) == 0.0
