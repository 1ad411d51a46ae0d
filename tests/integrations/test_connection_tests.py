"""integrations/connection_tests.py: periodic tests, spread over the interval, inside each
provider's rate budget, claimed once, outside any transaction."""

import os
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import requests
import time_machine
from django.core.cache import cache
from django.db import transaction

from integrations import connection_tests, health, ratelimit, transport, txguard
from integrations.connection_tests import (
    CRASHED,
    FAILED,
    OK,
    RATE_LIMITED,
    RECONNECT,
    RENEWING,
    UNAVAILABLE,
    connection_tests_run_due,
    next_slot,
    slot_after_test,
    tick_cap,
)
from integrations.exceptions import (
    ProviderDataError,
    ProviderTimeout,
    ProviderUnavailable,
    RenewingElsewhere,
)
from integrations.models import ApiCall, Connection, RateBucket
from integrations.providers.registry import PROVIDERS
from notices.models import Notice
from tests.factories import make_connection, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OL = "https://openlibrary.org"
STRIPE = "https://api.stripe.com/v1"


@pytest.fixture(autouse=True)
def _settings(settings):
    # The database budget, whatever the environment: its rows go with each test's rollback.
    # (``blocked_for`` on Redis is checked on its own below.)
    settings.REDIS_URL = ""
    settings.THINKALIKE_CONNECTION_TEST_INTERVAL_MINUTES = 360
    settings.THINKALIKE_CONNECTION_TEST_TICK_MINUTES = 5
    settings.THINKALIKE_CONNECTION_TEST_BUDGET_SHARE = 0.1
    settings.THINKALIKE_CONNECTION_TESTS_PER_TICK = 500
    cache.delete(connection_tests.TICK_LOCK)  # Redis outlives a test
    yield
    cache.delete(connection_tests.TICK_LOCK)


class Pace:
    """The tick's monotonic clock, moved on by its waits (and by a test's ``cost``)."""

    def __init__(self):
        self.now, self.waits, self.cost = 0.0, [], {}  # cost: provider -> seconds a test takes

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def pace(monkeypatch):
    clock = Pace()
    monkeypatch.setattr(connection_tests, "monotonic", clock.monotonic)
    monkeypatch.setattr(connection_tests, "sleep", clock.sleep)
    return clock


class PksTested(list):
    """The pks tested, in order; ``at``: when on the tick's clock; ``providers``: whose."""

    def __init__(self):
        super().__init__()
        self.at, self.providers = [], []


@pytest.fixture
def tested(monkeypatch, pace):
    """Record which connections are tested (and when, on the tick's clock) instead of calling
    the provider."""
    pks = PksTested()

    def fake(*, connection, budget_max_wait, quick):
        assert (budget_max_wait, quick) == (0, True)
        pks.append(connection.pk)
        pks.at.append(pace.now)
        pks.providers.append(connection.provider)
        pace.now += pace.cost.get(connection.provider, 0.0)

    monkeypatch.setattr(connection_tests, "connection_test", fake)
    return pks


def many(provider, count, *, start=0):
    users = [make_user(f"p{start + i}@example.com") for i in range(count)]
    return [make_connection(user, provider, external_id=f"acct-{i}", expires_in=None)
            for i, user in enumerate(users)]


def tick(moment):
    with time_machine.travel(moment, tick=False):
        return connection_tests_run_due(now=moment)


# --- the spread --------------------------------------------------------------------------------

def test_a_slot_is_the_same_phase_every_interval():
    first = next_slot(42, T0)
    assert T0 < first <= T0 + timedelta(minutes=360)
    assert next_slot(42, first) == first + timedelta(minutes=360)
    assert next_slot(42, first - timedelta(seconds=1)) == first


def test_connections_are_tested_once_per_interval_spread_over_it(tested):
    connections = many("openlibrary", 144)
    seeded = tick(T0)
    assert seeded.seeded == 144 and seeded.tested == 0  # first slots lie in the interval ahead
    per_tick = []
    moment = T0
    for _ in range(72):  # 72 ticks of 5 minutes: one interval of 6 hours
        moment += timedelta(minutes=5)
        per_tick.append(tick(moment).tested)
    assert sorted(tested) == sorted(c.pk for c in connections)  # each once
    # 144 over 72 ticks is 2 a tick on average; a spread keeps every tick near it.
    assert max(per_tick) <= 4
    assert sum(1 for n in per_tick if n) >= 66
    # The next interval tests them all again, once.
    tested.clear()
    for _ in range(72):
        moment += timedelta(minutes=5)
        tick(moment)
    assert sorted(tested) == sorted(c.pk for c in connections)


