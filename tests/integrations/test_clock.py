"""integrations/clock.py, and the HTTP client's waits on it (tests/fake_clock.py drives it)."""

import pytest
import responses

from integrations import clock
from tests.factories import make_connection, make_user

TOP = "https://api.spotify.com/v1/me/top/artists"


def test_the_fake_clock_moves_only_when_told(fake_clock):
    start = clock.time()
    clock.sleep(2.5)
    fake_clock.advance(0.5)
    clock.sleep(-1)  # a negative wait never moves time back
    assert clock.time() == start + 3.0
    assert fake_clock.sleeps == [2.5, -1]
    assert clock.now().timestamp() == pytest.approx(start + 3.0)
    assert not clock.server_time_allowed()


def test_the_system_clock_is_the_default():
    assert clock.server_time_allowed()
    assert isinstance(clock._clock, clock.SystemClock)


@pytest.fixture
def spotify_connection(db):
    return make_connection(make_user(), "spotify")


def get_top(connection):
    from integrations.http import ApiClient
    from integrations.providers.registry import get_provider

    client = ApiClient(get_provider("spotify"), connection=connection, secrets=())
    try:
        return client.get_json("me/top/artists")
    finally:
        client.close()


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_backoff_and_retry_after_wait_on_the_clock(spotify_connection, fake_clock, settings):
    settings.THINKALIKE_RATE_BUDGETS = False
    responses.get(TOP, status=503)
    responses.get(TOP, status=502)
    responses.get(TOP, status=429, headers={"Retry-After": "7"})
    responses.get(TOP, json={"items": [], "next": None})
    start = fake_clock.time()

    get_top(spotify_connection)

    base, cap = settings.THINKALIKE_HTTP_BACKOFF_BASE, settings.THINKALIKE_HTTP_BACKOFF_CAP
    first, second, retry_after = fake_clock.sleeps
    assert 0 <= first <= min(cap, base) and 0 <= second <= min(cap, base * 2)  # full jitter
    assert retry_after == 7.0
    assert fake_clock.time() == pytest.approx(start + first + second + 7.0)
