"""A proxied request does not sit out the shared provider budget: a person is waiting, and the
single-flight lock with them. A blocked budget is a 503 upstream_rate_limited with Retry-After
(a stale copy when there is one), and a request that gave up waiting for another's fetch is
answered with a stale copy too. The lock lapses only after the longest one fetch can take."""

import pytest

from integrations import clock, ratelimit
from integrations.proxy import conf, service, store
from integrations.proxy.service import proxy_request
from integrations.proxy.spec import ProxyError
from tests.factories import make_user

from .helpers import CHARGES, STRIPE_API, stripe_connection


@pytest.fixture
def stripe(db, settings):
    settings.THINKALIKE_RATE_BUDGETS = True
    return stripe_connection(make_user())


def ask(connection):
    return proxy_request(connection=connection, user=connection.user, method="GET",
                         path="/v1/charges", params=[])


def block_stripe(seconds: float) -> None:
    """What a 429 told every worker: hold off Stripe for ``seconds``."""
    ratelimit.block_until(ratelimit.provider_key("stripe"), clock.time() + seconds)


def test_a_blocked_budget_answers_at_once_with_retry_after(stripe, mocked_responses,
                                                           fake_clock):
    upstream_call = mocked_responses.get(STRIPE_API + "charges", json=CHARGES)
    block_stripe(55)
    started = clock.time()
    with pytest.raises(ProxyError) as caught:
        ask(stripe)
    assert (caught.value.status, caught.value.code) == (503, "upstream_rate_limited")
    assert 54 <= caught.value.retry_after <= 56
    assert clock.time() - started <= conf.BUDGET_MAX_WAIT_SECONDS
    assert all(s <= conf.BUDGET_MAX_WAIT_SECONDS for s in fake_clock.sleeps)
    assert upstream_call.call_count == 0


def test_a_blocked_budget_serves_the_stale_copy(stripe, mocked_responses, fake_clock):
    mocked_responses.get(STRIPE_API + "charges", json=CHARGES)
    ask(stripe)
    fake_clock.advance(120)
    block_stripe(55)
    started = clock.time()
    result = ask(stripe)
    assert (result.cache, result.payload) == ("STALE", CHARGES)
    assert clock.time() - started <= conf.BUDGET_MAX_WAIT_SECONDS
    assert len(mocked_responses.calls) == 1


def test_a_request_that_gives_up_on_a_slow_fetch_serves_the_stale_copy(
        stripe, mocked_responses, fake_clock, monkeypatch, settings):
    settings.THINKALIKE_PROXY_WAIT_SECONDS = 5
    mocked_responses.get(STRIPE_API + "charges", json=CHARGES)
    ask(stripe)
    fake_clock.advance(120)
    key = store.entry_key(stripe.pk, service._scope(stripe), "GET", "/v1/charges", [])
    holder = store.try_lock(key, seconds=600)  # another request's fetch, still going
    monkeypatch.setattr(service, "sleep", fake_clock.advance)
    result = ask(stripe)
    assert result.cache == "STALE"
    assert len(mocked_responses.calls) == 1
    store.release(holder)


def test_the_lock_outlasts_the_longest_fetch(settings):
    """Each attempt: the budget's short wait, connect, the first byte (read timeout), the body
    (the read timeout again). A token provider's 401 adds a refresh (its own request, or the
    wait for another worker's) and a second attempt."""
    settings.THINKALIKE_HTTP_TIMEOUT = (3.0, 10.0)
    settings.THINKALIKE_REFRESH_WAIT_SECONDS = 40
    attempt = conf.BUDGET_MAX_WAIT_SECONDS + 3 + 10 + 10
    assert conf.lock_seconds(refreshes=False) >= attempt
    assert conf.lock_seconds(refreshes=True) >= 2 * attempt + 40
    assert conf.wait_seconds(refreshes=True) > conf.lock_seconds(refreshes=True)
    settings.THINKALIKE_PROXY_LOCK_SECONDS = 20
    assert conf.lock_seconds(refreshes=True) == 20