# --- the budget --------------------------------------------------------------------------------

def test_the_cap_is_a_share_of_the_declared_budget():
    # AniList: 30 a minute, so 150 in a 5-minute tick; a tenth of it.
    assert tick_cap(PROVIDERS["anilist"]) == 15
    assert tick_cap(PROVIDERS["openlibrary"]) == 90  # 3 a second
    assert tick_cap(PROVIDERS["spotify"]) is None  # nothing declared
    assert tick_cap(PROVIDERS["github"]) is None  # a budget per connection


def test_a_tick_paces_a_provider_within_its_share_of_every_window(tested, pace, settings):
    settings.THINKALIKE_CONNECTION_TEST_MAX_PACING_SECONDS = 240
    many("anilist", 40)
    Connection.objects.update(next_test_at=T0)
    result = tick(T0)
    # A tenth of AniList's 30 a minute is 3 a minute: one test every 20 s, never a burst, and
    # none after 80% of the 5-minute tick.
    assert result.per_provider == {"anilist": 13}
    assert tested.at == [20.0 * i for i in range(13)]
    assert max(sum(1 for t in tested.at if start <= t < start + 60) for start in tested.at) == 3
    assert Connection.objects.filter(next_test_at__lte=T0).count() == 27  # left for later
    assert tick(T0 + timedelta(minutes=5)).per_provider == {"anilist": 13}


def test_a_tick_waits_no_longer_than_its_pacing_bound(tested, pace, settings, caplog):
    settings.THINKALIKE_CONNECTION_TEST_MAX_PACING_SECONDS = 60
    many("anilist", 40)
    many("spotify", 5, start=100)  # not paced: all tested whatever the bound
    Connection.objects.update(next_test_at=T0)
    pace.cost = {"anilist": 0.3}  # a real test takes some time, and its wait starts after it

    result = tick(T0)

    # AniList's tests are 20 s apart after each one's 0.3 s: at 0, 20.3 and 40.6 s; the next
    # would be at 60.9, past the bound. Three a tick, not four.
    assert result.per_provider == {"anilist": 3, "spotify": 5}
    assert sum(pace.waits) <= 60
    anilist_at = [t for t, p in zip(tested.at, tested.providers, strict=True) if p == "anilist"]
    assert anilist_at == pytest.approx([0, 20.3, 40.6])
    assert Connection.objects.filter(provider="anilist", next_test_at__lte=T0).count() == 37
    # The backlog is counted and logged for operators.
    assert result.left_due == {"anilist": 37}
    warnings = [r for r in caplog.records if r.levelname == "WARNING"
                and r.name == "integrations.connection_tests"]
    assert len(warnings) == 1 and "'anilist': 37" in warnings[0].getMessage()


def test_a_tick_that_tests_every_due_connection_leaves_no_backlog(tested, caplog):
    many("openlibrary", 3)
    Connection.objects.update(next_test_at=T0)
    result = tick(T0)
    assert result.tested == 3 and result.left_due == {}
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_a_blocked_provider_counts_in_the_backlog(tested, fake_clock):
    many("anilist", 2)
    Connection.objects.update(next_test_at=T0)
    ratelimit.block_until(ratelimit.provider_key("anilist"), fake_clock.time() + 120)
    assert tick(T0).left_due == {"anilist": 2}


def test_pacing_counts_the_requests_a_test_sent(monkeypatch, pace, settings):
    settings.THINKALIKE_CONNECTION_TEST_MAX_PACING_SECONDS = 240
    connections = many("anilist", 3)
    Connection.objects.update(next_test_at=T0)
    at = []

    def two_requests(*, connection, budget_max_wait, quick):  # a token renewal, then the test
        at.append(pace.now)
        for _ in range(2):
            transport.request_sent()  # what send() notes as each request goes out

    monkeypatch.setattr(connection_tests, "connection_test", two_requests)
    result = tick(T0)
    assert at == [0.0, 40.0, 80.0]
    assert result.requests == {"anilist": 6} and len(connections) == 3


def test_a_concurrent_syncs_requests_are_not_charged_to_the_test(monkeypatch, pace, settings):
    settings.THINKALIKE_CONNECTION_TEST_MAX_PACING_SECONDS = 240
    many("anilist", 3)
    Connection.objects.update(next_test_at=T0)
    at = []

    def test_while_a_sync_runs(*, connection, budget_max_wait, quick):
        at.append(pace.now)
        transport.request_sent()  # the test's one request
        # Pages a sync of the same connection fetched meanwhile, on another worker: their
        # ApiCall rows land beside the test's.
        for _ in range(5):
            ApiCall.objects.create(connection=connection, provider="anilist", method="POST",
                                   host="graphql.anilist.co", path="/")

    monkeypatch.setattr(connection_tests, "connection_test", test_while_a_sync_runs)
    result = tick(T0)
    assert result.requests == {"anilist": 3}
    assert at == [0.0, 20.0, 40.0]  # paced on one request each, not six


def test_the_requests_a_real_test_sends_are_counted(mocked_responses):
    many("openlibrary", 2)
    Connection.objects.update(next_test_at=T0)
    for i in range(2):
        mocked_responses.get(f"{OL}/people/acct-{i}/books/want-to-read.json",
                             json={"page": 1, "numFound": 0, "reading_log_entries": []})
    result = tick(T0)
    assert result.outcomes == {OK: 2}
    assert result.requests == {"openlibrary": 2} == {"openlibrary": len(mocked_responses.calls)}


def test_a_request_refused_a_slot_is_not_counted(mocked_responses, fake_clock, settings):
    settings.THINKALIKE_RATE_BUDGETS = True
    many("openlibrary", 1)
    Connection.objects.update(next_test_at=T0)
    now = fake_clock.time()
    RateBucket.objects.create(key=ratelimit.provider_key("openlibrary"),
                              stamps=[now - 0.3, now - 0.2, now - 0.1])
    result = tick(T0)
    assert result.outcomes == {RATE_LIMITED: 1}
    assert result.requests == {"openlibrary": 0}  # its ApiCall row was written, nothing sent
    assert ApiCall.objects.count() == 1


def test_the_overall_cap_holds_across_providers(tested, settings):
    settings.THINKALIKE_CONNECTION_TESTS_PER_TICK = 10
    many("anilist", 8)
    many("openlibrary", 8, start=100)
    Connection.objects.update(next_test_at=T0)
    assert tick(T0).tested == 10


def test_a_blocked_budget_tests_nothing_for_that_provider(tested, fake_clock):
    anilist = many("anilist", 3)
    others = many("openlibrary", 2, start=100)
    Connection.objects.update(next_test_at=T0)
    ratelimit.block_until(ratelimit.provider_key("anilist"), fake_clock.time() + 120)
    result = tick(T0)
    assert result.skipped_blocked == ["anilist"]
    assert sorted(tested) == sorted(c.pk for c in others)
    assert Connection.objects.filter(pk__in=[c.pk for c in anilist],
                                     next_test_at=T0).count() == 3  # still due


def test_a_used_up_budget_stops_the_provider_for_the_tick_and_is_no_failure(
        mocked_responses, fake_clock, settings):
    settings.THINKALIKE_RATE_BUDGETS = True
    connections = many("openlibrary", 3)
    Connection.objects.update(next_test_at=T0)
    # The last second already holds Open Library's 3 requests (syncs took them).
    now = fake_clock.time()
    RateBucket.objects.create(key=ratelimit.provider_key("openlibrary"),
                              stamps=[now - 0.3, now - 0.2, now - 0.1])
    result = tick(T0)
    assert result.outcomes == {RATE_LIMITED: 1}  # the first refusal ends the provider's turn
    assert len(mocked_responses.calls) == 0
    first = Connection.objects.get(pk=min(c.pk for c in connections))
    assert (first.next_test_at, first.consecutive_failures, first.last_tested_at) == (T0, 0, None)
    assert Connection.objects.filter(next_test_at=T0).count() == 3  # all due next tick


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_blocked_for_reads_the_block_on_either_backend(backend, settings, fake_clock):
    key = f"provider:test-{uuid.uuid4().hex}"
    if backend == "redis":
        base = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13")
        settings.REDIS_URL = urlunsplit(base)
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
        except redis.ConnectionError as exc:
            pytest.skip(f"Redis is not reachable: {exc}")
    assert ratelimit.blocked_for(key) == 0
    ratelimit.block_until(key, fake_clock.time() + 50)
    assert ratelimit.blocked_for(key) == pytest.approx(50, abs=0.01)
    fake_clock.advance(60)
    assert ratelimit.blocked_for(key) == 0


# --- claiming, the transaction, what is skipped ------------------------------------------------

def test_two_ticks_at_once_test_each_connection_once(tested):
    many("openlibrary", 5)
    Connection.objects.update(next_test_at=T0)
    tick(T0)
    tick(T0)
    assert len(tested) == len(set(tested)) == 5
    assert not Connection.objects.filter(next_test_at__lte=T0).exists()


def test_tests_call_the_provider_outside_any_transaction(mocked_responses):
    connections = many("openlibrary", 2)
    Connection.objects.update(next_test_at=T0)
    for i in range(2):
        mocked_responses.get(f"{OL}/people/acct-{i}/books/want-to-read.json",
                             json={"page": 1, "numFound": 0, "reading_log_entries": []})
    result = tick(T0)
    assert result.outcomes == {OK: 2}
    assert len(mocked_responses.calls) == 2
    assert txguard.violations == []
    for connection in connections:
        connection.refresh_from_db()
        assert connection.last_tested_at == T0
        assert connection.next_test_at == slot_after_test(connection.pk, T0)


def test_inside_a_transaction_the_guard_would_have_refused(mocked_responses):
    # The guard the previous test relies on does see a test made inside a transaction.
    connection = many("openlibrary", 1)[0]
    mocked_responses.get(f"{OL}/people/acct-0/books/want-to-read.json", json={})
    with transaction.atomic():
        outcome = connection_tests.connection_test_periodic(connection=connection, now=T0)
    assert outcome == CRASHED
    assert txguard.violations
    txguard.violations.clear()


def test_skipped_connections(tested):
    user = make_user()
    kept = make_connection(user, "openlibrary", external_id="kept", expires_in=None)
    erroring = make_connection(make_user("e@example.com"), "openlibrary", expires_in=None,
                               status=Connection.Status.ERROR)
    make_connection(make_user("d@example.com"), "openlibrary", expires_in=None,
                    status=Connection.Status.DISABLED)
    make_connection(make_user("r@example.com"), "openlibrary", expires_in=None,
                    status=Connection.Status.NEEDS_REAUTH)
    off = make_connection(make_user("o@example.com"), "openlibrary", expires_in=None)
    Connection.objects.filter(pk=off.pk).update(sync_enabled=False)
    make_connection(user, "retired-service", expires_in=None)
    assert not PROVIDERS["telegram"].streams
    make_connection(user, "telegram", expires_in=None)  # actions only: nothing to sync
    Connection.objects.update(next_test_at=T0)
    tick(T0)
    assert sorted(tested) == sorted([kept.pk, erroring.pk])


# --- outcomes ----------------------------------------------------------------------------------

def test_a_refused_key_asks_for_a_reconnect_and_notifies(mocked_responses, mailoutbox, q_sync,
                                                         django_capture_on_commit_callbacks):
    user = make_user()
    connection = make_connection(user, "stripe", secret='{"token": "rk_test_FAKEKEY01"}',
                                 access_token="", refresh_token="", expires_in=None)
    Connection.objects.filter(pk=connection.pk).update(next_test_at=T0)
    mocked_responses.get(f"{STRIPE}/balance", status=401,
                         json={"error": {"type": "invalid_request_error",
                                         "message": "Invalid API Key provided"}})
    with django_capture_on_commit_callbacks(execute=True):
        result = tick(T0)
    assert result.outcomes == {RECONNECT: 1}
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert connection.health_state == health.NEEDS_RECONNECT
    assert Notice.objects.get().kind == Notice.Kind.NEEDS_RECONNECT
    assert len(mailoutbox) == 1
    assert "rk_test_FAKEKEY01" not in mailoutbox[0].body


def test_a_transient_failure_counts_as_a_failed_test(monkeypatch):
    connection = many("openlibrary", 1)[0]

    def down(*, connection, budget_max_wait, quick):
        raise ProviderUnavailable("Open Library answered 503; will try again later.")

    monkeypatch.setattr(connection_tests, "connection_test", down)
    for _ in range(3):
        Connection.objects.filter(pk=connection.pk).update(next_test_at=T0)
        assert tick(T0).outcomes == {UNAVAILABLE: 1}
    connection.refresh_from_db()
    assert (connection.consecutive_test_failures, connection.consecutive_failures) == (3, 0)
    assert connection.last_test_error == "Open Library answered 503; will try again later."
    assert connection.last_error == ""  # the syncs' error is not the tests'
    assert connection.health_state == health.FAILING
    notice = Notice.objects.get(kind=Notice.Kind.FAILING)
    assert notice.body.startswith("The last 3 connection tests failed: Open Library answered")


def _outcomes(monkeypatch, *results):
    """Make the tests of one connection end as ``results`` say, one per test."""
    queue = list(results)

    def test(*, connection, budget_max_wait, quick):
        if queue.pop(0) == FAILED:
            raise ProviderDataError("Open Library answered something else.")

    monkeypatch.setattr(connection_tests, "connection_test", test)


def test_three_failed_tests_must_be_in_a_row(monkeypatch):
    # Automatic sync off: only the periodic tests say anything.
    connection = many("openlibrary", 1)[0]
    now = T0 - timedelta(days=1)
    Connection.objects.filter(pk=connection.pk).update(
        auto_sync=False, last_sync_at=now, last_success_at=now, health_state=health.HEALTHY)
    _outcomes(monkeypatch, FAILED, OK, OK, FAILED, OK, FAILED)
    states = []
    for _ in range(6):
        Connection.objects.filter(pk=connection.pk).update(next_test_at=T0)
        tick(T0)
        states.append(Connection.objects.get(pk=connection.pk).health_state)
    assert states == [health.DEGRADED, health.HEALTHY, health.HEALTHY, health.DEGRADED,
                      health.HEALTHY, health.DEGRADED]
    assert not Notice.objects.filter(kind=Notice.Kind.FAILING).exists()
    _outcomes(monkeypatch, FAILED, FAILED)
    for _ in range(2):
        Connection.objects.filter(pk=connection.pk).update(next_test_at=T0)
        tick(T0)
    assert Connection.objects.get(pk=connection.pk).health_state == health.FAILING


def test_a_passing_test_leaves_the_sync_failures_alone(tested):
    connection = many("openlibrary", 1)[0]
    Connection.objects.filter(pk=connection.pk).update(
        next_test_at=T0, consecutive_failures=2, consecutive_test_failures=2,
        last_error="a sync failed", last_test_error="a test failed")
    assert tick(T0).outcomes == {OK: 1}
    connection.refresh_from_db()
    assert (connection.consecutive_failures, connection.consecutive_test_failures,
            connection.last_tested_at, connection.last_error,
            connection.last_test_error) == (2, 0, T0, "a sync failed", "")


def test_failed_tests_then_a_failed_sync_quote_the_tests_error(monkeypatch):
    connection = many("openlibrary", 1)[0]

    def down(*, connection, budget_max_wait, quick):
        raise ProviderDataError("TEST error")

    monkeypatch.setattr(connection_tests, "connection_test", down)
    for _ in range(3):
        Connection.objects.filter(pk=connection.pk).update(next_test_at=T0)
        tick(T0)
    # A sync then fails once, with its own error (what sync._finish writes).
    Connection.objects.filter(pk=connection.pk).update(consecutive_failures=1,
                                                       last_error="SYNC error")
    row = Connection.objects.select_related("credential").get(pk=connection.pk)
    assert health.connection_health(row, now=T0) == health.Health(
        health.FAILING, "The last 3 connection tests failed: TEST error")


def test_another_workers_renewal_is_no_failed_test_and_ends_no_turn(monkeypatch):
    connections = many("openlibrary", 3)
    Connection.objects.update(next_test_at=T0, health_state=health.HEALTHY)
    seen = []

    def renewing_elsewhere(*, connection, budget_max_wait, quick):
        seen.append(connection.pk)
        if len(seen) == 1:
            raise RenewingElsewhere("Open Library access is being renewed elsewhere")

    monkeypatch.setattr(connection_tests, "connection_test", renewing_elsewhere)
    result = tick(T0)
    assert result.outcomes == {RENEWING: 1, OK: 2}  # the others were still tested
    first = Connection.objects.get(pk=seen[0])
    assert (first.consecutive_test_failures, first.last_test_error, first.last_tested_at,
            first.next_test_at) == (0, "", None, T0)  # uncharged, due again next tick
    assert len(seen) == len(connections)


# --- a provider down, a slow one, ticks that overlap ---------------------------------------------

def test_a_provider_down_ends_its_turn_and_charges_only_the_one_tested(monkeypatch):
    down = many("openlibrary", 4)
    kept = many("stripe", 2, start=100)
    Connection.objects.update(next_test_at=T0)
    calls = []

    def test(*, connection, budget_max_wait, quick):
        calls.append(connection.provider)
        if connection.provider == "openlibrary":
            raise ProviderTimeout("Open Library did not answer in time.")

    monkeypatch.setattr(connection_tests, "connection_test", test)
    result = tick(T0)
    assert result.per_provider == {"openlibrary": 1, "stripe": 2}
    assert result.outcomes == {UNAVAILABLE: 1, OK: 2}
    charged = Connection.objects.filter(pk__in=[c.pk for c in down], consecutive_test_failures=1)
    assert charged.count() == 1
    assert Connection.objects.filter(pk__in=[c.pk for c in down], next_test_at=T0,
                                     consecutive_test_failures=0).count() == 3  # still due
    assert Connection.objects.filter(pk__in=[c.pk for c in kept], last_tested_at=T0).count() == 2


def test_providers_take_turns_so_a_slow_one_starves_none(tested, pace):
    # Neither is paced (Spotify declares no limit, GitHub's is per connection); Spotify's
    # tests take 100 s each.
    many("spotify", 3)
    many("github", 3, start=100)
    Connection.objects.update(next_test_at=T0)
    pace.cost = {"spotify": 100.0}
    result = tick(T0)
    assert tested.providers[:4] == ["spotify", "github", "spotify", "github"]
    assert result.per_provider == {"spotify": 3, "github": 2}  # fixed order: GitHub none


def test_a_periodic_test_is_quick_no_retry_and_a_short_timeout(mocked_responses, settings):
    settings.THINKALIKE_HTTP_MAX_RETRIES = 3
    settings.THINKALIKE_CONNECTION_TEST_HTTP_TIMEOUT = (2.0, 7.0)
    many("openlibrary", 1)
    Connection.objects.update(next_test_at=T0)
    mocked_responses.get(f"{OL}/people/acct-0/books/want-to-read.json", status=503)
    assert tick(T0).outcomes == {UNAVAILABLE: 1}
    assert len(mocked_responses.calls) == 1  # not retried
    assert mocked_responses.calls[0].request.req_kwargs["timeout"] == (2.0, 7.0)


def test_a_periodic_tests_body_gets_its_short_read_timeout_in_all(
        mocked_responses, settings, fake_clock, monkeypatch):
    # THINKALIKE_HTTP_TIMEOUT would let a dripped body take 20 s; a test's takes 7 at most.
    settings.THINKALIKE_CONNECTION_TEST_HTTP_TIMEOUT = (2.0, 7.0)
    many("openlibrary", 1)
    Connection.objects.update(next_test_at=T0)
    mocked_responses.get(f"{OL}/people/acct-0/books/want-to-read.json",
                         body=b'{"page": 1}' + b" " * 600_000, content_type="application/json")
    real_iter = requests.Response.iter_content
    chunks = []

    def drip(self, chunk_size=1, decode_unicode=False):
        for chunk in real_iter(self, chunk_size, decode_unicode):
            fake_clock.advance(3)
            chunks.append(chunk)
            yield chunk

    monkeypatch.setattr(requests.Response, "iter_content", drip)
    assert tick(T0).outcomes == {UNAVAILABLE: 1}
    assert len(chunks) == 3  # 9 s > 7 s: no more waited for (with 20 s, 7 chunks)


def test_a_tick_started_while_another_runs_does_nothing(monkeypatch):
    many("openlibrary", 3)
    Connection.objects.update(next_test_at=T0)
    inner, seen = [], []

    def test(*, connection, budget_max_wait, quick):
        seen.append(connection.pk)
        if not inner:  # the next tick starts while this one is still testing
            inner.append(connection_tests_run_due(now=T0 + timedelta(minutes=5)))

    monkeypatch.setattr(connection_tests, "connection_test", test)
    outer = tick(T0)
    assert inner[0].overlapped and inner[0].tested == 0
    assert outer.tested == 3 and len(seen) == len(set(seen)) == 3
    # Once it ends the lock is given back: the next tick runs.
    assert not tick(T0 + timedelta(minutes=5)).overlapped


def test_the_tick_lock_outlives_the_longest_tick(monkeypatch, settings):
    from integrations.tokens import refresh_lease_ttl

    taken = []
    real_add = cache.add

    def add(key, value, timeout=None):
        taken.append((key, timeout))
        return real_add(key, value, timeout=timeout)

    monkeypatch.setattr(connection_tests.cache, "add", add)
    tick(T0)
    ttl = dict(taken)[connection_tests.TICK_LOCK]
    # The last test may start at 80% of the tick and then wait for another worker's token
    # renewal, make its own, and send its request on the short timeout.
    connect, read = settings.THINKALIKE_CONNECTION_TEST_HTTP_TIMEOUT
    worst_test = (settings.THINKALIKE_REFRESH_WAIT_SECONDS
                  + refresh_lease_ttl().total_seconds() + connect + 2 * read)
    assert ttl >= 0.8 * 300 + worst_test
    assert ttl == 2 * 300 + 300


def test_the_ticks_time_runs_from_the_lock_not_after_seeding(monkeypatch, tested, pace):
    many("openlibrary", 3)
    Connection.objects.update(next_test_at=T0)
    real_seed = connection_tests.connection_tests_seed

    def slow_seed(*, now):
        pace.now += 250.0  # seeding (and the baseline) took most of the tick
        return real_seed(now=now)

    monkeypatch.setattr(connection_tests, "connection_tests_seed", slow_seed)
    result = tick(T0)
    assert result.tested == 0  # 250 s after the lock is past 80% of the tick
    assert Connection.objects.filter(next_test_at=T0).count() == 3  # still due


def test_a_late_claim_is_not_tested_again_minutes_later(tested):
    connection = many("openlibrary", 1)[0]
    # Its slot passed long ago (workers were down): tested now, next not before
    # interval - tick from now, however close its phase's next slot is.
    Connection.objects.filter(pk=connection.pk).update(
        next_test_at=T0 - timedelta(minutes=350))
    tick(T0)
    nxt = Connection.objects.get(pk=connection.pk).next_test_at
    assert nxt >= T0 + timedelta(minutes=355)
    assert nxt == next_slot(connection.pk, nxt - timedelta(seconds=1))  # still on its phase
    moment = T0
    while moment < T0 + timedelta(minutes=350):
        moment += timedelta(minutes=5)
        tick(moment)
    assert tested == [connection.pk]


def test_no_test_starts_once_most_of_the_tick_has_gone(monkeypatch, tested):
    many("openlibrary", 3)
    Connection.objects.update(next_test_at=T0)
    # The first test takes 241 s: past 80% of the 300 s tick.
    monkeypatch.setattr(connection_tests, "monotonic", lambda: 241.0 if tested else 0.0)
    assert tick(T0).tested == 1
    assert Connection.objects.filter(next_test_at=T0).count() == 2  # unclaimed, still due


def test_one_notice_and_one_email_as_failed_tests_go_on_slot_after_slot(
        monkeypatch, mailoutbox, q_sync, django_capture_on_commit_callbacks):
    """Time travelled from one of the connection's slots to the next (an interval apart), the
    tests failing each time: the third makes it failing, with one notice and one e-mail; the
    fourth and fifth, still failing, add nothing."""
    connection = many("openlibrary", 1)[0]
    user = connection.user
    user.email = "ada@example.com"
    user.save(update_fields=["email"])

    def down(*, connection, budget_max_wait, quick):
        raise ProviderUnavailable("Open Library answered 503; will try again later.")

    monkeypatch.setattr(connection_tests, "connection_test", down)
    moment = T0
    with django_capture_on_commit_callbacks(execute=True):
        tick(moment)  # seeds its first slot
    for attempt in range(1, 6):
        moment = Connection.objects.get(pk=connection.pk).next_test_at
        with django_capture_on_commit_callbacks(execute=True):
            assert tick(moment).outcomes == {UNAVAILABLE: 1}
        connection.refresh_from_db()
        assert connection.consecutive_test_failures == attempt
        assert Notice.objects.filter(kind=Notice.Kind.FAILING).count() == (attempt >= 3)
        assert len(mailoutbox) == (attempt >= 3)
    assert moment >= T0 + timedelta(minutes=4 * 360)  # the slots were an interval apart
